package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/web"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store/memstore"
)

const formType = "application/x-www-form-urlencoded"

// multipartBody is the one-click form as multipart/form-data.
func multipartBody(value string) (contentType, body string) {
	const boundary = "----winbacktestboundary"
	return "multipart/form-data; boundary=" + boundary,
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n" + value + "\r\n--" + boundary + "--\r\n"
}

// suppressed is why addr may not be mailed by sh ("" if it may).
func (f *fixture) suppressed(t *testing.T, sh shop.Shop, addr string) string {
	t.Helper()
	reason, err := f.st.Suppressed(context.Background(), sh, addr)
	if err != nil {
		t.Fatal(err)
	}
	return reason
}

// unsubscribedEvent reports whether the recipient of customerID in sh's
// campaign asOf has the unsubscribe event.
func (f *fixture) unsubscribedEvent(t *testing.T, sh shop.Shop, customerID string) bool {
	t.Helper()
	r, err := f.st.Recipient(context.Background(), sh.ID, asOf, campaign.SendID(asOf, customerID))
	if err != nil {
		t.Fatal(err)
	}
	_, ok := r.Events[campaign.EventUnsubscribed]
	return ok
}

func TestUnsubscribe(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixture(t, b.open(t))
			ctx := context.Background()
			tok := f.token(t, f.one.ID, "c1", asOf)
			path := "/v1/unsubscribe/" + tok

			// Nothing below may change anything.
			unchanged := func(t *testing.T, what string) {
				t.Helper()
				if r := f.suppressed(t, f.one, adaEmail); r != "" {
					t.Fatalf("%s suppressed the address (%q)", what, r)
				}
				if f.unsubscribedEvent(t, f.one, "c1") {
					t.Fatalf("%s recorded an unsubscribe", what)
				}
			}

			t.Run("GetShowsAConfirmationPage", func(t *testing.T) {
				rec := f.do(t, "GET", path, "", "")
				body := rec.Body.String()
				if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" ||
					rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Location") != "" {
					t.Fatalf("%d %v", rec.Code, rec.Header())
				}
				for _, want := range []string{
					"Tea &amp; Co. &lt;Berlin&gt;", `<form method="post">`,
					`<input type="hidden" name="List-Unsubscribe" value="One-Click">`, `<button type="submit">`,
					`name="viewport"`, "<style>",
				} {
					if !strings.Contains(body, want) {
						t.Errorf("page lacks %s:\n%s", want, body)
					}
				}
				for _, bad := range []string{"<Berlin>", "src=", "href=", "http:", "https:", "<script", "ada@"} {
					if strings.Contains(body, bad) {
						t.Errorf("page holds %q:\n%s", bad, body)
					}
				}
				if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
					t.Errorf("Content-Security-Policy %q", csp)
				}
				unchanged(t, "a GET")
				if rec := f.do(t, "HEAD", path, "", ""); rec.Code != 200 {
					t.Errorf("HEAD: %d", rec.Code)
				}
				unchanged(t, "a HEAD")
			})

			other := make([]byte, 32)
			copy(other, "another deployment's signing key")
			forged, err := campaign.SignToken(other, campaign.Token{ShopID: f.one.ID, CustomerID: "c1", CampaignID: asOf, Issued: "2026-11-02"})
			if err != nil {
				t.Fatal(err)
			}
			flip := func(s string, i int) string {
				c := byte('A')
				if s[i] == 'A' {
					c = 'B'
				}
				return s[:i] + string(c) + s[i+1:]
			}
			badTokens := map[string]string{
				"forged with another key":   forged,
				"altered in its payload":    flip(tok, 12),
				"altered in its signature":  flip(tok, len(tok)-3),
				"truncated":                 tok[:len(tok)-4],
				"extended":                  tok + "AA",
				"padded":                    tok + "=",
				"garbage":                   "not-a-token",
				"of a shop that is gone":    f.token(t, "shop_gone", "c1", asOf),
				"of another shop's id case": f.token(t, strings.ToUpper(f.one.ID), "c1", asOf),
			}
			if std := strings.NewReplacer("-", "+", "_", "/").Replace(tok); std != tok {
				badTokens["in the standard base64 alphabet"] = std
			}
			t.Run("BadTokensChangeNothing", func(t *testing.T) {
				for name, bad := range badTokens {
					for _, method := range []string{"GET", "POST"} {
						rec := f.do(t, method, "/v1/unsubscribe/"+strings.ReplaceAll(bad, "/", "%2F"), "", "List-Unsubscribe=One-Click", "Content-Type", formType)
						var p map[string]any
						_ = json.Unmarshal(rec.Body.Bytes(), &p)
						if rec.Code != 400 || rec.Header().Get("Content-Type") != "application/problem+json" || p["type"] != web.TypeBadToken {
							t.Errorf("%s %s: %d %s", method, name, rec.Code, rec.Body)
						}
						unchanged(t, method+" with a token "+name)
					}
				}
			})

			t.Run("BadRequestsChangeNothing", func(t *testing.T) {
				mpType, mpWrong := multipartBody("Yes")
				tests := []struct {
					name, contentType, body string
					status                  int
				}{
					{"json", "application/json", `{"List-Unsubscribe":"One-Click"}`, 415},
					{"text", "text/plain", "List-Unsubscribe=One-Click", 415},
					{"no content type", "", "List-Unsubscribe=One-Click", 415},
					{"bad media type", "application/x-www-form-urlencoded; =", "List-Unsubscribe=One-Click", 415},
					{"empty form", formType, "", 400},
					{"wrong value", formType, "List-Unsubscribe=Yes", 400},
					{"value in the wrong case", formType, "List-Unsubscribe=one-click", 400},
					{"other field", formType, "unsubscribe=One-Click", 400},
					{"malformed form without the field", formType, "List-Unsubscribe%zz=One-Click", 400},
					{"multipart with the wrong value", mpType, mpWrong, 400},
					{"multipart without a boundary", "multipart/form-data", "List-Unsubscribe=One-Click", 400},
					{"too large", formType, "List-Unsubscribe=One-Click&pad=" + strings.Repeat("x", 5000), 413},
				}
				for _, tt := range tests {
					rec := f.do(t, "POST", path, "", tt.body, "Content-Type", tt.contentType)
					if rec.Code != tt.status || rec.Header().Get("Content-Type") != "application/problem+json" {
						t.Errorf("%s: %d %s, want %d", tt.name, rec.Code, rec.Body, tt.status)
					}
					unchanged(t, tt.name)
				}
			})

			t.Run("OneClickPostUnsubscribesAtOnce", func(t *testing.T) {
				for i := range 2 { // a repeat is answered the same
					rec := f.do(t, "POST", path, "", "List-Unsubscribe=One-Click", "Content-Type", formType+"; charset=utf-8")
					if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" ||
						rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), "You are unsubscribed") {
						t.Fatalf("POST %d: %d %v %s", i, rec.Code, rec.Header(), rec.Body)
					}
					if r := f.suppressed(t, f.one, adaEmail); r != "unsubscribe" {
						t.Fatalf("after POST %d the address is suppressed for %q, want unsubscribe", i, r)
					}
				}
				if r := f.suppressed(t, f.one, " ADA@example.com "); r != "unsubscribe" {
					t.Errorf("the suppression is of the address, whatever its case: %q", r)
				}
				r, err := f.st.Recipient(ctx, f.one.ID, asOf, campaign.SendID(asOf, "c1"))
				if err != nil {
					t.Fatal(err)
				}
				if at := r.Events[campaign.EventUnsubscribed]; !at.Equal(now) || r.State != campaign.StateSent {
					t.Errorf("recipient after unsubscribing: %+v", r)
				}
				if r := f.suppressed(t, f.two, adaEmail); r != "" {
					t.Errorf("shop two's customer of the same address is suppressed (%q): one shop's unsubscribe is its own", r)
				}
				if f.unsubscribedEvent(t, f.two, "c1") {
					t.Error("shop two's campaign recorded shop one's unsubscribe")
				}
			})

			t.Run("LenientWhereItCannotHurt", func(t *testing.T) {
				// A trailing line break, or a malformed pair beside the exact
				// field, must not leave the customer subscribed.
				for i, body := range []string{"List-Unsubscribe=One-Click\r\n", "List-Unsubscribe=One-Click&x=100%"} {
					id := fmt.Sprintf("len%d", i)
					addr := id + "@example.com"
					putCustomer(t, f.st, f.one, id, addr)
					rec := f.do(t, "POST", "/v1/unsubscribe/"+f.token(t, f.one.ID, id, asOf), "", body, "Content-Type", formType)
					if rec.Code != 200 || f.suppressed(t, f.one, addr) != "unsubscribe" {
						t.Errorf("body %q: %d, suppressed %q", body, rec.Code, f.suppressed(t, f.one, addr))
					}
				}
			})

			t.Run("MultipartPost", func(t *testing.T) {
				ct, body := multipartBody("One-Click")
				rec := f.do(t, "POST", "/v1/unsubscribe/"+f.token(t, f.one.ID, "c2", asOf), "", body, "Content-Type", ct)
				if rec.Code != 200 {
					t.Fatalf("%d %s", rec.Code, rec.Body)
				}
				if r := f.suppressed(t, f.one, "bea@example.com"); r != "unsubscribe" {
					t.Errorf("suppressed for %q", r)
				}
				if !f.unsubscribedEvent(t, f.one, "c2") {
					t.Error("no unsubscribe on the held-out recipient")
				}
			})

			t.Run("WithoutARecipientOrACustomer", func(t *testing.T) {
				// A campaign the customer is not in: the address is still suppressed.
				putCustomer(t, f.st, f.two, "c9", "cy@example.com")
				rec := f.do(t, "POST", "/v1/unsubscribe/"+f.token(t, f.two.ID, "c9", "2026-01-01"), "", "List-Unsubscribe=One-Click", "Content-Type", formType)
				if rec.Code != 200 || f.suppressed(t, f.two, "cy@example.com") != "unsubscribe" {
					t.Errorf("no recipient: %d, suppressed %q", rec.Code, f.suppressed(t, f.two, "cy@example.com"))
				}
				// A customer erased since: nothing left to suppress; the
				// erasure's reason stays.
				if err := f.st.EraseCustomer(ctx, f.two, "c1"); err != nil {
					t.Fatal(err)
				}
				for _, id := range []string{"c1", "never-stored"} {
					rec := f.do(t, "POST", "/v1/unsubscribe/"+f.token(t, f.two.ID, id, asOf), "", "List-Unsubscribe=One-Click", "Content-Type", formType)
					if rec.Code != 200 {
						t.Errorf("customer %s: %d %s", id, rec.Code, rec.Body)
					}
				}
				if r := f.suppressed(t, f.two, adaEmail); r != "erasure" {
					t.Errorf("erased customer's address: %q, want erasure", r)
				}
			})

			logs := f.logs.String()
			if !strings.Contains(logs, `"msg":"unsubscribed"`) || !strings.Contains(logs, `"customer_id":"c1"`) {
				t.Errorf("the unsubscribe is not logged with its ids:\n%s", logs)
			}
			if strings.Contains(logs, "@") || strings.Contains(logs, tok) {
				t.Errorf("the log holds an address or a token:\n%s", logs)
			}
		})
	}
}

var errDown = errors.New("store down")

// downStore is the in-memory store with one method failing, as an
// unreachable or throttled DynamoDB would.
type downStore struct {
	*memstore.Store
	method string
}

func (d downStore) TokenKeys(ctx context.Context) (campaign.TokenKeys, error) {
	if d.method == "TokenKeys" {
		return nil, errDown
	}
	return d.Store.TokenKeys(ctx)
}

func (d downStore) Suppress(ctx context.Context, sh shop.Shop, email, reason string) error {
	if d.method == "Suppress" {
		return errDown
	}
	return d.Store.Suppress(ctx, sh, email, reason)
}

func (d downStore) ChangeRecipient(ctx context.Context, shopID, campaignID, sendID string, ch campaign.Change) (campaign.Recipient, error) {
	if d.method == "ChangeRecipient" {
		return campaign.Recipient{}, errDown
	}
	return d.Store.ChangeRecipient(ctx, shopID, campaignID, sendID, ch)
}

// TestUnsubscribeSuppressesTheMailedAddress: the customer's address
// changed after the e-mail was sent; the one-click unsubscribe suppresses
// the address the e-mail went to (the recipient's AddressKey, recorded
// when it was sent) as well as the current one.
func TestUnsubscribeSuppressesTheMailedAddress(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixture(t, b.open(t))
			key, err := f.st.AddressKey(ctx, f.one, adaEmail)
			if err != nil {
				t.Fatal(err)
			}
			sendID := campaign.SendID(asOf, "c1")
			if _, err := f.st.ChangeRecipient(ctx, f.one.ID, asOf, sendID, campaign.Change{AddressKey: key}); err != nil {
				t.Fatal(err)
			}
			putCustomerAt(t, f.st, f.one, "c1", "ada.new@example.com", now.AddDate(0, 0, -1))
			rec := f.do(t, "POST", "/v1/unsubscribe/"+f.token(t, f.one.ID, "c1", asOf), "", "List-Unsubscribe=One-Click", "Content-Type", formType)
			if rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			for _, addr := range []string{adaEmail, "ada.new@example.com"} {
				if r := f.suppressed(t, f.one, addr); r != "unsubscribe" {
					t.Errorf("%s suppressed for %q, want unsubscribe", addr, r)
				}
			}
			if r := f.suppressed(t, f.two, adaEmail); r != "" {
				t.Errorf("shop two's address suppressed for %q", r)
			}
		})
	}
}

// TestUnsubscribeWhenTheStoreFails: without the key or the suppression the
// answer is a 503 to retry; the suppression done, a failure to record the
// event on the campaign still answers 200.
func TestUnsubscribeWhenTheStoreFails(t *testing.T) {
	tests := []struct {
		method     string
		get, post  int
		suppressed string
	}{
		{"TokenKeys", 503, 503, ""},
		{"Suppress", 200, 503, ""},
		{"ChangeRecipient", 200, 200, "unsubscribe"},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			ms := memstore.New()
			f := newFixture(t, ms)
			f.h = api.Routes(api.Deps{Shops: ms, Campaigns: downStore{ms, tt.method}, Log: slog.New(slog.DiscardHandler)})
			path := "/v1/unsubscribe/" + f.token(t, f.one.ID, "c1", asOf)
			if rec := f.do(t, "GET", path, "", ""); rec.Code != tt.get {
				t.Errorf("GET: %d, want %d", rec.Code, tt.get)
			}
			rec := f.do(t, "POST", path, "", "List-Unsubscribe=One-Click", "Content-Type", formType)
			if rec.Code != tt.post || (rec.Code == 503 && rec.Header().Get("Retry-After") == "") {
				t.Errorf("POST: %d %v, want %d", rec.Code, rec.Header(), tt.post)
			}
			if r := f.suppressed(t, f.one, adaEmail); r != tt.suppressed {
				t.Errorf("suppressed for %q, want %q", r, tt.suppressed)
			}
		})
	}
}
