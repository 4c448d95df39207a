package mail

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/winback/winback/shared/campaign"
)

// ErrTemplate means a template failed to parse or to render; a
// *TemplateError names the part.
var ErrTemplate = errors.New("template error")

// TemplateError is a failure of one part of a template.
type TemplateError struct {
	// Part is "subject", "html" or "text".
	Part string
	// Stage is "parse", "render" or "check".
	Stage string
	Err   error
}

// Error names the part and the stage.
func (e *TemplateError) Error() string {
	return fmt.Sprintf("%s template, %s: %v", e.Part, e.Stage, e.Err)
}

// Unwrap gives the underlying error.
func (e *TemplateError) Unwrap() error { return e.Err }

// Is reports whether target is ErrTemplate.
func (e *TemplateError) Is(target error) bool { return target == ErrTemplate }

// Template is a shop's e-mail template (campaign.Template): Go templates
// over MessageData. Subject and Text are text/template, HTML is
// html/template (so every value is escaped for where it appears).
type Template = campaign.Template

// Item is a line item as a message shows it.
type Item struct {
	Title    string
	Quantity int64
}

// MessageOffer is the offer a message carries; Percent 0 means none.
type MessageOffer struct {
	Percent int
	Coupon  string
	Expires time.Time
}

// MessageData is what a template may use.
type MessageData struct {
	ShopName       string
	Kind           campaign.Kind
	FirstName      string
	LastItems      []Item
	Offer          MessageOffer
	UnsubscribeURL string
}

// Message is a rendered e-mail.
type Message struct {
	Subject string
	HTML    string
	Text    string
}

// maxSubject bounds a rendered subject, in bytes.
const maxSubject = 998

// DefaultTemplate is the built-in template: a greeting by first name
// (or "Hello" without one), the last items, the offer with its code and
// expiry when there is one, and the unsubscribe link.
var DefaultTemplate = Template{
	Subject: `{{if eq .Kind "replenishment"}}{{with .FirstName}}{{.}}, time{{else}}Time{{end}} to stock up at {{.ShopName}}?{{else if .Offer.Percent}}{{with .FirstName}}{{.}}, here{{else}}Here{{end}} is {{.Offer.Percent}}% off your next order at {{.ShopName}}{{else}}{{with .FirstName}}{{.}}, we{{else}}We{{end}} miss you at {{.ShopName}}{{end}}`,
	HTML: `<!DOCTYPE html>
<html><body>
<p>{{with .FirstName}}Hello {{.}},{{else}}Hello,{{end}}</p>
{{if eq .Kind "replenishment"}}<p>It may be time to restock what you bought last time{{if .LastItems}}:{{else}}.{{end}}</p>
{{else}}<p>It has been a while since your last visit to {{.ShopName}}.{{if .LastItems}} Last time you bought:{{end}}</p>
{{end}}{{with .LastItems}}<ul>
{{range .}}<li>{{.Title}}{{if gt .Quantity 1}} × {{.Quantity}}{{end}}</li>
{{end}}</ul>
{{end}}{{if .Offer.Percent}}<p>Here is <strong>{{.Offer.Percent}}% off</strong> your next order with the code <strong>{{.Offer.Coupon}}</strong>, valid until {{.Offer.Expires.Format "2 January 2006"}}.</p>
{{end}}<p style="font-size:small">You receive this e-mail because you agreed to hear from {{.ShopName}}. <a href="{{.UnsubscribeURL}}">Unsubscribe</a></p>
</body></html>
`,
	Text: `{{with .FirstName}}Hello {{.}},{{else}}Hello,{{end}}

{{if eq .Kind "replenishment"}}It may be time to restock what you bought last time{{if .LastItems}}:{{else}}.{{end}}{{else}}It has been a while since your last visit to {{.ShopName}}.{{if .LastItems}} Last time you bought:{{end}}{{end}}
{{range .LastItems}}
- {{.Title}}{{if gt .Quantity 1}} x {{.Quantity}}{{end}}{{end}}
{{if .Offer.Percent}}
Here is {{.Offer.Percent}}% off your next order with the code {{.Offer.Coupon}}, valid until {{.Offer.Expires.Format "2 January 2006"}}.
{{end}}
You receive this e-mail because you agreed to hear from {{.ShopName}}.
Unsubscribe: {{.UnsubscribeURL}}
`,
}

// Render renders the three parts of t with data. A part that fails to
// parse or to execute gives a *TemplateError naming it (matching
// ErrTemplate); so does a result that breaks a rule:
//   - data.UnsubscribeURL must be an absolute http(s) URL, and both the
//     text and the HTML part must contain it (a visible unsubscribe link;
//     the HTML part as HTML-escaped);
//   - the subject must not be empty nor longer than 998 bytes; line
//     breaks in it are folded to spaces (no header injection through a
//     customer's name);
//   - a win-back offer (Percent > 0) needs a valid coupon code.
func Render(t Template, data MessageData) (Message, error) {
	if err := checkData(data); err != nil {
		return Message{}, err
	}
	var m Message
	var err error
	if m.Subject, err = execText("subject", t.Subject, data); err != nil {
		return Message{}, err
	}
	m.Subject = strings.Join(strings.Fields(m.Subject), " ")
	switch {
	case m.Subject == "":
		return Message{}, &TemplateError{Part: "subject", Stage: "check", Err: errors.New("the subject is empty")}
	case len(m.Subject) > maxSubject:
		return Message{}, &TemplateError{Part: "subject", Stage: "check", Err: fmt.Errorf("the subject is %d bytes, more than %d", len(m.Subject), maxSubject)}
	}
	if m.Text, err = execText("text", t.Text, data); err != nil {
		return Message{}, err
	}
	if !strings.Contains(m.Text, data.UnsubscribeURL) {
		return Message{}, &TemplateError{Part: "text", Stage: "check", Err: errors.New("the text part does not show the unsubscribe URL")}
	}
	if m.HTML, err = execHTML(t.HTML, data); err != nil {
		return Message{}, err
	}
	if !strings.Contains(m.HTML, html.EscapeString(data.UnsubscribeURL)) {
		return Message{}, &TemplateError{Part: "html", Stage: "check", Err: errors.New("the html part does not link the unsubscribe URL")}
	}
	return m, nil
}

// checkData checks what every message needs, whatever the template.
func checkData(d MessageData) error {
	u, err := url.Parse(d.UnsubscribeURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &TemplateError{Part: "data", Stage: "check", Err: fmt.Errorf("unsubscribe URL %q is not an absolute http(s) URL", d.UnsubscribeURL)}
	}
	if d.Offer.Percent > 0 && !campaign.ValidCoupon(d.Offer.Coupon) {
		return &TemplateError{Part: "data", Stage: "check", Err: fmt.Errorf("an offer of %d%% needs a coupon code, got %q", d.Offer.Percent, d.Offer.Coupon)}
	}
	return nil
}

func execText(part, src string, data MessageData) (string, error) {
	tpl, err := texttemplate.New(part).Option("missingkey=error").Parse(src)
	if err != nil {
		return "", &TemplateError{Part: part, Stage: "parse", Err: err}
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, data); err != nil {
		return "", &TemplateError{Part: part, Stage: "render", Err: err}
	}
	return b.String(), nil
}

func execHTML(src string, data MessageData) (string, error) {
	tpl, err := htmltemplate.New("html").Option("missingkey=error").Parse(src)
	if err != nil {
		return "", &TemplateError{Part: "html", Stage: "parse", Err: err}
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, data); err != nil {
		return "", &TemplateError{Part: "html", Stage: "render", Err: err}
	}
	return b.String(), nil
}
