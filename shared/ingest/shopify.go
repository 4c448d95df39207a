package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
)

// maxWebhookID bounds the X-Shopify-Webhook-Id header kept for deduplication;
// maxShopID bounds ?shop= before it is looked up (ids are "shop_" and 12
// characters), so a forged id cannot turn into a storage error; so does
// refusing a "#" (no shop id has one), without which a forged id could
// name a campaign partition, which the ingest function's role is denied.
const (
	maxWebhookID = 128
	maxShopID    = 64
)

// shopifyWebhook handles POST /v1/webhooks/shopify/orders?shop=SHOP_ID:
// Shopify's orders/create, orders/updated, orders/paid and orders/cancelled
// webhooks. Until the signature is verified, every answer is the same for
// a real and an unknown shop (401, or 413 for any oversized body), so
// callers without the secret learn nothing; only then are the body's media
// type, the delivery's shop domain and the order itself checked.
func (h *handler) shopifyWebhook(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	shops, signatures := r.URL.Query()["shop"], r.Header.Values("X-Shopify-Hmac-Sha256")
	if len(shops) != 1 || len(signatures) != 1 {
		// Two shops or two signatures: which is meant is not ours to guess.
		shops, signatures = []string{""}, []string{""}
	}
	shopID, signature := shops[0], signatures[0]
	if shopID == "" || signature == "" || len(shopID) > maxShopID || strings.Contains(shopID, "#") {
		httpapi.Unauthorized("a Shopify webhook needs ?shop=SHOP_ID and an X-Shopify-Hmac-Sha256 header").Write(w)
		return
	}
	body, p := httpapi.ReadBody(w, r)
	if p != nil {
		p.Write(w)
		return
	}
	sh, err := h.auth.Shop(ctx, shopID)
	switch {
	case errors.Is(err, shop.ErrNotFound):
		badSignature().Write(w)
		return
	case err != nil:
		httpapi.WriteError(w, r, err)
		return
	}
	if !ValidShopifySignature(body, signature, sh.WebhookSecret) {
		badSignature().Write(w)
		return
	}
	ctx = httpapi.WithLogAttrs(ctx, "shop_id", sh.ID)
	log := httpapi.Log(ctx)
	if p := checkShopDomain(sh, r.Header.Get("X-Shopify-Shop-Domain")); p != nil {
		log.WarnContext(ctx, "webhook refused", "reason", p.Detail)
		p.Write(w)
		return
	}
	if p := httpapi.CheckJSON(r); p != nil {
		p.Write(w)
		return
	}
	topic := r.Header.Get("X-Shopify-Topic")
	if !strings.HasPrefix(topic, "orders/") || topic == "orders/delete" {
		log.InfoContext(ctx, "webhook ignored", "topic", topic)
		httpapi.WriteJSON(w, http.StatusOK, Result{Status: "ignored"})
		return
	}
	webhookID := r.Header.Get("X-Shopify-Webhook-Id")
	if len(webhookID) > maxWebhookID {
		httpapi.NewProblem(http.StatusBadRequest, "X-Shopify-Webhook-Id is too long").Write(w)
		return
	}
	o, ignored, err := order.ParseShopify(body, order.Rules{Currency: sh.Currency, Now: h.now()})
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if ignored != "" {
		log.InfoContext(ctx, "webhook ignored", "topic", topic, "reason", ignored)
		httpapi.WriteJSON(w, http.StatusOK, Result{OrderID: o.ID, Status: "ignored"})
		return
	}
	o.Source = order.SourceShopify
	results, usage := h.store(ctx, sh, []order.Item{{Order: o}}, webhookID)
	h.ingested(ctx, results)
	res := results[0]
	log.InfoContext(ctx, "webhook ingested", "topic", topic, "order_id", res.OrderID, "customer_id", res.CustomerID,
		"status", res.Status, "round_trips", usage.RoundTrips, "write_units", usage.WriteUnits)
	if res.Error != nil {
		res.Error.Write(w)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
}

func badSignature() *httpapi.Problem {
	return httpapi.Unauthorized("the webhook signature is not valid")
}

// checkShopDomain refuses a delivery whose X-Shopify-Shop-Domain is not the
// shop's bound domain: a Shopify app signs every store's webhooks with one
// secret, so the signature alone does not say which shop a delivery is for.
func checkShopDomain(sh shop.Shop, domain string) *httpapi.Problem {
	switch {
	case sh.ShopifyDomain == "":
		return httpapi.NewProblem(http.StatusForbidden,
			"this shop is not bound to a Shopify domain: run 'winback shop set-webhook-secret --shopify-domain' first")
	case !strings.EqualFold(strings.TrimSpace(domain), sh.ShopifyDomain):
		return httpapi.NewProblem(http.StatusForbidden, "the delivery's X-Shopify-Shop-Domain is not this shop's Shopify domain")
	}
	return nil
}

// ValidShopifySignature reports whether signature is the base64 HMAC-SHA256
// of body under secret, comparing in constant time.
func ValidShopifySignature(body []byte, signature, secret string) bool {
	if secret == "" {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}
