package mail

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/shared/campaign"
)

const unsubURL = "https://api.winback.example/v1/unsubscribe?t=AbC-_x9"

func sampleData() MessageData {
	return MessageData{
		ShopName:  "Bean & Leaf",
		Kind:      campaign.KindWinback,
		FirstName: "Ada",
		LastItems: []Item{{Title: "Coffee beans 1 kg", Quantity: 2}, {Title: "Filter papers", Quantity: 1}},
		Offer: MessageOffer{Percent: 15, Coupon: "WB-7KQ2-M9XD",
			Expires: time.Date(2025, 3, 24, 0, 0, 0, 0, time.UTC)},
		UnsubscribeURL: unsubURL,
	}
}

func TestRenderDefaultWinback(t *testing.T) {
	m, err := Render(DefaultTemplate, sampleData())
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Ada, here is 15% off your next order at Bean & Leaf" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, part := range []struct{ name, body string }{{"text", m.Text}, {"html", m.HTML}} {
		for _, want := range []string{"Hello Ada,", "Coffee beans 1 kg", "Filter papers", "15% off", "WB-7KQ2-M9XD", "24 March 2025", "Unsubscribe"} {
			if !strings.Contains(part.body, want) {
				t.Errorf("%s part lacks %q:\n%s", part.name, want, part.body)
			}
		}
	}
	if !strings.Contains(m.HTML, `href="`+unsubURL+`"`) || !strings.Contains(m.Text, "Unsubscribe: "+unsubURL) {
		t.Errorf("unsubscribe link missing:\n%s\n%s", m.HTML, m.Text)
	}
	if !strings.Contains(m.HTML, "Bean &amp; Leaf") || !strings.Contains(m.Text, "Bean & Leaf") {
		t.Error("shop name not escaped in HTML only")
	}
	if !strings.Contains(m.Text, "Coffee beans 1 kg x 2") || strings.Contains(m.Text, "Filter papers x") {
		t.Errorf("quantities:\n%s", m.Text)
	}
}

func TestRenderDefaultKinds(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*MessageData)
		subject string
		absent  []string
	}{
		{"replenishment", func(d *MessageData) { d.Kind = campaign.KindReplenishment; d.Offer = MessageOffer{} },
			"Ada, time to stock up at Bean & Leaf?", []string{"% off", "WB-"}},
		{"win-back without offer", func(d *MessageData) { d.Offer = MessageOffer{} },
			"Ada, we miss you at Bean & Leaf", []string{"% off", "WB-"}},
		{"no first name", func(d *MessageData) { d.FirstName = "" },
			"Here is 15% off your next order at Bean & Leaf", []string{"Hello ,", "Hello Ada"}},
		{"no items", func(d *MessageData) { d.LastItems = nil },
			"Ada, here is 15% off your next order at Bean & Leaf", []string{"<li>"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := sampleData()
			c.edit(&d)
			m, err := Render(DefaultTemplate, d)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != c.subject {
				t.Errorf("subject %q; want %q", m.Subject, c.subject)
			}
			for _, a := range c.absent {
				if strings.Contains(m.HTML, a) || strings.Contains(m.Text, a) {
					t.Errorf("%q present:\n%s\n%s", a, m.HTML, m.Text)
				}
			}
		})
	}
}

// Customer-provided strings are escaped in the HTML part.
func TestRenderEscapesCustomerStrings(t *testing.T) {
	d := sampleData()
	d.FirstName = `<script>alert("x")</script>`
	d.LastItems = []Item{{Title: `<img src=x onerror=alert(1)>`, Quantity: 1}}
	m, err := Render(DefaultTemplate, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"<script>", "<img", "onerror=alert(1)>"} {
		if strings.Contains(m.HTML, raw) {
			t.Errorf("HTML carries %q unescaped:\n%s", raw, m.HTML)
		}
	}
	if !strings.Contains(m.HTML, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("first name not escaped as expected:\n%s", m.HTML)
	}
	// The text part is plain text: shown as typed.
	if !strings.Contains(m.Text, `Hello <script>alert("x")</script>,`) {
		t.Errorf("text part:\n%s", m.Text)
	}
}

// A line break in a customer's name cannot add a header through the subject.
func TestRenderSubjectFolded(t *testing.T) {
	d := sampleData()
	d.FirstName = "Ada\r\nBcc: victim@example.com"
	m, err := Render(DefaultTemplate, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") || m.Subject != "Ada Bcc: victim@example.com, here is 15% off your next order at Bean & Leaf" {
		t.Errorf("subject %q", m.Subject)
	}
}

func TestRenderErrors(t *testing.T) {
	cases := []struct {
		name        string
		tpl         func(Template) Template
		data        func(*MessageData)
		part, stage string
	}{
		{"subject parse", func(t Template) Template { t.Subject = "{{if}}"; return t }, nil, "subject", "parse"},
		{"html parse", func(t Template) Template { t.HTML = "<p>{{.FirstName</p>"; return t }, nil, "html", "parse"},
		{"text parse", func(t Template) Template { t.Text = "{{end}}"; return t }, nil, "text", "parse"},
		{"subject render", func(t Template) Template { t.Subject = "{{.Nope}}"; return t }, nil, "subject", "render"},
		{"html render", func(t Template) Template { t.HTML = `{{.Offer.Expires.Nope}}`; return t }, nil, "html", "render"},
		{"text render", func(t Template) Template { t.Text = `{{index .LastItems 5}}`; return t }, nil, "text", "render"},
		{"empty subject", func(t Template) Template { t.Subject = "{{/* */}}  "; return t }, nil, "subject", "check"},
		{"long subject", func(t Template) Template { t.Subject = strings.Repeat("x", 999); return t }, nil, "subject", "check"},
		{"text without unsubscribe", func(t Template) Template { t.Text = "Hello"; return t }, nil, "text", "check"},
		{"html without unsubscribe", func(t Template) Template { t.HTML = "<p>Hello</p>"; return t }, nil, "html", "check"},
		{"no unsubscribe URL", nil, func(d *MessageData) { d.UnsubscribeURL = "" }, "data", "check"},
		{"relative unsubscribe URL", nil, func(d *MessageData) { d.UnsubscribeURL = "/v1/unsubscribe?t=x" }, "data", "check"},
		{"javascript unsubscribe URL", nil, func(d *MessageData) { d.UnsubscribeURL = "javascript:alert(1)" }, "data", "check"},
		{"offer without coupon", nil, func(d *MessageData) { d.Offer.Coupon = "" }, "data", "check"},
		{"offer with a bad coupon", nil, func(d *MessageData) { d.Offer.Coupon = "SUMMER10" }, "data", "check"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tpl := DefaultTemplate
			if c.tpl != nil {
				tpl = c.tpl(tpl)
			}
			d := sampleData()
			if c.data != nil {
				c.data(&d)
			}
			m, err := Render(tpl, d)
			var te *TemplateError
			if !errors.As(err, &te) || !errors.Is(err, ErrTemplate) {
				t.Fatalf("err = %v; want a TemplateError", err)
			}
			if te.Part != c.part || te.Stage != c.stage {
				t.Errorf("part %s stage %s; want %s %s (%v)", te.Part, te.Stage, c.part, c.stage, err)
			}
			if !strings.HasPrefix(err.Error(), c.part+" template, "+c.stage) {
				t.Errorf("message %q does not name the part", err)
			}
			if m != (Message{}) {
				t.Errorf("a failed render returned %+v", m)
			}
		})
	}
}

// A shop template may put the URL in text, not just in an href.
func TestRenderCustomTemplate(t *testing.T) {
	tpl := Template{
		Subject: "Hi {{.FirstName}}",
		HTML:    `<p>Hi {{.FirstName}}</p><p>{{.UnsubscribeURL}}</p>`,
		Text:    "Hi {{.FirstName}}\n{{.UnsubscribeURL}}",
	}
	d := sampleData()
	d.UnsubscribeURL = "https://shop.example/u?t=a&b=c"
	m, err := Render(tpl, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.HTML, "https://shop.example/u?t=a&amp;b=c") {
		t.Errorf("html %s", m.HTML)
	}
}

// Whatever a customer calls themselves, the render succeeds, the subject
// stays on one line and the HTML part never carries a raw '<' from it.
func FuzzRenderFirstName(f *testing.F) {
	f.Add("Ada")
	f.Add("<script>alert(1)</script>")
	f.Add("a\r\nBcc: x@y.z")
	f.Add("{{.UnsubscribeURL}}")
	f.Fuzz(func(t *testing.T, name string) {
		d := sampleData()
		d.FirstName = "zqxj" + name // a marker the template's own markup lacks
		m, err := Render(DefaultTemplate, d)
		if err != nil {
			if len(name) > 900 {
				return // the subject may exceed its limit
			}
			t.Fatalf("%q: %v", name, err)
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			t.Fatalf("subject %q", m.Subject)
		}
		if strings.Contains(name, "<") && strings.Contains(m.HTML, d.FirstName) {
			t.Fatalf("raw name in HTML: %q", name)
		}
	})
}

// TestRenderDefaultWithoutLastItems: a customer whose orders carried no
// line items gets no empty list and no dangling "Last time you bought:".
func TestRenderDefaultWithoutLastItems(t *testing.T) {
	for _, kind := range []campaign.Kind{campaign.KindWinback, campaign.KindReplenishment} {
		d := sampleData()
		d.Kind, d.LastItems = kind, nil
		m, err := Render(DefaultTemplate, d)
		if err != nil {
			t.Fatal(err)
		}
		for part, body := range map[string]string{"html": m.HTML, "text": m.Text} {
			if strings.Contains(body, "bought:") || strings.Contains(body, "last time:") || strings.Contains(body, "<ul>") {
				t.Errorf("%s %s part without last items:\n%s", kind, part, body)
			}
		}
	}
}
