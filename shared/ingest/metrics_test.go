package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/winback/winback/shared/metrics/metricstest"
	"log/slog"
	"testing"
	"time"

	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store/memstore"
)

// TestOrdersIngestedMetric: every request that created or updated orders
// writes one OrdersIngested line counting them, by the API and by the
// Shopify webhook; requests that stored nothing new write none, and
// without a namespace nothing is written.
func TestOrdersIngestedMetric(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	keyID, secret, err := shop.SplitKey(sampleKey)
	if err != nil {
		t.Fatal(err)
	}
	sh := shop.Shop{ID: sampleShopID, Name: "Metrics", Currency: "USD", Timezone: "UTC", Shards: 2,
		WebhookSecret: sampleWebhookSecret, ShopifyDomain: sampleShopDomain, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := st.CreateShop(ctx, sh, shop.Credentials{KeyID: keyID, KeyHash: shop.HashSecret(secret)}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	routes := func(namespace string) api.Deps {
		return api.Deps{Shops: st, Orders: st, Log: slog.New(slog.NewJSONHandler(&logs, nil)), MetricsNamespace: namespace,
			Now: func() time.Time { return time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC) }}
	}
	h := api.Routes(routes("winback/Test"))
	auth := map[string]string{"Authorization": "Bearer " + sampleKey, "Content-Type": "application/json"}
	order := func(id, customer, total string) string {
		return fmt.Sprintf(`{"order_id":%q,"customer":{"id":%q},"created_at":"2026-10-01T00:00:00Z","currency":"USD","total":%q,"status":"paid"}`,
			id, customer, total)
	}

	// GIVEN a batch of two new orders and an invalid one
	rec := serve(h, "POST", "/v1/orders", `{"orders":[`+order("M-1", "c-1", "5.00")+","+order("M-2", "c-2", "7.00")+`,{"order_id":"M-3"}]}`, auth)
	// THEN one line counts the two stored
	if got, ns := metricstest.Take(t, &logs, "OrdersIngested"); rec.Code != 200 || fmt.Sprint(got) != "[2]" || fmt.Sprint(ns) != "[winback/Test]" {
		t.Errorf("batch: %d, OrdersIngested %v in %v; want [2] in winback/Test: %s", rec.Code, got, ns, rec.Body)
	}
	// GIVEN the same batch again, nothing new: THEN no line
	serve(h, "POST", "/v1/orders", `{"orders":[`+order("M-1", "c-1", "5.00")+","+order("M-2", "c-2", "7.00")+`]}`, auth)
	if got, _ := metricstest.Take(t, &logs, "OrdersIngested"); len(got) != 0 {
		t.Errorf("unchanged batch: OrdersIngested %v, want none", got)
	}
	// GIVEN one order changed: THEN it counts as one
	serve(h, "POST", "/v1/orders", order("M-1", "c-1", "6.00"), auth)
	if got, _ := metricstest.Take(t, &logs, "OrdersIngested"); fmt.Sprint(got) != "[1]" {
		t.Errorf("updated order: OrdersIngested %v, want [1]", got)
	}

	// GIVEN a Shopify delivery, then the same delivery again
	body := fmt.Sprintf(shopifyOrder, 7001, 8001)
	hook := map[string]string{"Content-Type": "application/json", "X-Shopify-Hmac-Sha256": sign(body, sampleWebhookSecret),
		"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": sampleShopDomain, "X-Shopify-Webhook-Id": "wh-metrics-1"}
	for i, want := range []string{"[1]", "[]"} {
		rec := serve(h, "POST", "/v1/webhooks/shopify/orders?shop="+sampleShopID, body, hook)
		// THEN the first counts one order, the duplicate none
		if got, _ := metricstest.Take(t, &logs, "OrdersIngested"); rec.Code != 200 || fmt.Sprint(got) != want {
			t.Errorf("webhook delivery %d: %d, OrdersIngested %v, want %s: %s", i+1, rec.Code, got, want, rec.Body)
		}
	}

	// GIVEN no namespace: THEN new orders write no metric
	serve(api.Routes(routes("")), "POST", "/v1/orders", order("M-9", "c-9", "1.00"), auth)
	if got, _ := metricstest.Take(t, &logs, "OrdersIngested"); len(got) != 0 {
		t.Errorf("without a namespace: OrdersIngested %v, want none", got)
	}
}
