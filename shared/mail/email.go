package mail

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Outcomes of handing an Email to a mail service (the SES adapter,
// mail/ses, maps SES's errors to them). An error matching none of them
// means the outcome is unknown: the service may have accepted the
// message (a timeout, a broken connection, a 5xx answer after the
// request arrived), so the caller must not send it again without knowing.
var (
	// ErrThrottled: the service refused the message because it is sent
	// too fast; it did NOT accept it. Slow down and send it again later.
	ErrThrottled = errors.New("mail service throttled the message")
	// ErrPaused: sending is paused or suspended for the whole account; it
	// did not accept the message. Stop sending until an operator acts.
	ErrPaused = errors.New("mail sending paused for the account")
	// ErrRejected: the service refused this message for good (content,
	// sender identity, a malformed request); it did not accept it. Never
	// send it again as it is.
	ErrRejected = errors.New("mail service rejected the message")
)

// The tags every win-back e-mail carries, which SES publishes with each of
// its events so feedback can find the recipient.
const (
	TagShop     = "shop"
	TagCampaign = "campaign"
	TagSendID   = "send_id"
)

// maxTag is the longest tag name or value SES accepts.
const maxTag = 256

// Email is one message to send: a text and an HTML part, extra headers
// and tags. From and To are addresses as RFC 5322 writes them ("Shop
// <news@shop.example>", "ada@example.com").
type Email struct {
	From    string
	To      string
	Subject string
	HTML    string
	Text    string
	Headers []Header
	// Tags name the message for the service's events: names and values of
	// 1 to 256 ASCII letters, digits, '_' or '-' (SES's rule).
	Tags map[string]string
}

// Header is one extra message header.
type Header struct {
	Name  string
	Value string
}

// ValidTag reports whether s may be an SES message tag name or value:
// 1 to 256 ASCII letters, digits, underscores or dashes. Shop ids, campaign
// ids (days) and send ids are.
func ValidTag(s string) bool {
	if s == "" || len(s) > maxTag {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// SortedTags returns the tag names in order.
func (e Email) SortedTags() []string {
	names := make([]string, 0, len(e.Tags))
	for n := range e.Tags {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Validate checks what a service would refuse or what could inject
// headers: a sender, a recipient, a subject and a part, header names that
// are tokens and values on one line, valid tags. Its messages name the
// field, never an address.
func (e Email) Validate() error {
	switch {
	case strings.TrimSpace(e.From) == "":
		return errors.New("no sender address")
	case strings.TrimSpace(e.To) == "":
		return errors.New("no recipient address")
	case strings.ContainsAny(e.From, "\r\n"), strings.ContainsAny(e.To, "\r\n"):
		return errors.New("an address spans lines")
	case strings.TrimSpace(e.Subject) == "":
		return errors.New("no subject")
	case strings.ContainsAny(e.Subject, "\r\n"):
		return errors.New("the subject spans lines")
	case e.HTML == "" && e.Text == "":
		return errors.New("no body")
	}
	for _, h := range e.Headers {
		if !headerName(h.Name) {
			return fmt.Errorf("header name %q is not a token", h.Name)
		}
		if strings.ContainsAny(h.Value, "\r\n") {
			return fmt.Errorf("header %s spans lines", h.Name)
		}
	}
	for _, n := range e.SortedTags() {
		if !ValidTag(n) {
			return fmt.Errorf("tag name %q: want 1 to %d of A-Z a-z 0-9 _ -", n, maxTag)
		}
		if !ValidTag(e.Tags[n]) {
			return fmt.Errorf("tag %s value %q: want 1 to %d of A-Z a-z 0-9 _ -", n, e.Tags[n], maxTag)
		}
	}
	return nil
}

// headerName reports whether s is an RFC 5322 field name: printable ASCII
// but the colon.
func headerName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}
