package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store/memstore"
)

// instance is one warm Lambda instance serving GET /v1/ping behind
// RequireKey, through the API Gateway adapter, with its own clock.
type instance struct {
	now    time.Time
	invoke lambda.Handler
}

func newInstance(t *testing.T, shops httpapi.Shops, l httpapi.Limits, now time.Time) *instance {
	t.Helper()
	in := &instance{now: now}
	auth := httpapi.NewAuth(shops).Limit(l)
	auth.SetClock(func() time.Time { return in.now })
	m := httpapi.NewMux(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	m.Handle("GET /v1/ping", auth.RequireKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, _ := httpapi.ShopFrom(r.Context())
		httpapi.WriteJSON(w, http.StatusOK, sh.ID)
	})))
	in.invoke = lambda.NewHandler(httpapi.LambdaHandler(m))
	return in
}

// get invokes the instance with an API Gateway event of GET /v1/ping from
// sourceIP with key, and returns the response event.
func (in *instance) get(t *testing.T, sourceIP, key string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	r := httptest.NewRequest("GET", "/v1/ping", nil)
	r.RemoteAddr = sourceIP + ":0"
	r.Header.Set("Authorization", "Bearer "+key)
	ev, err := httpapi.Event(r)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out, err := in.invoke.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestRevocationWindow measures how long a revoked key keeps working: in
// an instance that verified it, until KeyTTL after it did; in any other,
// not at all.
func TestRevocationWindow(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sh := shop.Shop{ID: "shop_revoke", Name: "Revoke", Currency: "EUR", Timezone: "UTC", Shards: 4, CreatedAt: t0}
	if err := st.CreateShop(ctx, sh, shop.NewCredentials()); err != nil {
		t.Fatal(err)
	}
	key, info, err := st.CreateAPIKey(ctx, sh.ID, "to revoke")
	if err != nil {
		t.Fatal(err)
	}
	warm := newInstance(t, st, httpapi.DefaultLimits, t0)
	if resp := warm.get(t, "203.0.113.10", key); resp.StatusCode != 200 || resp.Body != `"shop_revoke"` {
		t.Fatalf("the new key: %d %s", resp.StatusCode, resp.Body)
	}

	// Revoked 20 s after the instance verified the key.
	warm.now = t0.Add(20 * time.Second)
	if err := st.RevokeAPIKey(ctx, sh.ID, info.KeyID); err != nil {
		t.Fatal(err)
	}
	// A cold instance refuses it at once.
	if resp := newInstance(t, st, httpapi.DefaultLimits, warm.now).get(t, "203.0.113.10", key); resp.StatusCode != 401 {
		t.Errorf("a cold instance right after the revocation: %d, want 401", resp.StatusCode)
	}
	// The warm one accepts it until KeyTTL after it verified it...
	for _, at := range []time.Duration{20 * time.Second, 59 * time.Second, httpapi.KeyTTL - time.Millisecond} {
		warm.now = t0.Add(at)
		if resp := warm.get(t, "203.0.113.10", key); resp.StatusCode != 200 {
			t.Errorf("the warm instance %s after verifying the key: %d, want 200 (still cached)", at, resp.StatusCode)
		}
	}
	// ...and refuses it from then on.
	warm.now = t0.Add(httpapi.KeyTTL)
	resp := warm.get(t, "203.0.113.10", key)
	if resp.StatusCode != 401 || resp.Headers["Www-Authenticate"] == "" {
		t.Errorf("the warm instance KeyTTL after verifying the key: %d %v, want 401 with a challenge", resp.StatusCode, resp.Headers)
	}
	if httpapi.KeyTTL != time.Minute {
		t.Errorf("KeyTTL is %s: the README, `winback apikey revoke` and rotate state one minute", httpapi.KeyTTL)
	}
}

// TestUnauthLimitKeysOnTheEventsSourceIP floods one instance with forged
// keys from one source address, as API Gateway reports it in the event.
func TestUnauthLimitKeysOnTheEventsSourceIP(t *testing.T) {
	st := memstore.New()
	in := newInstance(t, st, httpapi.Limits{UnauthRate: 1, UnauthBurst: 3}, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	forged := "wbk_nosuchkeynosuchk_" + "ffffffffffffffffffffffffffffffff"
	for i := range 3 {
		if resp := in.get(t, "203.0.113.20", forged); resp.StatusCode != 401 {
			t.Fatalf("forged request %d within the burst: %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp := in.get(t, "203.0.113.20", forged)
	if resp.StatusCode != 429 || resp.Headers["Retry-After"] != "1" || resp.Headers["Content-Type"] != httpapi.ProblemContentType {
		t.Errorf("past the burst: %d %v, want 429 problem+json with Retry-After 1", resp.StatusCode, resp.Headers)
	}
	if resp := in.get(t, "2001:db8::20", forged); resp.StatusCode != 401 {
		t.Errorf("another source address: %d, want 401", resp.StatusCode)
	}
}
