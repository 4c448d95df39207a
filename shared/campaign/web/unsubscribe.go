package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// TypeBadToken is the problem type of an unsubscribe link whose token is
// malformed, altered, forged, or names a shop that is gone.
const TypeBadToken = "tag:winback,2026:problem:invalid-unsubscribe-token"

// MaxUnsubscribeBody is the largest one-click POST body read, in bytes:
// "List-Unsubscribe=One-Click" needs 26.
const MaxUnsubscribeBody = 4 << 10

// The one-click form field and value (RFC 8058, section 3.1).
const (
	oneClickField = "List-Unsubscribe"
	oneClickValue = "One-Click"
)

// confirmPage answers GET /v1/unsubscribe/{token}: a page naming the shop
// with a button that posts the one-click form. It changes nothing: link
// scanners and previews follow GETs, and must not unsubscribe anybody.
func (h *handler) confirmPage(w http.ResponseWriter, r *http.Request) {
	_, sh, p := h.verify(r)
	if p != nil {
		p.Write(w)
		return
	}
	name := escapeHTML(shopName(sh))
	writePage(w, "Unsubscribe from "+name,
		"<h1>Unsubscribe from "+name+"?</h1>\n"+
			"<p>You will no longer receive marketing e-mails from "+name+".</p>\n"+
			`<form method="post"><input type="hidden" name="`+oneClickField+`" value="`+oneClickValue+`">`+
			`<button type="submit">Unsubscribe</button></form>`)
}

// unsubscribe answers the RFC 8058 one-click POST: the token is checked
// before anything else, then the form; the customer's address is
// suppressed for the shop at once and the unsubscribe is recorded on the
// campaign's recipient. The answer is a page, with no redirect and no
// further step, and so is a repeat.
func (h *handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tok, sh, p := h.verify(r)
	if p == nil {
		p = readOneClick(w, r)
	}
	if p != nil {
		p.Write(w)
		return
	}
	ctx = httpapi.WithLogAttrs(ctx, "shop_id", sh.ID, "customer_id", tok.CustomerID, "campaign_id", tok.CampaignID)
	log := httpapi.Log(ctx)
	// The address the e-mail went to, as its recipient recorded it when it
	// was sent: the one to suppress, even if the customer's address has
	// changed since. The unsubscribe is recorded on the recipient first
	// (for the report; idempotent), which returns it.
	rec, err := h.recordEvent(ctx, sh.ID, tok)
	if err != nil {
		// The customer's current address is still suppressed below: that
		// is what the customer asked for in nearly every case (the address
		// rarely changes between an e-mail and its unsubscribe).
		log.ErrorContext(ctx, "record unsubscribe on the campaign", "error", err)
	}
	if rec.AddressKey != "" {
		if err := h.store.SuppressKey(ctx, sh, rec.AddressKey, store.SuppressUnsubscribe); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
	}
	// And the customer's address now, which later campaigns would mail.
	sum, err := h.store.Customer(ctx, sh, tok.CustomerID)
	switch {
	case errors.Is(err, customer.ErrNotFound):
		// An erased (or never stored) customer has no address to mail;
		// erasure has suppressed it already.
		log.InfoContext(ctx, "unsubscribe of a customer who is gone", "mailed_address", rec.AddressKey != "")
	case err != nil:
		httpapi.WriteError(w, r, err)
		return
	case sum.Email == "":
		log.InfoContext(ctx, "unsubscribe of a customer without an address", "mailed_address", rec.AddressKey != "")
	default:
		if err := h.store.Suppress(ctx, sh, sum.Email, store.SuppressUnsubscribe); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		log.InfoContext(ctx, "unsubscribed", "mailed_address", rec.AddressKey != "")
	}
	name := escapeHTML(shopName(sh))
	writePage(w, "Unsubscribed",
		"<h1>You are unsubscribed</h1>\n"+
			"<p>"+name+" will not send you marketing e-mails any more.</p>")
}

// recordEvent marks the unsubscribe on the campaign's recipient, for the
// campaign report, and returns the recipient (a zero one when the
// customer is not in that campaign, or the campaign id is not one).
func (h *handler) recordEvent(ctx context.Context, shopID string, tok campaign.Token) (campaign.Recipient, error) {
	if !ValidCampaignID(tok.CampaignID) {
		return campaign.Recipient{}, nil
	}
	sendID := campaign.SendID(tok.CampaignID, tok.CustomerID)
	rec, err := h.store.ChangeRecipient(ctx, shopID, tok.CampaignID, sendID,
		campaign.Change{Event: campaign.EventUnsubscribed, EventAt: h.now().UTC()})
	if errors.Is(err, campaign.ErrNotFound) {
		return campaign.Recipient{}, nil
	}
	if err != nil {
		return campaign.Recipient{}, fmt.Errorf("record unsubscribe on recipient %s: %w", sendID, err)
	}
	return rec, nil
}

// verify checks the path's token against the kept token keys (every
// version not retired) and finds the shop it names. A token that fails,
// or whose shop is gone, is a 400 that says no more; a store failure is a
// 503.
func (h *handler) verify(r *http.Request) (campaign.Token, shop.Shop, *httpapi.Problem) {
	ctx := r.Context()
	tok, err := h.keys.Verify(ctx, r.PathValue("token"))
	switch {
	case errors.Is(err, campaign.ErrBadToken):
		return campaign.Token{}, shop.Shop{}, badToken()
	case err != nil:
		httpapi.Log(ctx).ErrorContext(ctx, "read the token keys", "error", err)
		return campaign.Token{}, shop.Shop{}, httpapi.Unavailable()
	}
	sh, err := h.auth.Shop(ctx, tok.ShopID)
	switch {
	case errors.Is(err, shop.ErrNotFound):
		return campaign.Token{}, shop.Shop{}, badToken()
	case err != nil:
		httpapi.Log(ctx).ErrorContext(ctx, "read the shop of a token", "shop_id", tok.ShopID, "error", err)
		return campaign.Token{}, shop.Shop{}, httpapi.Unavailable()
	}
	return tok, sh, nil
}

func badToken() *httpapi.Problem {
	return &httpapi.Problem{Type: TypeBadToken, Title: "Invalid unsubscribe link", Status: http.StatusBadRequest,
		Detail: "this unsubscribe link is not valid: open the link from the e-mail exactly as it was sent"}
}

// readOneClick checks that the body is the one-click form
// (List-Unsubscribe=One-Click), URL-encoded or multipart (RFC 8058 allows
// both): 415 for another media type, 413 beyond MaxUnsubscribeBody, 400
// for a form without the field.
func readOneClick(w http.ResponseWriter, r *http.Request) *httpapi.Problem {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data") {
		return httpapi.NewProblem(http.StatusUnsupportedMediaType,
			"send the form List-Unsubscribe=One-Click as application/x-www-form-urlencoded or multipart/form-data")
	}
	tooLarge := httpapi.NewProblem(http.StatusRequestEntityTooLarge, "the body must be at most 4096 bytes")
	if r.ContentLength > MaxUnsubscribeBody {
		return tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxUnsubscribeBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooLarge
	case err != nil:
		return httpapi.NewProblem(http.StatusBadRequest, "the body could not be read")
	}
	ok := false
	if mt == "multipart/form-data" {
		ok = multipartOneClick(string(body), params["boundary"])
	} else {
		// Lenient where it cannot hurt: trailing line breaks or spaces and a
		// malformed unrelated pair do not stop a one-click request (a mail
		// provider that sends "List-Unsubscribe=One-Click\r\n" must not leave
		// the customer subscribed); the field itself must be exact.
		form, _ := url.ParseQuery(strings.TrimRight(string(body), " \t\r\n"))
		ok = slices.Contains(form[oneClickField], oneClickValue)
	}
	if !ok {
		return httpapi.NewProblem(http.StatusBadRequest, "the body must be the form List-Unsubscribe=One-Click")
	}
	return nil
}

// multipartOneClick reports whether a multipart/form-data body (RFC 7578)
// is well formed and holds the field List-Unsubscribe with the value
// One-Click. It reads what a one-click form can be: a few small parts with
// CRLF line breaks, no transfer encoding (RFC 7578 forbids them), no folded
// headers; anything else is not the form. It stands in for mime/multipart,
// which would add about 27 KB to the api function; a test checks it
// against mime/multipart.
func multipartOneClick(body, boundary string) bool {
	if boundary == "" || len(boundary) > 70 {
		return false
	}
	delim := "\r\n--" + boundary
	_, rest, ok := strings.Cut("\r\n"+body, delim) // the first delimiter may open the body
	found := false
	for ok {
		if strings.HasPrefix(rest, "--") { // the closing delimiter
			return found
		}
		// The delimiter's line ends after optional white space.
		var line, part string
		if line, rest, ok = strings.Cut(rest, "\r\n"); !ok || strings.TrimRight(line, " \t") != "" {
			return false
		}
		if part, rest, ok = strings.Cut(rest, delim); !ok {
			return false
		}
		head, content, hasBody := strings.Cut("\r\n"+part, "\r\n\r\n")
		name, file, valid := formName(head)
		if !hasBody || !valid {
			return false
		}
		found = found || (name == oneClickField && !file && content == oneClickValue)
	}
	return false
}

// formName reads a part's headers (each after a CRLF): the field its
// Content-Disposition names, whether it is a file, and whether every
// header is well formed.
func formName(head string) (name string, file, valid bool) {
	seen := false
	for _, line := range strings.Split(head, "\r\n")[1:] {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return "", false, false
		}
		if !seen && strings.EqualFold(k, "Content-Disposition") {
			seen = true
			if d, params, err := mime.ParseMediaType(v); err == nil && d == "form-data" {
				name, file = params["name"], params["filename"] != ""
			}
		}
	}
	return name, file, true
}

// htmlEscaper escapes text for HTML element content and attribute values:
// what html.EscapeString does, without linking package html, whose entity
// table (for unescaping) would add about 65 KB to the api function.
var htmlEscaper = strings.NewReplacer(`&`, "&amp;", `'`, "&#39;", `<`, "&lt;", `>`, "&gt;", `"`, "&#34;")

func escapeHTML(s string) string { return htmlEscaper.Replace(s) }

// shopName is how the pages name the shop.
func shopName(sh shop.Shop) string {
	if sh.Name != "" {
		return sh.Name
	}
	return "this shop"
}

// pageHead is the start of every page: no external resource, a style
// inlined, and a viewport that reads well on a phone.
const pageHead = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<style>
body{margin:0;padding:2rem 1rem;background:#f4f5f7;color:#1d2129;font:1.0625rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:28rem;margin:0 auto;padding:1.5rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 3px rgba(0,0,0,.1)}
h1{margin:0 0 .75rem;font-size:1.375rem;line-height:1.3}
p{margin:0 0 1.25rem}
button{width:100%;padding:.875rem 1rem;border:0;border-radius:.5rem;background:#1a56db;color:#fff;font:inherit;font-weight:600;cursor:pointer}
button:focus-visible{outline:3px solid #93b4f5;outline-offset:2px}
</style>
`

// writePage sends a small HTML page (title and body already escaped)
// that is never cached and may load nothing from anywhere.
func writePage(w http.ResponseWriter, title, body string) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, pageHead+"<title>"+title+"</title>\n</head>\n<body><main>\n"+body+"\n</main></body>\n</html>\n")
}
