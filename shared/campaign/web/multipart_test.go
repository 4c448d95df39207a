package web

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"mime/multipart"
	"net/textproto"
	"slices"
	"strings"
	"testing"
)

// stdOneClick is mime/multipart's answer: the body parses as a form whose
// List-Unsubscribe values include One-Click.
func stdOneClick(body, boundary string) bool {
	f, err := multipart.NewReader(strings.NewReader(body), boundary).ReadForm(1 << 20)
	if err != nil {
		return false
	}
	defer f.RemoveAll()
	return slices.Contains(f.Value[oneClickField], oneClickValue)
}

type field struct{ name, value, filename string }

// form writes fields as multipart/form-data with mime/multipart's writer.
func form(boundary string, fields ...field) string {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary(boundary); err != nil {
		panic(err)
	}
	for _, f := range fields {
		var err error
		if f.filename != "" {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, f.name, f.filename))
			var pw interface{ Write([]byte) (int, error) }
			pw, err = w.CreatePart(h)
			if err == nil {
				_, err = pw.Write([]byte(f.value))
			}
		} else {
			err = w.WriteField(f.name, f.value)
		}
		if err != nil {
			panic(err)
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return b.String()
}

func TestMultipartOneClick(t *testing.T) {
	const bd = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
	one := form(bd, field{name: oneClickField, value: oneClickValue})
	tests := []struct {
		name, body, boundary string
		want                 bool
	}{
		{"the form", one, bd, true},
		{"with a preamble and an epilogue", "This is a preamble.\r\n" + one + "trailing epilogue\r\n", bd, true},
		{"transport padding after a delimiter", strings.Replace(one, bd+"\r\n", bd+"  \t\r\n", 1), bd, true},
		{"after another field", form(bd, field{name: "a", value: "b"}, field{name: oneClickField, value: oneClickValue}), bd, true},
		{"hand-written", "--x\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\nContent-Type: text/plain\r\n\r\nOne-Click\r\n--x--", "x", true},
		{"header name in another case", "--x\r\ncontent-disposition: form-data; name=List-Unsubscribe\r\n\r\nOne-Click\r\n--x--\r\n", "x", true},
		{"wrong value", form(bd, field{name: oneClickField, value: "Yes"}), bd, false},
		{"value with a line break", form(bd, field{name: oneClickField, value: "One-Click\r\n"}), bd, false},
		{"other field", form(bd, field{name: "unsubscribe", value: oneClickValue}), bd, false},
		{"a file", form(bd, field{name: oneClickField, value: oneClickValue, filename: "x.txt"}), bd, false},
		{"another boundary", one, "other", false},
		{"no boundary", one, "", false},
		{"not closed", strings.TrimSuffix(one, "--"+bd+"--\r\n"), bd, false},
		{"no closing dashes", strings.Replace(one, bd+"--", bd, 1), bd, false},
		{"LF line breaks", strings.ReplaceAll(one, "\r\n", "\n"), bd, false},
		{"a malformed header", "--x\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\nno colon\r\n\r\nOne-Click\r\n--x--", "x", false},
		{"a folded header", "--x\r\nContent-Disposition: form-data;\r\n name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--x--", "x", false},
		{"a part without a blank line", "--x\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n--x--", "x", false},
		{"garbage after a delimiter", "--x junk\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--x--", "x", false},
		{"empty", "", bd, false},
	}
	for _, tt := range tests {
		got := multipartOneClick(tt.body, tt.boundary)
		if got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
		if std := tt.boundary != "" && stdOneClick(tt.body, tt.boundary); got && !std {
			t.Errorf("%s: accepted what mime/multipart does not", tt.name)
		}
	}
}

// TestMultipartOneClickAgreesWithMimeMultipart: over random forms that
// mime/multipart's writer makes, the answer is mime/multipart's.
func TestMultipartOneClickAgreesWithMimeMultipart(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	agreeTrue := 0
	for i := range 20_000 {
		bd := pick("x", "b0undary", "----WebKitFormBoundaryABC123", "a'b(c)+_,./:=?", strings.Repeat("z", 70))
		var fields []field
		for range rng.IntN(4) {
			f := field{name: pick(oneClickField, "list-unsubscribe", "List-Unsubscribe ", "x", ""),
				value: pick(oneClickValue, "one-click", "One-Click ", "", "a=b", "One-Click\r\n--x", "multi\r\nline")}
			if rng.IntN(8) == 0 {
				f.filename = "f.txt"
			}
			fields = append(fields, f)
		}
		body := form(bd, fields...)
		if rng.IntN(4) == 0 {
			body = pick("preamble\r\n", "\r\n") + body + pick("", "epilogue", "\r\n\r\n")
		}
		got, want := multipartOneClick(body, bd), stdOneClick(body, bd)
		if got != want {
			t.Fatalf("form %d %q (boundary %q): %v, mime/multipart says %v", i, body, bd, got, want)
		}
		if want {
			agreeTrue++
		}
	}
	if agreeTrue < 500 {
		t.Errorf("only %d one-click forms among the random ones", agreeTrue)
	}
}

// FuzzMultipartOneClick: no input panics, and whatever is accepted is a
// form mime/multipart reads with List-Unsubscribe=One-Click, for input
// whose every line break is CRLF (the only kind it accepts).
func FuzzMultipartOneClick(f *testing.F) {
	f.Add(form("x", field{name: oneClickField, value: oneClickValue}), "x")
	f.Add(form("x", field{name: "a", value: "b"}, field{name: oneClickField, value: oneClickValue}), "x")
	f.Add("--x\r\nContent-Disposition: form-data; name=List-Unsubscribe\r\n\r\nOne-Click\r\n--x--", "x")
	f.Fuzz(func(t *testing.T, body, boundary string) {
		got := multipartOneClick(body, boundary)
		if !got {
			return
		}
		if strings.Count(body, "\n") != strings.Count(body, "\r\n") {
			t.Fatalf("accepted a body with a bare LF: %q", body)
		}
		if !stdOneClick(body, boundary) {
			t.Fatalf("accepted %q (boundary %q), which mime/multipart does not read as the one-click form", body, boundary)
		}
	})
}
