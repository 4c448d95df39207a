package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/scripts/internal/devapi"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store/memstore"
)

// TestLimitsOnTheDevServer: with limits (WINBACK_LIMITS=1), the dev
// server refuses a shop over its burst and an address over its burst of
// requests without a valid key with 429 problem+json and Retry-After, as
// the functions do; another shop is not held back; without limits nothing
// is refused.
func TestLimitsOnTheDevServer(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	newShop := func() string {
		cred := shop.NewCredentials()
		sh := shop.Shop{ID: shop.NewID(), Name: "Limits", Currency: "EUR", Timezone: "UTC", Shards: 2,
			WebhookSecret: cred.WebhookSecret, CreatedAt: time.Now().UTC()}
		if err := st.CreateShop(ctx, sh, cred); err != nil {
			t.Fatal(err)
		}
		return cred.APIKey
	}
	noisy, quiet := newShop(), newShop()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	get := func(srv *httptest.Server, key string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/customers/nobody", nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	limited := httptest.NewServer(devapi.NewLimitedHandler(st, log, time.Now, httpapi.Limits{ShopRate: 0.01, ShopBurst: 3, UnauthRate: 0.01, UnauthBurst: 3}))
	defer limited.Close()
	for i := range 3 {
		if res := get(limited, noisy); res.StatusCode != http.StatusNotFound {
			t.Fatalf("request %d within the burst: %d, want 404 (no such customer)", i+1, res.StatusCode)
		}
	}
	res := get(limited, noisy)
	if res.StatusCode != http.StatusTooManyRequests || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") || res.Header.Get("Retry-After") == "" {
		t.Errorf("over the shop's burst: %d %q Retry-After %q, want 429 problem+json with Retry-After", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Retry-After"))
	}
	if res := get(limited, quiet); res.StatusCode != http.StatusNotFound {
		t.Errorf("another shop while the first is limited: %d, want 404", res.StatusCode)
	}
	forged := "wbk_aaaaaaaaaaaaaaaa_" + strings.Repeat("b", 52)
	codes := []int{}
	for range 5 {
		codes = append(codes, get(limited, forged).StatusCode)
	}
	if codes[0] != http.StatusUnauthorized || codes[len(codes)-1] != http.StatusTooManyRequests {
		t.Errorf("forged keys from one address: %v, want 401s then 429", codes)
	}

	open := httptest.NewServer(devapi.NewHandler(st, log, time.Now))
	defer open.Close()
	for i := range 10 {
		if res := get(open, noisy); res.StatusCode != http.StatusNotFound {
			t.Fatalf("without limits, request %d: %d", i+1, res.StatusCode)
		}
	}
}
