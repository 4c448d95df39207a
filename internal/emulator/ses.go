package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Email is one message captured by aws-ses-v2-local, as its GET /store
// endpoint returns it.
type Email struct {
	MessageID   string       `json:"messageId"`
	From        string       `json:"from"`
	ReplyTo     []string     `json:"replyTo"`
	Destination Destination  `json:"destination"`
	Subject     string       `json:"subject"`
	Body        Body         `json:"body"`
	Attachments []Attachment `json:"attachments"`
	Headers     []Header     `json:"headers"`
	// At is when the emulator received the message, in Unix seconds.
	At int64 `json:"at"`
}

// Destination is an Email's recipients.
type Destination struct {
	To  []string `json:"to"`
	CC  []string `json:"cc"`
	BCC []string `json:"bcc"`
}

// Body is an Email's text and HTML parts (either may be empty).
type Body struct {
	HTML string `json:"html"`
	Text string `json:"text"`
}

// Attachment is a captured attachment; Content is base64.
type Attachment struct {
	Content     string `json:"content"`
	ContentType string `json:"contentType"`
	Filename    string `json:"filename"`
	Size        int    `json:"size"`
}

// Header is a custom message header sent with the Email.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Header returns the value of the named header (case-insensitive), or "".
func (e Email) Header(name string) string {
	for _, h := range e.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// SentEmails returns every message the SES emulator at baseURL has captured
// since it started or was last cleared, oldest first.
func SentEmails(tb testing.TB, baseURL string) []Email {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	emails, err := ReadSentEmails(ctx, baseURL)
	if err != nil {
		tb.Fatalf("emulator: %v", err)
	}
	return emails
}

// ClearSentEmails empties the SES emulator's store (messages and templates).
// The emulator is shared by the tests of one binary: only clear it from
// tests that do not run in parallel with other mail tests.
func ClearSentEmails(tb testing.TB, baseURL string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := call(ctx, http.MethodPost, baseURL+"/clear-store"); err != nil {
		tb.Fatalf("emulator: clear SES store: %v", err)
	}
}

// ReadSentEmails is SentEmails for code outside tests (the CLI, the demo).
func ReadSentEmails(ctx context.Context, baseURL string) ([]Email, error) {
	body, err := call(ctx, http.MethodGet, baseURL+"/store")
	if err != nil {
		return nil, fmt.Errorf("read SES store: %w", err)
	}
	var store struct {
		Emails []Email `json:"emails"`
	}
	if err := json.Unmarshal(body, &store); err != nil {
		return nil, fmt.Errorf("read SES store: decode: %w", err)
	}
	return store.Emails, nil
}

func call(ctx context.Context, method, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, body)
	}
	return body, nil
}
