package mail

import (
	"slices"
	"strings"
	"testing"
)

func sampleEmail() Email {
	return Email{
		From: "Bean & Leaf <news@beanleaf.example>", To: "ada@example.com",
		Subject: "Ada, we miss you", HTML: "<p>Hi</p>", Text: "Hi",
		Headers: []Header{{"List-Unsubscribe", "<https://u.example/v1/unsubscribe/t>"}, {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}},
		Tags:    map[string]string{TagShop: "shop_k3j5x7q2m9ab", TagCampaign: "2026-12-01", TagSendID: "0123456789abcdef0123"},
	}
}

func TestValidTag(t *testing.T) {
	for _, s := range []string{"a", "shop_k3j5x7q2m9ab", "2026-12-01", "2026-12-01-dry", "0123456789abcdef0123", strings.Repeat("x", 256)} {
		if !ValidTag(s) {
			t.Errorf("ValidTag(%q) = false", s)
		}
	}
	for _, s := range []string{"", " ", "a b", "a.b", "a@b", "ü", "a/b", "a:b", strings.Repeat("x", 257)} {
		if ValidTag(s) {
			t.Errorf("ValidTag(%q) = true", s)
		}
	}
}

func TestEmailValidate(t *testing.T) {
	if err := sampleEmail().Validate(); err != nil {
		t.Fatalf("sample: %v", err)
	}
	cases := []struct {
		name   string
		edit   func(*Email)
		detail string
	}{
		{"no from", func(e *Email) { e.From = " " }, "no sender"},
		{"no to", func(e *Email) { e.To = "" }, "no recipient"},
		{"to on two lines", func(e *Email) { e.To = "ada@example.com\r\nBcc: x@y.z" }, "spans lines"},
		{"no subject", func(e *Email) { e.Subject = "" }, "no subject"},
		{"subject on two lines", func(e *Email) { e.Subject = "a\nb" }, "subject spans"},
		{"no body", func(e *Email) { e.HTML, e.Text = "", "" }, "no body"},
		{"header name with a colon", func(e *Email) { e.Headers = append(e.Headers, Header{"X:Y", "v"}) }, "not a token"},
		{"header name with a space", func(e *Email) { e.Headers = append(e.Headers, Header{"X Y", "v"}) }, "not a token"},
		{"header value on two lines", func(e *Email) { e.Headers = append(e.Headers, Header{"X-A", "v\r\nBcc: x@y.z"}) }, "X-A spans lines"},
		{"bad tag value", func(e *Email) { e.Tags[TagShop] = "shop 1" }, "tag shop value"},
		{"bad tag name", func(e *Email) { e.Tags["a.b"] = "x" }, "tag name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := sampleEmail()
			c.edit(&e)
			err := e.Validate()
			if err == nil || !strings.Contains(err.Error(), c.detail) {
				t.Fatalf("err = %v; want one mentioning %q", err, c.detail)
			}
			if strings.Contains(err.Error(), "ada@example.com") || strings.Contains(err.Error(), "news@") {
				t.Errorf("the error shows an address: %v", err)
			}
		})
	}
}

func TestSortedTags(t *testing.T) {
	if got := sampleEmail().SortedTags(); !slices.Equal(got, []string{TagCampaign, TagSendID, TagShop}) {
		t.Errorf("SortedTags = %v", got)
	}
}
