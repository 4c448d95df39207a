package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"github.com/winback/winback/scripts/internal/devapi"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// TestREADMEExamples replays the curl examples of the README against the
// dev server over DynamoDB Local, so the front door stays true.
func TestREADMEExamples(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	bodies := regexp.MustCompile(`(?s)-d '(\{.*?\})'`).FindAllSubmatch(readme, -1)
	shopify := regexp.MustCompile(`(?s)BODY='(\{.*?\})'`).FindSubmatch(readme)
	domain := regexp.MustCompile(`X-Shopify-Shop-Domain: ([a-z0-9.-]+)`).FindSubmatch(readme)
	if len(bodies) < 2 || shopify == nil || domain == nil {
		t.Fatalf("the README's curl examples were not found (%d bodies)", len(bodies))
	}

	ctx := context.Background()
	db := emulator.DynamoDB(t)
	table := "devserver-readme"
	if err := store.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	st := store.New(db, table)
	// The README's one shop: EUR, Berlin, bound to its Shopify domain.
	euro, euroKey := createShop(t, st, "EUR", "Europe/Berlin", string(domain[1]))
	srv := httptest.NewServer(devapi.NewHandler(st, slog.New(slog.NewJSONHandler(io.Discard, nil)), time.Now))
	defer srv.Close()

	post := func(path string, body []byte, headers map[string]string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out
	}
	auth := map[string]string{"Authorization": "Bearer " + euroKey}

	if code, out := post("/v1/orders", bodies[0][1], auth); code != 201 || out["result"] != "created" || out["customer_id"] != "c-42" {
		t.Fatalf("README single order: %d %v", code, out)
	}
	if code, out := post("/v1/orders", bodies[0][1], auth); code != 200 || out["result"] != "unchanged" {
		t.Fatalf("README single order again: %d %v", code, out)
	}
	code, out := post("/v1/orders", bodies[1][1], auth)
	counts, _ := out["counts"].(map[string]any)
	if code != 200 || counts["created"] != 1.0 || counts["rejected"] != 1.0 {
		t.Fatalf("README batch: %d %v", code, out)
	}
	pointers := regexp.MustCompile(`"pointer":"([^"]+)"`).FindAllStringSubmatch(mustJSON(t, out), -1)
	var got []string
	for _, p := range pointers {
		got = append(got, p[1])
	}
	if want := "/orders/1/currency /orders/1/customer/email /orders/1/total"; strings.Join(got, " ") != want {
		t.Fatalf("README batch pointers %v, want %s", got, want)
	}

	mac := hmac.New(sha256.New, []byte(euro.WebhookSecret))
	mac.Write(shopify[1])
	headers := map[string]string{
		"X-Shopify-Hmac-Sha256": base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		"X-Shopify-Topic":       "orders/create",
		"X-Shopify-Shop-Domain": string(domain[1]),
		"X-Shopify-Webhook-Id":  "6f3c1a2e-0000-4000-8000-000000000001",
	}
	path := "/v1/webhooks/shopify/orders?shop=" + euro.ID
	for _, want := range []string{"created", "duplicate"} {
		if code, out := post(path, shopify[1], headers); code != 200 || out["result"] != want || out["order_id"] != "820982911946154508" {
			t.Fatalf("README Shopify webhook: %d %v, want %s", code, out, want)
		}
	}
	if _, err := st.Customer(ctx, euro, "c-42"); err != nil {
		t.Fatal(err)
	}
}

func createShop(t *testing.T, st *store.Store, currency, tz, shopifyDomain string) (shop.Shop, string) {
	t.Helper()
	cred := shop.NewCredentials()
	sh := shop.Shop{ID: shop.NewID(), Name: "README", Currency: currency, Timezone: tz, Shards: 4,
		WebhookSecret: cred.WebhookSecret, ShopifyDomain: shopifyDomain, CreatedAt: time.Now().UTC()}
	if err := st.CreateShop(context.Background(), sh, cred); err != nil {
		t.Fatal(err)
	}
	return sh, cred.APIKey
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
