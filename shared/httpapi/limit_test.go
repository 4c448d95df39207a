package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/winback/winback/shared/shop"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestLimiterIsATokenBucket(t *testing.T) {
	l := newLimiter(2, 3) // 2 a second, 3 at once
	now := t0
	for i := range 3 {
		if wait, _ := l.take("shop_a", now); wait != 0 {
			t.Fatalf("request %d of a burst of 3 refused (wait %s)", i+1, wait)
		}
	}
	wait, first := l.take("shop_a", now)
	if wait != 500*time.Millisecond || !first {
		t.Fatalf("4th request at once: wait %s, first %v; want 500ms (one token at 2/s), first", wait, first)
	}
	if wait, first := l.take("shop_a", now.Add(100*time.Millisecond)); wait != 400*time.Millisecond || first {
		t.Errorf("5th request 100ms later: wait %s, first %v; want 400ms (0.2 of a token there), not first", wait, first)
	}
	if wait, _ := l.take("shop_b", now); wait != 0 {
		t.Error("another key shares the bucket")
	}
	// Refills at the rate: one token 500 ms after the bucket was empty.
	now = now.Add(500 * time.Millisecond)
	if wait, _ := l.take("shop_a", now); wait != 0 {
		t.Errorf("a request after 500 ms at 2/s refused (wait %s)", wait)
	}
	if wait, _ := l.take("shop_a", now); wait == 0 {
		t.Error("a second request in the same instant allowed")
	}
	// A long pause refills up to the burst, not beyond.
	now = now.Add(time.Hour)
	allowed := 0
	for range 10 {
		if wait, _ := l.take("shop_a", now); wait == 0 {
			allowed++
		}
	}
	if allowed != 3 {
		t.Errorf("after an hour's pause %d requests at once allowed, want the burst 3", allowed)
	}
	// wait reports without spending.
	if w := l.wait("shop_c", now); w != 0 {
		t.Errorf("a fresh key waits %s", w)
	}
	if w := l.wait("shop_a", now); w != 500*time.Millisecond {
		t.Errorf("wait on an empty bucket: %s, want 500ms", w)
	}
	if w := l.wait("shop_a", now); w != 500*time.Millisecond {
		t.Errorf("wait spent something: %s", w)
	}
	// A clock that goes back adds nothing.
	if wait, _ := l.take("shop_a", now.Add(-time.Minute)); wait == 0 {
		t.Error("a clock going back refilled the bucket")
	}
	// No limit at all for a rate of 0.
	var off *limiter = newLimiter(0, 10)
	for range 1000 {
		if wait, _ := off.take("x", now); wait != 0 {
			t.Fatal("a limiter of rate 0 refused")
		}
	}
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	l := newLimiter(1, 2)
	now := t0
	// A flood from more addresses than the limiter keeps.
	for i := range maxBuckets + 500 {
		l.take(fmt.Sprintf("198.51.%d.%d", i/256, i%256), now)
	}
	if n := l.size(); n > maxBuckets+1 {
		t.Fatalf("%d buckets, want at most %d and the overflow one", n, maxBuckets+1)
	}
	// The addresses without room share the overflow bucket: its burst of 2
	// went to the first two of them.
	if wait, _ := l.take("203.0.113.1", now); wait == 0 {
		t.Error("an address with no room of its own was not limited by the shared overflow bucket")
	}
	if w := l.wait("203.0.113.2", now); w == 0 {
		t.Error("wait of an address without room does not report the overflow bucket")
	}
	// An address that has a bucket keeps its own.
	if wait, _ := l.take("198.51.0.7", now); wait != 0 {
		t.Error("198.51.0.7 had spent 1 of 2 tokens; its second was refused")
	}
	// Once buckets have refilled (2 s at 1/s) they are dropped to make room.
	now = now.Add(3 * time.Second)
	if wait, _ := l.take("203.0.113.3", now); wait != 0 {
		t.Errorf("after the buckets refilled a new address was refused (wait %s)", wait)
	}
	if n := l.size(); n > 10 {
		t.Errorf("%d buckets kept after pruning, want only the ones not full", n)
	}
}

func TestLimiterConcurrentUse(t *testing.T) {
	l := newLimiter(1, 100)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if wait, _ := l.take("shop_a", t0); wait == 0 {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 100 {
		t.Errorf("400 concurrent requests in one instant: %d allowed, want the burst 100", allowed)
	}
}

func TestLimitsFromEnv(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	tests := []struct {
		name    string
		vars    map[string]string
		want    Limits
		wantErr string
	}{
		{"defaults", nil, DefaultLimits, ""},
		{"set", map[string]string{EnvShopRate: "5.5", EnvShopBurst: "11", EnvUnauthRate: "0.2", EnvUnauthBurst: " 3 "},
			Limits{ShopRate: 5.5, ShopBurst: 11, UnauthRate: 0.2, UnauthBurst: 3}, ""},
		{"off", map[string]string{EnvShopRate: "0", EnvUnauthRate: "0", EnvUnauthBurst: "0"},
			Limits{ShopRate: 0, ShopBurst: DefaultLimits.ShopBurst}, ""},
		{"not a number", map[string]string{EnvShopRate: "fast"}, Limits{}, EnvShopRate},
		{"negative", map[string]string{EnvUnauthRate: "-1"}, Limits{}, EnvUnauthRate},
		{"infinite", map[string]string{EnvShopRate: "+Inf"}, Limits{}, EnvShopRate},
		{"fractional burst", map[string]string{EnvShopBurst: "1.5"}, Limits{}, EnvShopBurst},
		{"no burst", map[string]string{EnvShopBurst: "0"}, Limits{}, EnvShopBurst},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LimitsFromEnv(env(tt.vars))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LimitsFromEnv = %+v, %v; want an error naming %s", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("LimitsFromEnv = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestClientAddress(t *testing.T) {
	for remote, want := range map[string]string{
		"203.0.113.7:0":              "203.0.113.7",
		"203.0.113.7:51234":          "203.0.113.7",
		"[::ffff:203.0.113.7]:0":     "203.0.113.7",
		"[2001:db8:1:2:3:4:5:6]:0":   "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:443":      "2001:db8:1:3::/64",
		"":                           "unknown",
		"not an address":             "not an address",
		"[fe80::1%eth0]:8080":        "fe80::/64",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", "192.0.2.99") // written by the client: never trusted
		if got := clientAddress(r); got != want {
			t.Errorf("clientAddress(%q) = %q, want %q", remote, got, want)
		}
	}
}

// limitedAuth is an Auth over fake shops with limits and a settable clock,
// behind a Mux whose log lines are kept.
type limitedAuth struct {
	f    *fakeShops
	now  time.Time
	h    http.Handler
	logs *bytes.Buffer
}

func newLimitedAuth(l Limits) *limitedAuth {
	la := &limitedAuth{
		f: &fakeShops{
			shops: map[string]shop.Shop{"shop_a": {ID: "shop_a"}, "shop_b": {ID: "shop_b"}},
			keys: map[string][2]string{
				"keyAkeyAkeyAkeyA": {"shop_a", shop.HashSecret(strings.Repeat("a", 32))},
				"keyBkeyBkeyBkeyB": {"shop_b", shop.HashSecret(strings.Repeat("b", 32))},
			},
		},
		now: t0, logs: &bytes.Buffer{},
	}
	auth := NewAuth(la.f).Limit(l)
	auth.SetClock(func() time.Time { return la.now })
	m := NewMux(slog.New(slog.NewJSONHandler(la.logs, nil)))
	m.Handle("GET /v1/ping", auth.RequireKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, _ := ShopFrom(r.Context())
		WriteJSON(w, http.StatusOK, sh.ID)
	})))
	la.h = m
	return la
}

const (
	keyA = "wbk_keyAkeyAkeyAkeyA_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	keyB = "wbk_keyBkeyBkeyBkeyB_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// get sends GET /v1/ping from addr with the Authorization header auth ("":
// none).
func (la *limitedAuth) get(addr, auth string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/v1/ping", nil)
	r.RemoteAddr = addr + ":0"
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	la.h.ServeHTTP(rec, r)
	return rec
}

// problemType is the type of a problem+json answer ("" for another).
func problemType(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if rec.Header().Get("Content-Type") != ProblemContentType {
		return ""
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem %s: %v", rec.Body, err)
	}
	return p.Type
}

func TestShopLimit(t *testing.T) {
	la := newLimitedAuth(Limits{ShopRate: 2, ShopBurst: 3})
	for i := range 3 {
		if rec := la.get("203.0.113.1", "Bearer "+keyA); rec.Code != 200 {
			t.Fatalf("request %d of shop_a's burst: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	// The 4th at once is answered 429 problem+json with Retry-After.
	rec := la.get("203.0.113.1", "Bearer "+keyA)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" || problemType(t, rec) != TypeRateLimited {
		t.Fatalf("shop_a over its burst: %d, Retry-After %q, %s; want 429, 1, a rate-limited problem",
			rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if !strings.Contains(rec.Body.String(), "2 requests per second (3 at once)") {
		t.Errorf("the problem does not state the limit: %s", rec.Body)
	}
	// Another shop, even from the same address, is not held back.
	for range 3 {
		if rec := la.get("203.0.113.1", "Bearer "+keyB); rec.Code != 200 {
			t.Fatalf("shop_b while shop_a is limited: %d", rec.Code)
		}
	}
	// Nor is shop_a from another address: the limit is the shop's.
	if rec := la.get("198.51.100.9", "Bearer "+keyA); rec.Code != 429 {
		t.Errorf("shop_a from another address: %d, want 429", rec.Code)
	}
	// Half a second later (2/s) one more request goes through.
	la.now = la.now.Add(500 * time.Millisecond)
	if rec := la.get("203.0.113.1", "Bearer "+keyA); rec.Code != 200 {
		t.Errorf("shop_a after its token refilled: %d", rec.Code)
	}
	if rec := la.get("203.0.113.1", "Bearer "+keyA); rec.Code != 429 {
		t.Errorf("shop_a right after: %d, want 429", rec.Code)
	}
	// One log line per run of refusals, naming the shop.
	if n := strings.Count(la.logs.String(), "shop over its request limit"); n != 2 {
		t.Errorf("%d log lines about the limit, want 2 (one per run of refusals):\n%s", n, la.logs)
	}
	if !strings.Contains(la.logs.String(), `"shop_id":"shop_a"`) || strings.Contains(la.logs.String(), "203.0.113") {
		t.Errorf("the log line must name the shop and no address:\n%s", la.logs)
	}
}

func TestUnauthenticatedFloodIsRefusedWithoutReads(t *testing.T) {
	la := newLimitedAuth(Limits{UnauthRate: 1, UnauthBurst: 5})
	// shop_a's key is verified from the flooding address before the flood.
	if rec := la.get("203.0.113.66", "Bearer "+keyA); rec.Code != 200 {
		t.Fatalf("good key: %d", rec.Code)
	}
	readsBefore := la.f.reads

	// Forged keys with fresh key ids: the first 5 (the burst) are looked
	// up and answered 401, the rest 429 without a read.
	codes := map[int]int{}
	for i := range 50 {
		codes[la.get("203.0.113.66", fmt.Sprintf("Bearer wbk_forged%010d_%032d", i, i)).Code]++
	}
	if codes[401] != 5 || codes[429] != 45 {
		t.Errorf("50 forged keys from one address: %v, want 5 × 401 then 45 × 429", codes)
	}
	if reads := la.f.reads - readsBefore; reads != 5 {
		t.Errorf("the flood cost %d store reads, want 5 (the burst)", reads)
	}
	// Requests without a key, or with junk, are counted and refused alike.
	for _, auth := range []string{"", "Bearer junk", "Basic eDp5"} {
		rec := la.get("203.0.113.66", auth)
		if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" || problemType(t, rec) != TypeRateLimited {
			t.Errorf("%q from the flooding address: %d Retry-After %q", auth, rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	// The key verified before the flood still works from that address.
	if rec := la.get("203.0.113.66", "Bearer "+keyA); rec.Code != 200 {
		t.Errorf("a verified key from the flooding address: %d, want 200", rec.Code)
	}
	// Another address is not affected.
	if rec := la.get("198.51.100.2", "Bearer wbk_forgedforgedforg_"+strings.Repeat("x", 32)); rec.Code != 401 {
		t.Errorf("a forged key from another address: %d, want 401", rec.Code)
	}
	if rec := la.get("198.51.100.2", "Bearer "+keyB); rec.Code != 200 {
		t.Errorf("a good key from another address: %d, want 200", rec.Code)
	}
	// A second later the flooding address has one more try.
	la.now = la.now.Add(time.Second)
	if rec := la.get("203.0.113.66", "Bearer wbk_forgedagainforge_"+strings.Repeat("x", 32)); rec.Code != 401 {
		t.Errorf("a forged key a second later: %d, want 401", rec.Code)
	}
	if rec := la.get("203.0.113.66", "Bearer wbk_forgedagainforg2_"+strings.Repeat("x", 32)); rec.Code != 429 {
		t.Errorf("and the next: %d, want 429", rec.Code)
	}
}

func TestNegativeCacheMakesForgedRequestsCostOneRead(t *testing.T) {
	la := newLimitedAuth(Limits{}) // no limits: the cache alone
	const n = 100
	forged := "Bearer wbk_nosuchkeynosuchk_"
	for i := range n {
		// The same unknown key id with ever different secrets.
		if rec := la.get("203.0.113.5", fmt.Sprintf("%s%032d", forged, i)); rec.Code != 401 {
			t.Fatalf("forged request %d: %d", i, rec.Code)
		}
	}
	if la.f.reads != 1 {
		t.Errorf("%d forged requests for one unknown key id cost %d store reads, want 1", n, la.f.reads)
	}
	// After MissTTL the id is looked up again, once.
	la.now = la.now.Add(MissTTL)
	for i := range n {
		la.get("203.0.113.5", fmt.Sprintf("%s%032d", forged, i))
	}
	if la.f.reads != 2 {
		t.Errorf("after MissTTL: %d store reads in all, want 2", la.f.reads)
	}
}

// BenchmarkRequireKey measures what authentication and the limits add to a
// request whose key is cached, and to a refused forged one.
func BenchmarkRequireKey(b *testing.B) {
	for _, bc := range []struct {
		name, key string
		limits    Limits
	}{
		{"cached key, no limits", keyA, Limits{}},
		{"cached key, limits", keyA, Limits{ShopRate: 1e9, ShopBurst: 1e9, UnauthRate: 1, UnauthBurst: 1}},
		{"forged key, limited address", "wbk_nosuchkeynosuchk_" + strings.Repeat("x", 32), Limits{UnauthRate: 1e-9, UnauthBurst: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			la := newLimitedAuth(bc.limits)
			la.get("203.0.113.1", "Bearer "+bc.key)
			r := httptest.NewRequest("GET", "/v1/ping", nil)
			r.RemoteAddr = "203.0.113.1:0"
			r.Header.Set("Authorization", "Bearer "+bc.key)
			b.ReportAllocs()
			for b.Loop() {
				la.h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}
