package ses_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/aws/smithy-go"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/shared/mail"
	"github.com/winback/winback/shared/mail/ses"
)

// address gives each test its own recipient on the shared emulator.
func address(t *testing.T) string {
	return fmt.Sprintf("ses-test-%d@example.com", time.Now().UnixNano())
}

func sample(to string) mail.Email {
	return mail.Email{
		From:    `"Bean & Leaf" <news@beanleaf.example>`,
		To:      to,
		Subject: "Ada, here is 15% off at Bean & Leaf",
		HTML:    `<p>Hello Ada</p><a href="https://u.example/v1/unsubscribe/tok">Unsubscribe</a>`,
		Text:    "Hello Ada\nUnsubscribe: https://u.example/v1/unsubscribe/tok",
		Headers: []mail.Header{
			{Name: "List-Unsubscribe", Value: "<https://u.example/v1/unsubscribe/tok>"},
			{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"},
		},
		Tags: map[string]string{mail.TagShop: "shop_k3j5x7q2m9ab", mail.TagCampaign: "2026-12-01", mail.TagSendID: "0123456789abcdef0123"},
	}
}

// TestSendToEmulator sends through aws-ses-v2-local and reads back what
// it stored: addresses, subject, both parts, the headers, the id.
func TestSendToEmulator(t *testing.T) {
	client, base := emulator.SES(t)
	to := address(t)
	e := sample(to)
	id, err := ses.New(client, "winback-test").Send(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if id == "" {
		t.Fatal("no message id")
	}
	var got []emulator.Email
	for _, m := range emulator.SentEmails(t, base) {
		if len(m.Destination.To) == 1 && m.Destination.To[0] == to {
			got = append(got, m)
		}
	}
	if len(got) != 1 {
		t.Fatalf("the emulator holds %d messages to the address, want 1", len(got))
	}
	m := got[0]
	if m.MessageID != id || m.From != e.From || m.Subject != e.Subject || m.Body.HTML != e.HTML || m.Body.Text != e.Text {
		t.Errorf("stored %+v\nsent id %s %+v", m, id, e)
	}
	if m.Header("List-Unsubscribe") != "<https://u.example/v1/unsubscribe/tok>" ||
		m.Header("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("headers %+v", m.Headers)
	}
}

// fakeSES answers every SendEmail with status and, for an error, the
// restJson1 error type header and a message; it counts the requests and
// keeps the last body.
type fakeSES struct {
	status   int
	errType  string
	message  string
	requests atomic.Int64
	lastBody atomic.Value
}

func (f *fakeSES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	f.lastBody.Store(b.String())
	w.Header().Set("Content-Type", "application/json")
	if f.status == http.StatusOK {
		fmt.Fprint(w, `{"MessageId":"0100018f-fake"}`)
		return
	}
	if f.errType != "" {
		w.Header().Set("X-Amzn-ErrorType", f.errType)
	}
	w.WriteHeader(f.status)
	fmt.Fprintf(w, `{"message":%q}`, f.message)
}

// client is an SES client for a fake, configured as AWS_MAX_ATTEMPTS=5
// would: its retryer would make five attempts at a 500 or a 429.
func client(url string) *sesv2.Client {
	return sesv2.New(sesv2.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 5,
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""),
	})
}

// TestSendNeverRetries: a 500 after the request arrived may mean SES
// accepted the message; exactly one request is made, and the error is an
// unknown outcome.
func TestSendNeverRetries(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := &fakeSES{status: status, message: "We encountered an internal error."}
			if status == http.StatusTooManyRequests {
				f.errType = "TooManyRequestsException"
			}
			srv := httptest.NewServer(f)
			defer srv.Close()
			_, err := ses.New(client(srv.URL), "").Send(context.Background(), sample("ada@example.com"))
			if err == nil {
				t.Fatal("no error")
			}
			if n := f.requests.Load(); n != 1 {
				t.Fatalf("%d requests reached SES, want exactly 1", n)
			}
			known := errors.Is(err, mail.ErrThrottled) || errors.Is(err, mail.ErrPaused) || errors.Is(err, mail.ErrRejected)
			if known != (status == http.StatusTooManyRequests) {
				t.Errorf("err = %v: a %d is %v", err, status, map[bool]string{true: "a known outcome", false: "unknown"}[known])
			}
		})
	}
}

// TestSendErrorClasses maps each SES exception to its outcome, keeps
// SES's message without the addresses in it, and keeps the SDK error for
// errors.As.
func TestSendErrorClasses(t *testing.T) {
	const leak = "Email address is not verified. The following identities failed the check in region EU-WEST-1: news@beanleaf.example, ada@example.com"
	cases := []struct {
		errType string
		status  int
		want    error // nil: unknown outcome
		as      func(error) bool
	}{
		{"TooManyRequestsException", 429, mail.ErrThrottled, func(err error) bool { var e *types.TooManyRequestsException; return errors.As(err, &e) }},
		{"LimitExceededException", 400, mail.ErrThrottled, func(err error) bool { var e *types.LimitExceededException; return errors.As(err, &e) }},
		{"SendingPausedException", 400, mail.ErrPaused, func(err error) bool { var e *types.SendingPausedException; return errors.As(err, &e) }},
		{"AccountSuspendedException", 400, mail.ErrPaused, func(err error) bool { var e *types.AccountSuspendedException; return errors.As(err, &e) }},
		{"MessageRejected", 400, mail.ErrRejected, func(err error) bool { var e *types.MessageRejected; return errors.As(err, &e) }},
		{"MailFromDomainNotVerifiedException", 400, mail.ErrPaused, func(err error) bool { var e *types.MailFromDomainNotVerifiedException; return errors.As(err, &e) }},
		{"AccessDeniedException", 403, mail.ErrPaused, func(err error) bool {
			var e smithy.APIError
			return errors.As(err, &e) && e.ErrorCode() == "AccessDeniedException"
		}},
		{"BadRequestException", 400, mail.ErrRejected, func(err error) bool { var e *types.BadRequestException; return errors.As(err, &e) }},
		{"NotFoundException", 404, mail.ErrRejected, func(err error) bool { var e *types.NotFoundException; return errors.As(err, &e) }},
		{"InternalServiceErrorException", 500, nil, func(err error) bool { var e *types.InternalServiceErrorException; return errors.As(err, &e) }},
	}
	for _, c := range cases {
		t.Run(c.errType, func(t *testing.T) {
			f := &fakeSES{status: c.status, errType: c.errType, message: leak}
			srv := httptest.NewServer(f)
			defer srv.Close()
			id, err := ses.New(client(srv.URL), "").Send(context.Background(), sample("ada@example.com"))
			if err == nil || id != "" {
				t.Fatalf("Send = %q, %v", id, err)
			}
			for _, class := range []error{mail.ErrThrottled, mail.ErrPaused, mail.ErrRejected} {
				if errors.Is(err, class) != (class == c.want) {
					t.Errorf("err = %v; errors.Is(%v) = %v", err, class, !(class == c.want))
				}
			}
			if !c.as(err) {
				t.Errorf("err = %v does not unwrap to the SDK's %s", err, c.errType)
			}
			if strings.Contains(err.Error(), "@") || !strings.Contains(err.Error(), "failed the check") {
				t.Errorf("err = %q: want SES's message without addresses", err)
			}
			if n := f.requests.Load(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// TestSendRequest checks the request SES gets: the simple message with
// its headers, the configuration set and the tags sorted by name.
func TestSendRequest(t *testing.T) {
	f := &fakeSES{status: http.StatusOK}
	srv := httptest.NewServer(f)
	defer srv.Close()
	id, err := ses.New(client(srv.URL), "winback-campaigns").Send(context.Background(), sample("ada@example.com"))
	if err != nil || id != "0100018f-fake" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	body := f.lastBody.Load().(string)
	for _, want := range []string{
		`"ConfigurationSetName":"winback-campaigns"`,
		`"FromEmailAddress":"\"Bean & Leaf\" <news@beanleaf.example>"`,
		`"ToAddresses":["ada@example.com"]`,
		`"EmailTags":[{"Name":"campaign","Value":"2026-12-01"},{"Name":"send_id","Value":"0123456789abcdef0123"},{"Name":"shop","Value":"shop_k3j5x7q2m9ab"}]`,
		`"Headers":[{"Name":"List-Unsubscribe","Value":"<https://u.example/v1/unsubscribe/tok>"},{"Name":"List-Unsubscribe-Post","Value":"List-Unsubscribe=One-Click"}]`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("request lacks %s:\n%s", want, body)
		}
	}

	// Without a configuration set, none is named.
	if _, err := ses.New(client(srv.URL), "").Send(context.Background(), sample("ada@example.com")); err != nil {
		t.Fatal(err)
	}
	if body := f.lastBody.Load().(string); strings.Contains(body, "ConfigurationSetName") {
		t.Errorf("configuration set sent: %s", body)
	}
}

// TestSendInvalid refuses an e-mail that fails Validate without calling
// SES.
func TestSendInvalid(t *testing.T) {
	f := &fakeSES{status: http.StatusOK}
	srv := httptest.NewServer(f)
	defer srv.Close()
	e := sample("ada@example.com")
	e.Tags[mail.TagShop] = "shop 1"
	if _, err := ses.New(client(srv.URL), "").Send(context.Background(), e); !errors.Is(err, mail.ErrRejected) {
		t.Errorf("err = %v; want ErrRejected", err)
	}
	if n := f.requests.Load(); n != 0 {
		t.Errorf("%d requests reached SES", n)
	}
}

func TestRedact(t *testing.T) {
	cases := []struct{ in, want string }{
		{"no address here", "no address here"},
		{"failed: news@a.example, ada@example.com", "failed: <address>, <address>"},
		{"<ada@example.com>", "<<address>>"},
		{`"Ada" <ada@example.com>;x`, `"Ada" <<address>>;x`},
		{"a@b", "<address>"},
		{"  spaced  @  ", "  spaced  <address>  "},
	}
	for _, c := range cases {
		if got := ses.Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}
