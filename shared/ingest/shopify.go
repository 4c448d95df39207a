package ingest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/store"
)

// maxWebhookID bounds the X-Shopify-Webhook-Id header kept for deduplication.
const maxWebhookID = 128

// ShopifyWebhook handles POST /v1/webhooks/shopify/orders?shop=SHOP_ID:
// Shopify's orders/create, orders/updated, orders/paid and orders/cancelled
// webhooks, verified with the shop's webhook secret.
func (h *Handler) ShopifyWebhook(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	log := h.log.With("request_id", req.RequestContext.RequestID, "route", "POST /v1/webhooks/shopify/orders")
	shopID := req.QueryStringParameters["shop"]
	signature := httpapi.Header(req, "X-Shopify-Hmac-Sha256")
	if shopID == "" || signature == "" {
		return httpapi.Unauthorized("a Shopify webhook needs ?shop=SHOP_ID and an X-Shopify-Hmac-Sha256 header"), nil
	}
	sh, err := h.auth.shop(ctx, shopID)
	if errors.Is(err, store.ErrNotFound) {
		return httpapi.Unauthorized("the webhook signature is not valid"), nil
	}
	if err != nil {
		log.ErrorContext(ctx, "look up shop", "error", err)
		return unavailable(), nil
	}
	log = log.With("shop_id", sh.ID)
	body, p := httpapi.JSONBody(req)
	if p != nil {
		return p.Response(), nil
	}
	if !ValidShopifySignature(body, signature, sh.WebhookSecret) {
		return httpapi.Unauthorized("the webhook signature is not valid"), nil
	}
	topic := httpapi.Header(req, "X-Shopify-Topic")
	if !strings.HasPrefix(topic, "orders/") || topic == "orders/delete" {
		log.InfoContext(ctx, "webhook ignored", "topic", topic)
		return httpapi.JSON(http.StatusOK, Result{Status: "ignored"}), nil
	}
	webhookID := httpapi.Header(req, "X-Shopify-Webhook-Id")
	if len(webhookID) > maxWebhookID {
		return httpapi.NewProblem(http.StatusBadRequest, "X-Shopify-Webhook-Id is too long").Response(), nil
	}

	o, ignored, err := order.ParseShopify(body, order.Rules{Currency: sh.Currency, Now: h.now()})
	if err != nil {
		return parseProblem(err).Response(), nil
	}
	if ignored != "" {
		log.InfoContext(ctx, "webhook ignored", "topic", topic, "reason", ignored)
		return httpapi.JSON(http.StatusOK, Result{OrderID: o.ID, Status: "ignored"}), nil
	}
	o.Source = order.SourceShopify
	results, usage := h.store(ctx, log, sh, []order.Item{{Order: o}}, webhookID)
	r := results[0]
	log.InfoContext(ctx, "webhook ingested", "topic", topic, "order_id", r.OrderID, "customer_id", r.CustomerID,
		"status", r.Status, "round_trips", usage.RoundTrips, "write_units", usage.WriteUnits)
	if r.Error != nil {
		return r.Error.Response(), nil
	}
	return httpapi.JSON(http.StatusOK, r), nil
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
