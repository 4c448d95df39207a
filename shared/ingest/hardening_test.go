package ingest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/ingest"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

func sign(body, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

const shopifyOrder = `{"id":%d,"email":"mo@example.com","created_at":"2026-10-03T11:59:02-04:00","updated_at":"2026-10-03T12:00:00-04:00",` +
	`"currency":"USD","total_price":"10.00","financial_status":"paid","customer":{"id":%d,"first_name":"Mo","accepts_marketing":true},"line_items":[]}`

// serve sends one request through the API's handler, as the dev server does.
func serve(h http.Handler, method, target, body string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, v := range header {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// TestWebhookBindsShopsToTheirDomain: two shops of one Shopify app share
// its signing secret; a delivery signed for one and sent to the other's id
// is refused and stores nothing, and nothing before the signature check
// tells a real shop id from an unknown one.
func TestWebhookBindsShopsToTheirDomain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const appSecret = "shared-app-secret"
	for _, s := range []struct{ id, domain string }{{"shop_c", "c.myshopify.com"}, {"shop_d", "d.myshopify.com"}, {"shop_unbound", ""}} {
		keyID, secret := s.id+"key", "pw"
		sh := shop.Shop{ID: s.id, Name: s.id, Currency: "USD", Timezone: "UTC", Shards: 2, WebhookSecret: appSecret,
			ShopifyDomain: s.domain, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		if err := f.st.CreateShop(ctx, sh, shop.Credentials{KeyID: keyID, KeyHash: shop.HashSecret(secret)}); err != nil {
			t.Fatal(err)
		}
	}
	body := fmt.Sprintf(shopifyOrder, 5001, 6001)
	hook := func(shopID, domain, contentType, signature string) *httptest.ResponseRecorder {
		return serve(f.handler, "POST", "/v1/webhooks/shopify/orders?shop="+shopID, body, map[string]string{
			"Content-Type": contentType, "X-Shopify-Hmac-Sha256": signature, "X-Shopify-Topic": "orders/create",
			"X-Shopify-Shop-Domain": domain, "X-Shopify-Webhook-Id": "wh-" + shopID + domain,
		})
	}
	good := sign(body, appSecret)
	tests := []struct {
		name                                   string
		shopID, domain, contentType, signature string
		status                                 int
	}{
		{"signed for c, sent to d", "shop_d", "c.myshopify.com", "application/json", good, 403},
		{"no domain header", "shop_d", "", "application/json", good, 403},
		{"shop not bound to a domain", "shop_unbound", "x.myshopify.com", "application/json", good, 403},
		{"unknown shop, wrong media type", "shop_nosuch", "c.myshopify.com", "text/plain", good, 401},
		{"real shop, bad signature, wrong media type", "shop_c", "c.myshopify.com", "text/plain", sign(body, "guess"), 401},
		{"real shop, signed, wrong media type", "shop_c", "c.myshopify.com", "text/plain", good, 415},
		{"signed for c, sent to c (domain case differs)", "shop_c", "C.myshopify.com", "application/json", good, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.itemCount(t)
			rec := hook(tc.shopID, tc.domain, tc.contentType, tc.signature)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status >= 400 {
				if rec.Header().Get("Content-Type") != httpapi.ProblemContentType {
					t.Errorf("not a problem: %v", rec.Header())
				}
				if after := f.itemCount(t); after != before {
					t.Errorf("a refused delivery wrote %d items", after-before)
				}
			}
		})
	}
	if _, err := f.st.Customer(ctx, shop.Shop{ID: "shop_d", Shards: 2}, "6001"); err == nil {
		t.Error("shop_d holds the customer of a delivery meant for shop_c")
	}
	if c, err := f.st.Customer(ctx, shop.Shop{ID: "shop_c", Shards: 2}, "6001"); err != nil || c.PaidOrders != 1 {
		t.Errorf("shop_c's customer: %+v %v", c, err)
	}
}

// TestErrorListsAreCapped: a batch whose every order is invalid in many
// ways answers one 422 listing at most httpapi.MaxListedErrors errors and
// counting the rest, well under API Gateway's 6 MB response limit.
func TestErrorListsAreCapped(t *testing.T) {
	f := newFixture(t)
	bad := `{"order_id":"","customer":{"id":""},"created_at":"x","currency":"XXX","total":"-1","status":"nope","line_items":[` +
		strings.TrimSuffix(strings.Repeat(`{"title":"","quantity":-1,"price":"x"},`, 40), ",") + `]}`
	body := `{"orders":[` + strings.TrimSuffix(strings.Repeat(bad+",", order.MaxBatch), ",") + `]}`
	rec := serve(f.handler, "POST", "/v1/orders", body, map[string]string{"Authorization": "Bearer " + sampleKey, "Content-Type": "application/json"})
	var p httpapi.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 422 {
		t.Fatalf("%d %.300s", rec.Code, rec.Body)
	}
	if len(p.Errors) != httpapi.MaxListedErrors || p.ErrorsOmitted == 0 {
		t.Errorf("%d errors listed, %d omitted", len(p.Errors), p.ErrorsOmitted)
	}
	if rec.Body.Len() > 64<<10 {
		t.Errorf("the answer is %d bytes", rec.Body.Len())
	}
}

// fullStore refuses every order as too large, as a customer at the item limit is.
type fullStore struct{ ingest.Orders }

func (fullStore) PutOrders(_ context.Context, _ shop.Shop, orders []order.Order, _ string) ([]customer.Outcome, capacity.Usage, error) {
	outs := make([]customer.Outcome, len(orders))
	for i := range outs {
		outs[i].Err = fmt.Errorf("put: %w", customer.ErrTooLarge)
	}
	return outs, capacity.Usage{}, nil
}

// TestPermanentFailuresAreNotRetryable: a customer whose history is full is
// answered 422 (do not retry), never 503 (retry), alone and in a batch.
func TestPermanentFailuresAreNotRetryable(t *testing.T) {
	f := newFixture(t)
	h := api.Routes(api.Deps{Shops: f.st, Orders: fullStore{f.st}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	one := `{"order_id":"T-1","customer":{"id":"c-1"},"created_at":"2026-10-01T00:00:00Z","currency":"USD","total":"1.00","status":"paid"}`
	auth := map[string]string{"Authorization": "Bearer " + sampleKey, "Content-Type": "application/json"}
	rec := serve(h, "POST", "/v1/orders", one, auth)
	if rec.Code != 422 || !strings.Contains(rec.Body.String(), httpapi.TypeTooLarge) || rec.Header().Get("Retry-After") != "" {
		t.Errorf("single: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	rec = serve(h, "POST", "/v1/orders", `{"orders":[`+one+`]}`, auth)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":422`) {
		t.Errorf("batch: %d %s", rec.Code, rec.Body)
	}
}

func TestCharsetOtherThanUTF8IsRefused(t *testing.T) {
	f := newFixture(t)
	rec := serve(f.handler, "POST", "/v1/orders", `{"orders":[]}`, map[string]string{
		"Authorization": "Bearer " + sampleKey, "Content-Type": "application/json; charset=iso-8859-1"})
	if rec.Code != 415 {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

// downStore fails every write as an unreachable database would.
type downStore struct{ ingest.Orders }

func (downStore) PutOrders(context.Context, shop.Shop, []order.Order, string) ([]customer.Outcome, capacity.Usage, error) {
	return nil, capacity.Usage{}, fmt.Errorf("dial tcp: connection refused")
}

// TestBatchNothingStoredIsRetryable: when storage fails for every order of
// a batch, the answer is 503 with Retry-After (retry it all), not a 200
// whose results a client might not read.
func TestBatchNothingStoredIsRetryable(t *testing.T) {
	f := newFixture(t)
	h := api.Routes(api.Deps{Shops: f.st, Orders: downStore{f.st}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	one := `{"order_id":"D-%d","customer":{"id":"c-%d"},"created_at":"2026-10-01T00:00:00Z","currency":"USD","total":"1.00","status":"paid"}`
	body := `{"orders":[` + fmt.Sprintf(one, 1, 1) + `,` + fmt.Sprintf(one, 2, 2) + `]}`
	rec := serve(h, "POST", "/v1/orders", body, map[string]string{"Authorization": "Bearer " + sampleKey, "Content-Type": "application/json"})
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || strings.Contains(rec.Body.String(), "refused") {
		t.Errorf("%d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}

// TestWebhookWithAnOverlongShopIDIsUnauthorized: a forged ?shop= too long
// to be a shop id is answered like any unknown shop, without a lookup.
func TestWebhookWithAnOverlongShopIDIsUnauthorized(t *testing.T) {
	f := newFixture(t)
	rec := serve(f.handler, "POST", "/v1/webhooks/shopify/orders?shop="+strings.Repeat("x", 3000), `{}`, map[string]string{
		"Content-Type": "application/json", "X-Shopify-Hmac-Sha256": sign(`{}`, "guess")})
	if rec.Code != 401 {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

// shopLookups is the store, recording the ids of the shops looked up.
type shopLookups struct {
	*store.Store
	ids []string
}

func (s *shopLookups) Shop(ctx context.Context, id string) (shop.Shop, error) {
	s.ids = append(s.ids, id)
	return s.Store.Shop(ctx, id)
}

// TestWebhookWithAHashInTheShopIDIsUnauthorized: a forged ?shop= holding a
// "#" (which no shop id has) could name another partition of the table,
// e.g. one the ingest function's role is denied (infra/access.go), and
// turn into a storage error: it is answered like any unknown shop,
// without a lookup.
func TestWebhookWithAHashInTheShopIDIsUnauthorized(t *testing.T) {
	f := newFixture(t)
	lookups := &shopLookups{Store: f.st}
	h := api.Routes(api.Deps{Shops: lookups, Orders: f.st, Reports: f.st, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	for _, id := range []string{"x%23CAMPAIGNS", sampleShopID + "%23CAMPAIGN_CONFIG", "%23"} {
		rec := serve(h, "POST", "/v1/webhooks/shopify/orders?shop="+id, `{}`, map[string]string{
			"Content-Type": "application/json", "X-Shopify-Hmac-Sha256": sign(`{}`, "guess")})
		if rec.Code != 401 {
			t.Errorf("?shop=%s: %d %s, want 401", id, rec.Code, rec.Body)
		}
	}
	if len(lookups.ids) != 0 {
		t.Errorf("shops looked up: %q, want none", lookups.ids)
	}
}

// TestWebhookWithTwoShopsOrSignaturesIsUnauthorized: ?shop= twice, or two
// signature headers, even each valid on its own, is refused without a
// lookup: which one is meant is not the server's to guess.
func TestWebhookWithTwoShopsOrSignaturesIsUnauthorized(t *testing.T) {
	f := newFixture(t)
	lookups := &shopLookups{Store: f.st}
	h := api.Routes(api.Deps{Shops: lookups, Orders: f.st, Reports: f.st, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	for _, tc := range []struct {
		query string
		sigs  int
	}{{"?shop=" + sampleShopID + "&shop=" + sampleShopID, 1}, {"?shop=" + sampleShopID, 2}} {
		req := httptest.NewRequest("POST", "/v1/webhooks/shopify/orders"+tc.query, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		for range tc.sigs {
			req.Header.Add("X-Shopify-Hmac-Sha256", sign(`{}`, "guess"))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 401 {
			t.Errorf("%s with %d signatures: %d %s, want 401", tc.query, tc.sigs, rec.Code, rec.Body)
		}
	}
	if len(lookups.ids) != 0 {
		t.Errorf("shops looked up: %q, want none", lookups.ids)
	}
}
