// Package ingest receives shops' orders over HTTP: POST /v1/orders (one
// order or a batch, API-key authenticated) and the Shopify order webhook
// (HMAC verified). It validates, stores each order with its customer's
// summary, and answers with per-order results or RFC 9457 problems.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// Orders stores orders with their customers' summaries.
type Orders interface {
	PutOrder(ctx context.Context, sh shop.Shop, o order.Order, webhookID string) (store.PutResult, error)
	// PutOrders stores up to store.MaxGroup orders of one customer at once.
	PutOrders(ctx context.Context, sh shop.Shop, orders []order.Order) ([]store.Outcome, store.Usage, error)
}

// Shops looks up shops and their API keys.
type Shops interface {
	Shop(ctx context.Context, id string) (shop.Shop, error)
	APIKey(ctx context.Context, keyID string) (shopID, secretHash string, err error)
}

// Handler serves the ingestion routes.
type Handler struct {
	orders Orders
	auth   *authenticator
	now    func() time.Time
	log    *slog.Logger
	// parallel bounds how many customers of one batch are written at once.
	parallel int
}

// New returns a handler over the given stores, logging to log.
func New(orders Orders, shops Shops, log *slog.Logger) *Handler {
	return &Handler{
		orders:   orders,
		auth:     newAuthenticator(shops, time.Minute),
		now:      time.Now,
		log:      log,
		parallel: 8,
	}
}

// Routes registers the handler's routes on a router.
func (h *Handler) Routes(r *httpapi.Router) {
	r.Handle(http.MethodPost, "/v1/orders", h.PostOrders)
	r.Handle(http.MethodPost, "/v1/webhooks/shopify/orders", h.ShopifyWebhook)
}

// Result is what happened to one order of a request.
type Result struct {
	OrderID    string `json:"order_id,omitempty"`
	CustomerID string `json:"customer_id,omitempty"`
	// Status is what happened: created, updated, unchanged, stale,
	// duplicate, ignored or rejected (then Error says why).
	Status string           `json:"result"`
	Error  *httpapi.Problem `json:"error,omitempty"`
}

// rejected is the Result status of an order that was not stored.
const rejected = "rejected"

// BatchResponse is the body answering a batch.
type BatchResponse struct {
	Results []Result       `json:"results"`
	Counts  map[string]int `json:"counts"`
}

// PostOrders handles POST /v1/orders.
func (h *Handler) PostOrders(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	log := h.log.With("request_id", req.RequestContext.RequestID, "route", "POST /v1/orders")
	token, ok := httpapi.BearerToken(req)
	if !ok {
		return httpapi.Unauthorized("send your API key as 'Authorization: Bearer <key>'"), nil
	}
	sh, err := h.auth.shopForKey(ctx, token)
	if errors.Is(err, shop.ErrBadKey) {
		return httpapi.Unauthorized("the API key is not valid"), nil
	}
	if err != nil {
		log.ErrorContext(ctx, "authenticate", "error", err)
		return unavailable(), nil
	}
	log = log.With("shop_id", sh.ID)
	body, p := httpapi.JSONBody(req)
	if p != nil {
		return p.Response(), nil
	}
	batch, err := order.ParseBatch(body, order.Rules{Currency: sh.Currency, Now: h.now()})
	if err != nil {
		return parseProblem(err).Response(), nil
	}

	results, usage := h.store(ctx, log, sh, batch.Items, "")
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Status]++
	}
	log.InfoContext(ctx, "orders ingested", "orders", len(results), "counts", counts,
		"round_trips", usage.RoundTrips, "read_units", usage.ReadUnits, "write_units", usage.WriteUnits)

	if batch.Single {
		r := results[0]
		if r.Error != nil {
			return r.Error.Response(), nil
		}
		status := http.StatusOK
		if r.Status == string(customer.Created) {
			status = http.StatusCreated
		}
		return httpapi.JSON(status, r), nil
	}
	if counts[rejected] == len(results) && allInvalid(batch.Items) {
		return batchInvalid(batch.Items).Response(), nil
	}
	status := http.StatusOK
	if counts[string(customer.Created)] == len(results) {
		status = http.StatusCreated
	}
	return httpapi.JSON(status, BatchResponse{Results: results, Counts: counts}), nil
}

// store writes the valid items, customers in parallel and each customer's
// orders in request order, and returns a result per item in request order.
func (h *Handler) store(ctx context.Context, log *slog.Logger, sh shop.Shop, items []order.Item, webhookID string) ([]Result, store.Usage) {
	results := make([]Result, len(items))
	groups := map[string][]int{}
	var keys []string
	for i, it := range items {
		if it.Err != nil {
			results[i] = Result{OrderID: it.Order.ID, Status: rejected, Error: parseProblem(it.Err)}
			continue
		}
		id := it.Order.Customer.ID
		if _, ok := groups[id]; !ok {
			keys = append(keys, id)
		}
		groups[id] = append(groups[id], i)
	}

	var (
		mu    sync.Mutex
		usage store.Usage
		wg    sync.WaitGroup
		sem   = make(chan struct{}, h.parallel)
	)
	for _, id := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func(idx []int) {
			defer func() { <-sem; wg.Done() }()
			for len(idx) > 0 {
				chunk := idx[:min(len(idx), store.MaxGroup)]
				idx = idx[len(chunk):]
				u := h.storeGroup(ctx, log, sh, items, chunk, webhookID, results)
				mu.Lock()
				usage.Add(u)
				mu.Unlock()
			}
		}(groups[id])
	}
	wg.Wait()
	return results, usage
}

// storeGroup stores the items at idx, all of one customer, in one read and
// one transaction (a webhook delivery is always a single order), and fills
// in their results.
func (h *Handler) storeGroup(ctx context.Context, log *slog.Logger, sh shop.Shop, items []order.Item, idx []int, webhookID string, results []Result) store.Usage {
	orders := make([]order.Order, len(idx))
	for k, i := range idx {
		orders[k] = items[i].Order
	}
	var outs []store.Outcome
	var usage store.Usage
	var err error
	if webhookID != "" || len(orders) == 1 {
		res, perr := h.orders.PutOrder(ctx, sh, orders[0], webhookID)
		outs, usage = []store.Outcome{{Change: res.Change, Err: perr}}, res.Usage
	} else {
		outs, usage, err = h.orders.PutOrders(ctx, sh, orders)
	}
	for k, i := range idx {
		o := orders[k]
		results[i] = Result{OrderID: o.ID, CustomerID: o.Customer.ID}
		switch {
		case err != nil:
			results[i].Status, results[i].Error = rejected, storeProblem(ctx, log, o.ID, err)
		case outs[k].Err != nil:
			results[i].Status, results[i].Error = rejected, storeProblem(ctx, log, o.ID, outs[k].Err)
		default:
			results[i].Status = string(outs[k].Change)
		}
	}
	return usage
}

func storeProblem(ctx context.Context, log *slog.Logger, orderID string, err error) *httpapi.Problem {
	if errors.Is(err, customer.ErrConflict) {
		return &httpapi.Problem{
			Type: httpapi.TypeConflict, Title: "Order conflicts with a stored order", Status: http.StatusConflict,
			Detail: "order " + orderID + " was already stored with a different customer, creation time or currency, " +
				"or it was refunded or cancelled: re-send it with a newer updated_at if that is really its new state",
		}
	}
	log.ErrorContext(ctx, "store order", "order_id", orderID, "error", err)
	return unavailableProblem()
}

func unavailableProblem() *httpapi.Problem {
	return &httpapi.Problem{
		Type: httpapi.TypeUnavailable, Title: "Temporarily unavailable", Status: http.StatusServiceUnavailable,
		Detail: "the order was not stored; retry the request (it is idempotent)",
	}
}

func unavailable() events.APIGatewayV2HTTPResponse {
	resp := unavailableProblem().Response()
	resp.Headers["Retry-After"] = "1"
	return resp
}

// parseProblem maps a parse error to its problem: 400 for malformed JSON,
// 422 with field pointers for invalid content.
func parseProblem(err error) *httpapi.Problem {
	var ve *order.ValidationError
	if errors.As(err, &ve) {
		p := &httpapi.Problem{
			Type: httpapi.TypeValidation, Title: "Invalid order", Status: http.StatusUnprocessableEntity,
			Detail: fmt.Sprintf("%d invalid field(s); each is listed in errors with a JSON pointer into the request body", len(ve.Fields)),
		}
		for _, f := range ve.Fields {
			p.Errors = append(p.Errors, httpapi.FieldError{Pointer: f.Pointer, Detail: f.Detail})
		}
		return p
	}
	if errors.Is(err, order.ErrMalformed) {
		detail := strings.TrimPrefix(err.Error(), order.ErrMalformed.Error()+": ")
		return &httpapi.Problem{Type: httpapi.TypeMalformed, Title: "Malformed JSON", Status: http.StatusBadRequest, Detail: detail}
	}
	return httpapi.NewProblem(http.StatusBadRequest, "the request could not be read")
}

func allInvalid(items []order.Item) bool {
	for _, it := range items {
		if it.Err == nil {
			return false
		}
	}
	return true
}

// batchInvalid is the 422 answering a batch in which no order was valid:
// every order's field errors in one problem.
func batchInvalid(items []order.Item) *httpapi.Problem {
	p := &httpapi.Problem{
		Type: httpapi.TypeValidation, Title: "Invalid orders", Status: http.StatusUnprocessableEntity,
		Detail: "no order in the batch is valid; nothing was stored",
	}
	for _, it := range items {
		p.Errors = append(p.Errors, parseProblem(it.Err).Errors...)
	}
	return p
}
