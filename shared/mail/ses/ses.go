// Package ses is winback's Amazon SES v2 adapter: Mailer.Send hands one
// mail.Email to SendEmail (a simple message with its headers, the
// configuration set, the tags) and maps SES's answer to the outcomes of
// package mail.
//
// SES has no idempotency key: a SendEmail that SES accepted but whose
// answer was lost, sent again, is a second e-mail. So Send never retries:
// the SDK's retryer is turned off for SendEmail, and an error that is not
// one of mail's outcomes (a timeout, a broken connection, a 5xx answer)
// is returned as an unknown outcome for the caller to resolve.
package ses

import (
	"context"
	"errors"
	"fmt"
	"github.com/aws/smithy-go"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/winback/winback/shared/mail"
)

// API is the part of the SES v2 client the mailer uses.
type API interface {
	SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

var _ API = (*sesv2.Client)(nil)

// Mailer sends e-mails through SES v2.
type Mailer struct {
	api              API
	configurationSet string
}

// New returns a mailer over an SES v2 client that sends with the given
// configuration set ("" for none).
func New(api API, configurationSet string) *Mailer {
	return &Mailer{api: api, configurationSet: configurationSet}
}

// noRetries turns the SDK's retries off for one call: SES would send a
// retried message twice if the first attempt had reached it.
func noRetries(o *sesv2.Options) {
	o.Retryer = aws.NopRetryer{}
	o.RetryMaxAttempts = 0 // 0: keep the Retryer above, do not wrap it
}

// Send hands e to SES in one SendEmail call, never retried, and returns
// SES's message id. Errors:
//   - mail.ErrThrottled for TooManyRequestsException and
//     LimitExceededException (SES did not accept it);
//   - mail.ErrPaused for SendingPausedException and
//     AccountSuspendedException;
//   - mail.ErrRejected for MessageRejected,
//     MailFromDomainNotVerifiedException, BadRequestException,
//     NotFoundException, and for an e that fails mail.Email.Validate
//     (then SES is not called); SES's message is kept with any e-mail
//     address in it replaced by "<address>";
//   - anything else as the SDK returns it: the outcome is unknown.
func (m *Mailer) Send(ctx context.Context, e mail.Email) (string, error) {
	if err := e.Validate(); err != nil {
		return "", fmt.Errorf("%w: %v", mail.ErrRejected, err)
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(e.From),
		Destination:      &types.Destination{ToAddresses: []string{e.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(e.Subject), Charset: aws.String("UTF-8")},
			Body:    &types.Body{},
		}},
	}
	if e.HTML != "" {
		in.Content.Simple.Body.Html = &types.Content{Data: aws.String(e.HTML), Charset: aws.String("UTF-8")}
	}
	if e.Text != "" {
		in.Content.Simple.Body.Text = &types.Content{Data: aws.String(e.Text), Charset: aws.String("UTF-8")}
	}
	for _, h := range e.Headers {
		in.Content.Simple.Headers = append(in.Content.Simple.Headers, types.MessageHeader{Name: aws.String(h.Name), Value: aws.String(h.Value)})
	}
	for _, n := range e.SortedTags() {
		in.EmailTags = append(in.EmailTags, types.MessageTag{Name: aws.String(n), Value: aws.String(e.Tags[n])})
	}
	if m.configurationSet != "" {
		in.ConfigurationSetName = aws.String(m.configurationSet)
	}
	out, err := m.api.SendEmail(ctx, in, noRetries)
	if err != nil {
		return "", classify(err)
	}
	id := aws.ToString(out.MessageId)
	if id == "" {
		// Accepted, as far as HTTP goes, but without an id: nothing to
		// reconcile with, and no proof it was accepted either.
		return "", errors.New("ses: SendEmail answered without a message id")
	}
	return id, nil
}

// classify maps an SES error to mail's outcomes; anything it does not
// know stays an unknown outcome.
func classify(err error) error {
	var (
		tooMany   *types.TooManyRequestsException
		limit     *types.LimitExceededException
		paused    *types.SendingPausedException
		suspended *types.AccountSuspendedException
		rejected  *types.MessageRejected
		mailFrom  *types.MailFromDomainNotVerifiedException
		bad       *types.BadRequestException
		notFound  *types.NotFoundException
		api       smithy.APIError
	)
	var class error
	var code, msg string
	switch {
	case errors.As(err, &tooMany):
		class, code, msg = mail.ErrThrottled, tooMany.ErrorCode(), tooMany.ErrorMessage()
	case errors.As(err, &limit):
		class, code, msg = mail.ErrThrottled, limit.ErrorCode(), limit.ErrorMessage()
	case errors.As(err, &paused):
		class, code, msg = mail.ErrPaused, paused.ErrorCode(), paused.ErrorMessage()
	case errors.As(err, &suspended):
		class, code, msg = mail.ErrPaused, suspended.ErrorCode(), suspended.ErrorMessage()
	case errors.As(err, &rejected):
		class, code, msg = mail.ErrRejected, rejected.ErrorCode(), rejected.ErrorMessage()
	case errors.As(err, &mailFrom):
		// The shop's MAIL FROM domain: every e-mail of the campaign would
		// fail the same way, so the campaign stops until it is fixed.
		class, code, msg = mail.ErrPaused, mailFrom.ErrorCode(), mailFrom.ErrorMessage()
	case errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException":
		// IAM refused the call (the sender's role may send only from the
		// configured identities): nothing was sent, and nothing of this
		// shop will be until the configuration is fixed.
		class, code, msg = mail.ErrPaused, api.ErrorCode(), api.ErrorMessage()
	case errors.As(err, &bad):
		class, code, msg = mail.ErrRejected, bad.ErrorCode(), bad.ErrorMessage()
	case errors.As(err, &notFound):
		class, code, msg = mail.ErrRejected, notFound.ErrorCode(), notFound.ErrorMessage()
	default:
		return &sendError{text: "ses: send email, outcome unknown: " + Redact(err.Error()), err: err}
	}
	text := class.Error() + ": " + code
	if msg = Redact(msg); msg != "" {
		text += ": " + msg
	}
	return &sendError{text: text, class: class, err: err}
}

// sendError is a failed SendEmail: its message has the addresses
// redacted, errors.Is finds its class (mail.ErrThrottled, …) and errors.As
// the SDK's error.
type sendError struct {
	text  string
	class error // nil: outcome unknown
	err   error
}

func (e *sendError) Error() string { return e.text }

func (e *sendError) Unwrap() []error {
	if e.class == nil {
		return []error{e.err}
	}
	return []error{e.class, e.err}
}

// Redact replaces every e-mail address in s (any run of characters
// without spaces, quotes, brackets, commas or semicolons that holds an
// '@') with "<address>": SES's messages may name the addresses they
// refuse ("…failed the check in region EU-WEST-1: ada@example.com").
func Redact(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexFunc(s, func(r rune) bool { return !isDelimiter(r) })
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexFunc(s, isDelimiter)
		if j < 0 {
			j = len(s)
		}
		if word := s[:j]; strings.Contains(word, "@") {
			b.WriteString("<address>")
		} else {
			b.WriteString(word)
		}
		s = s[j:]
	}
	return b.String()
}

func isDelimiter(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', '"', '\'', '<', '>', '(', ')', '[', ']', ',', ';':
		return true
	}
	return false
}
