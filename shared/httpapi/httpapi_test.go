package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
)

func discard() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

func post(contentType, body string) *http.Request {
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestJSONBody(t *testing.T) {
	big := strings.Repeat("a", MaxBody+1)
	tests := []struct {
		name   string
		r      *http.Request
		status int // 0: accepted
	}{
		{"json", post("application/json", `{}`), 0},
		{"json with charset", post("application/json; charset=utf-8", `{}`), 0},
		{"json with upper-case charset", post("application/json; charset=UTF-8", `{}`), 0},
		{"latin-1 charset", post("application/json; charset=iso-8859-1", `{}`), 415},
		{"utf-16 charset", post("application/json; charset=utf-16", `{}`), 415},
		{"+json suffix", post("application/merge-patch+json", `{}`), 0},
		{"form", post("application/x-www-form-urlencoded", `a=1`), 415},
		{"no content type", post("", `{}`), 415},
		{"too large", post("application/json", big), 413},
		{"exactly the limit", post("application/json", big[1:]), 0},
		{"empty", post("application/json", ""), 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, p := JSONBody(httptest.NewRecorder(), tc.r)
			switch {
			case tc.status == 0 && p != nil:
				t.Fatalf("rejected: %+v", p)
			case tc.status != 0 && (p == nil || p.Status != tc.status):
				t.Fatalf("problem %+v, want status %d", p, tc.status)
			case tc.status == 0 && len(body) == 0:
				t.Fatal("empty body accepted")
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	for header, want := range map[string]string{
		"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer": "", "": "", "Bearer ": "",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", header)
		got, ok := BearerToken(r)
		if got != want || ok != (want != "") {
			t.Errorf("BearerToken(%q) = %q, %v", header, got, ok)
		}
	}
	// Two Authorization headers, even two valid ones: none.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Authorization", "Bearer abc")
	r.Header.Add("Authorization", "Bearer def")
	if got, ok := BearerToken(r); ok || got != "" {
		t.Errorf("BearerToken of two headers = %q, %v; want none", got, ok)
	}
}

func TestProblemFor(t *testing.T) {
	many := &order.ValidationError{More: 7}
	for i := range MaxListedErrors + 5 {
		many.Fields = append(many.Fields, order.FieldError{Pointer: fmt.Sprintf("/orders/%d", i), Detail: "bad"})
	}
	tests := []struct {
		err     error
		status  int
		typ     string
		listed  int
		omitted int
	}{
		{fmt.Errorf("parse: %w", &order.ValidationError{Fields: []order.FieldError{{Pointer: "/total", Detail: "x"}}}), 422, TypeValidation, 1, 0},
		{many, 422, TypeValidation, MaxListedErrors, 5 + 7},
		{fmt.Errorf("%w: at 3", order.ErrMalformed), 400, TypeMalformed, 0, 0},
		{fmt.Errorf("put: %w", customer.ErrConflict), 409, TypeConflict, 0, 0},
		{fmt.Errorf("put: %w", customer.ErrTooLarge), 422, TypeTooLarge, 0, 0},
		{shop.ErrBadKey, 401, TypeBlank, 0, 0},
		{fmt.Errorf("shop x: %w", shop.ErrNotFound), 404, TypeBlank, 0, 0},
		{fmt.Errorf("customer x: %w", customer.ErrNotFound), 404, TypeBlank, 0, 0},
		{errors.New("dial tcp 10.0.0.1:443: secret internals"), 503, TypeUnavailable, 0, 0},
		{context.DeadlineExceeded, 503, TypeUnavailable, 0, 0},
	}
	for _, tc := range tests {
		p := ProblemFor(tc.err)
		if p.Status != tc.status || p.Type != tc.typ || len(p.Errors) != tc.listed || p.ErrorsOmitted != tc.omitted {
			t.Errorf("ProblemFor(%v) = %d %s %d listed %d omitted", tc.err, p.Status, p.Type, len(p.Errors), p.ErrorsOmitted)
		}
		if strings.Contains(p.Detail, "internals") {
			t.Errorf("ProblemFor(%v) leaks the error text: %q", tc.err, p.Detail)
		}
	}
	if rec := httptest.NewRecorder(); true {
		ProblemFor(errors.New("boom")).Write(rec)
		if rec.Header().Get("Retry-After") != "1" || rec.Header().Get("Content-Type") != ProblemContentType {
			t.Errorf("503 headers %v", rec.Header())
		}
	}
}

// testMux has an echo route, a path parameter route and a panicking one.
func testMux() *Mux {
	m := NewMux(discard())
	m.HandleFunc("POST /v1/echo", func(w http.ResponseWriter, r *http.Request) {
		body, p := JSONBody(w, r)
		if p != nil {
			p.Write(w)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		WriteJSON(w, http.StatusCreated, map[string]string{"body": string(body), "shop": r.URL.Query().Get("shop"), "request_id": RequestID(r.Context())})
	})
	m.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	})
	m.HandleFunc("GET /v1/binary", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte{0xff, 0xfe, 0})
	})
	m.HandleFunc("GET /v1/panic", func(w http.ResponseWriter, r *http.Request) { panic("secret internals") })
	return m
}

type exchange struct {
	status int
	header http.Header
	body   string
}

// viaServer serves r over a real HTTP server (the dev server's path).
func viaServer(t *testing.T, srv *httptest.Server, r *http.Request) exchange {
	t.Helper()
	r.RequestURI = ""
	u := *r.URL
	u.Scheme, u.Host = "http", strings.TrimPrefix(srv.URL, "http://")
	r.URL = &u
	resp, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return exchange{resp.StatusCode, resp.Header, string(b)}
}

// viaLambda serves r as the Lambda does: the API Gateway event through the
// runtime's own handler wrapper and LambdaHandler.
func viaLambda(t *testing.T, h http.Handler, r *http.Request) exchange {
	t.Helper()
	ev, err := Event(r)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(ev)
	out, err := lambda.NewHandler(LambdaHandler(h)).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	header := http.Header{}
	for k, v := range resp.Headers {
		header.Set(k, v)
	}
	for _, c := range resp.Cookies {
		header.Add("Set-Cookie", c)
	}
	body := resp.Body
	if resp.IsBase64Encoded {
		b, _ := base64.StdEncoding.DecodeString(body)
		body = string(b)
	}
	return exchange{resp.StatusCode, header, body}
}

// TestMuxOverServerAndLambda serves the same requests over net/http and
// through the Lambda adapter: both answer the same, and unknown routes and
// methods are problems.
func TestMuxOverServerAndLambda(t *testing.T) {
	m := testMux()
	srv := httptest.NewServer(m)
	defer srv.Close()
	tests := []struct {
		name, method, target, contentType, body string
		status                                  int
		contains                                string
		allow                                   string
	}{
		{"echo", "POST", "/v1/echo?shop=s1", "application/json", `{"x":1}`, 201, `"shop":"s1"`, ""},
		{"path parameter", "GET", "/v1/customers/c-42", "", "", 200, `"id":"c-42"`, ""},
		{"escaped path parameter", "GET", "/v1/customers/a%20b%3Fc%23%C3%A9%25", "", "", 200, `"id":"a b?c#é%"`, ""},
		{"escaped slash ending a path parameter", "GET", "/v1/customers/victim%2F", "", "", 200, `"id":"victim/"`, ""},
		{"wrong method", "GET", "/v1/echo", "", "", 405, `"status":405`, "POST"},
		{"wrong method on parameter route", "DELETE", "/v1/customers/x", "", "", 405, `"status":405`, "GET, HEAD"},
		{"unknown path", "POST", "/v1/other", "application/json", `{}`, 404, `"status":404`, ""},
		{"wrong media type", "POST", "/v1/echo", "text/plain", `x`, 415, `"status":415`, ""},
		{"binary response", "GET", "/v1/binary", "", "", 200, "\xff\xfe\x00", ""},
		{"panic", "GET", "/v1/panic", "", "", 500, `"status":500`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mk := func() *http.Request {
				r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
				if tc.contentType != "" {
					r.Header.Set("Content-Type", tc.contentType)
				}
				return r
			}
			for name, got := range map[string]exchange{"server": viaServer(t, srv, mk()), "lambda": viaLambda(t, m, mk())} {
				if got.status != tc.status || !strings.Contains(got.body, tc.contains) || got.header.Get("Allow") != tc.allow {
					t.Errorf("%s: %d allow=%q %s", name, got.status, got.header.Get("Allow"), got.body)
				}
				if tc.status >= 400 && got.header.Get("Content-Type") != ProblemContentType {
					t.Errorf("%s: content type %q", name, got.header.Get("Content-Type"))
				}
				if strings.Contains(got.body, "internals") {
					t.Errorf("%s: leaks the panic: %s", name, got.body)
				}
				if got.header.Get("X-Request-Id") == "" {
					t.Errorf("%s: no X-Request-Id", name)
				}
			}
		})
	}
}

func TestLambdaAdapterDetails(t *testing.T) {
	m := testMux()
	r := httptest.NewRequest("POST", "/v1/echo", strings.NewReader(`{"y":2}`))
	r.Header.Set("Content-Type", "application/json")
	ev, _ := Event(r)
	ev.RequestContext.RequestID = "apigw-req-1"
	ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(ev.Body)), true
	resp, _ := LambdaHandler(m)(context.Background(), ev)
	if resp.StatusCode != 201 || !strings.Contains(resp.Body, `"request_id":"apigw-req-1"`) || !strings.Contains(resp.Body, `{\"y\":2}`) {
		t.Fatalf("base64 body, request id: %+v", resp)
	}
	if len(resp.Cookies) != 1 || resp.Cookies[0] != "a=1" || resp.Headers["Set-Cookie"] != "" {
		t.Errorf("cookies %v headers %v", resp.Cookies, resp.Headers)
	}
	// A trailing slash from Lambda stays part of the last segment: API
	// Gateway delivers a decoded "%2F" as "/", and it must not be trimmed
	// into another customer's id.
	get := httptest.NewRequest("GET", "/v1/customers/victim/", nil)
	gev, _ := Event(get)
	if resp, _ := LambdaHandler(m)(context.Background(), gev); resp.StatusCode != 200 || !strings.Contains(resp.Body, `"id":"victim/"`) {
		t.Errorf("trailing slash through Lambda: %d %s", resp.StatusCode, resp.Body)
	}
	ev.Body = "!!!not base64"
	if resp, _ := LambdaHandler(m)(context.Background(), ev); resp.StatusCode != 400 || resp.Headers["Content-Type"] != ProblemContentType {
		t.Errorf("bad base64: %+v", resp)
	}
}

func TestTrailingSlashOverHTTP(t *testing.T) {
	srv := httptest.NewServer(testMux())
	defer srv.Close()
	r := httptest.NewRequest("POST", "/v1/echo/?shop=s2", strings.NewReader(`{"x":1}`))
	r.Header.Set("Content-Type", "application/json")
	if got := viaServer(t, srv, r); got.status != 201 || !strings.Contains(got.body, `"shop":"s2"`) {
		t.Errorf("a trailing slash the client wrote: %d %s", got.status, got.body)
	}
}

func TestBinaryBodiesCrossTheBridgeAsBase64(t *testing.T) {
	rq := httptest.NewRequest("POST", "/x", strings.NewReader("\xff\xfe"))
	ev, err := Event(rq)
	if err != nil || !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString([]byte("\xff\xfe")) {
		t.Fatalf("Event() = %+v, %v", ev, err)
	}
}

// fakeShops counts lookups.
type fakeShops struct {
	shops map[string]shop.Shop
	keys  map[string][2]string // key id -> shop id, secret hash
	reads int
}

func (f *fakeShops) Shop(_ context.Context, id string) (shop.Shop, error) {
	f.reads++
	if sh, ok := f.shops[id]; ok {
		return sh, nil
	}
	return shop.Shop{}, fmt.Errorf("shop %s: %w", id, shop.ErrNotFound)
}

func (f *fakeShops) APIKey(_ context.Context, keyID string) (string, string, error) {
	f.reads++
	if k, ok := f.keys[keyID]; ok {
		return k[0], k[1], nil
	}
	return "", "", fmt.Errorf("api key: %w", shop.ErrNotFound)
}

func TestAuthCachesHitsAndMisses(t *testing.T) {
	keyID, secret := "key1key1key1key1", strings.Repeat("s", 32)
	f := &fakeShops{
		shops: map[string]shop.Shop{"shop_a": {ID: "shop_a"}},
		keys:  map[string][2]string{keyID: {"shop_a", shop.HashSecret(secret)}},
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := NewAuth(f)
	a.SetClock(func() time.Time { return now })
	ctx := context.Background()
	good := "wbk_" + keyID + "_" + secret
	for range 3 {
		if sh, err := a.ShopForKey(ctx, good); err != nil || sh.ID != "shop_a" {
			t.Fatalf("good key: %v %v", sh, err)
		}
	}
	if f.reads != 2 {
		t.Errorf("a good key cost %d reads, want 2 (key, shop) then the cache", f.reads)
	}
	for range 5 {
		if _, err := a.ShopForKey(ctx, "wbk_nosuchkeynosuchk_"+secret); !errors.Is(err, shop.ErrBadKey) {
			t.Fatalf("unknown key: %v", err)
		}
		if _, err := a.Shop(ctx, "shop_forged"); !errors.Is(err, shop.ErrNotFound) {
			t.Fatalf("unknown shop: %v", err)
		}
	}
	if f.reads != 4 {
		t.Errorf("misses cost %d reads in all, want 4 (one per unknown id)", f.reads)
	}
	// Wrong secrets, each different, for a real key id: the key id's record
	// is read once and the secrets are checked against its cached hash.
	f.keys["key2key2key2key2"] = [2]string{"shop_a", shop.HashSecret(secret)}
	before := f.reads
	for i := range 5 {
		if _, err := a.ShopForKey(ctx, fmt.Sprintf("wbk_key2key2key2key2_%032d", i)); !errors.Is(err, shop.ErrBadKey) {
			t.Errorf("wrong secret: %v", err)
		}
	}
	if f.reads-before != 1 {
		t.Errorf("wrong secrets for a real key id cost %d reads in 5 tries, want 1", f.reads-before)
	}
	for range 5 {
		if _, err := a.ShopForKey(ctx, "wbk_"+keyID+"_"+strings.Repeat("w", 32)); !errors.Is(err, shop.ErrBadKey) {
			t.Errorf("wrong secret: %v", err)
		}
	}
	if f.reads-before != 1 {
		t.Errorf("a wrong secret for a key id verified before cost %d reads, want none", f.reads-before-1)
	}
	now = now.Add(KeyTTL + time.Second)
	delete(f.keys, keyID) // revoked
	if _, err := a.ShopForKey(ctx, good); !errors.Is(err, shop.ErrBadKey) {
		t.Errorf("a revoked key still works after KeyTTL: %v", err)
	}
}

func TestRequireKey(t *testing.T) {
	f := &fakeShops{
		shops: map[string]shop.Shop{"shop_a": {ID: "shop_a"}},
		keys:  map[string][2]string{"key1key1key1key1": {"shop_a", shop.HashSecret(strings.Repeat("p", 32))}},
	}
	good, bad := "Bearer wbk_key1key1key1key1_"+strings.Repeat("p", 32), "Bearer wbk_key1key1key1key1_"+strings.Repeat("q", 32)
	h := NewAuth(f).RequireKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, _ := ShopFrom(r.Context())
		WriteJSON(w, 200, sh.ID)
	}))
	for header, want := range map[string]int{"": 401, good: 200, bad: 401, "Bearer junk": 401, "Basic x": 401} {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", header)
		h.ServeHTTP(rec, r)
		if rec.Code != want || (want == 401 && rec.Header().Get("WWW-Authenticate") == "") {
			t.Errorf("%q: %d %v", header, rec.Code, rec.Header())
		}
		if want == 200 && rec.Body.String() != `"shop_a"` {
			t.Errorf("shop in context: %s", rec.Body)
		}
	}
}
