// Package ingest receives shops' orders over HTTP: POST /v1/orders (one
// order or a batch, API-key authenticated) and the Shopify order webhook
// (HMAC verified). It validates, stores each order with its customer's
// summary, and answers with per-order results or RFC 9457 problems.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/metrics"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
)

// Orders stores orders with their customers' summaries.
type Orders interface {
	// PutOrders stores up to customer.MaxGroup orders of one customer, in
	// order, with one outcome each; webhookID (a single order only) makes a
	// second delivery of the same id a customer.Duplicate. err is for
	// failures of the whole group: nothing of it was stored.
	PutOrders(ctx context.Context, sh shop.Shop, orders []order.Order, webhookID string) ([]customer.Outcome, capacity.Usage, error)
}

// Deps is what the ingestion routes need.
type Deps struct {
	Orders Orders
	Auth   *httpapi.Auth
	// Now is the clock orders are checked against (nil: time.Now).
	Now func() time.Time
	// MetricsNamespace is where the OrdersIngested metric goes ("": none).
	MetricsNamespace string
}

// Routes registers POST /v1/orders and the Shopify order webhook on m.
func Routes(m *httpapi.Mux, d Deps) {
	h := &handler{orders: d.Orders, auth: d.Auth, now: d.Now, parallel: 8, metrics: d.MetricsNamespace}
	if h.now == nil {
		h.now = time.Now
	}
	m.Handle("POST /v1/orders", d.Auth.RequireKey(http.HandlerFunc(h.postOrders)))
	m.HandleFunc("POST /v1/webhooks/shopify/orders", h.shopifyWebhook)
}

type handler struct {
	orders Orders
	auth   *httpapi.Auth
	now    func() time.Time
	// parallel bounds how many customers of one batch are written at once.
	parallel int
	// metrics is the namespace of the OrdersIngested metric ("": none).
	metrics string
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

// postOrders handles POST /v1/orders for the authenticated shop.
func (h *handler) postOrders(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sh, _ := httpapi.ShopFrom(ctx)
	body, p := httpapi.JSONBody(w, r)
	if p != nil {
		p.Write(w)
		return
	}
	batch, err := order.ParseBatch(body, order.Rules{Currency: sh.Currency, Now: h.now()})
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	results, usage := h.store(ctx, sh, batch.Items, "")
	h.ingested(ctx, results)
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Status]++
	}
	httpapi.Log(ctx).InfoContext(ctx, "orders ingested", "orders", len(results), "counts", counts,
		"round_trips", usage.RoundTrips, "read_units", usage.ReadUnits, "write_units", usage.WriteUnits)
	if batch.Single {
		res := results[0]
		if res.Error != nil {
			res.Error.Write(w)
			return
		}
		status := http.StatusOK
		if res.Status == string(customer.Created) {
			status = http.StatusCreated
		}
		httpapi.WriteJSON(w, status, res)
		return
	}
	if counts[rejected] == len(results) && allInvalid(batch.Items) {
		batchInvalid(batch.Items).Write(w)
		return
	}
	if allUnavailable(results) { // nothing was stored, and a retry may store it all
		httpapi.Unavailable().Write(w)
		return
	}
	status := http.StatusOK
	if counts[string(customer.Created)] == len(results) {
		status = http.StatusCreated
	}
	httpapi.WriteJSON(w, status, BatchResponse{Results: results, Counts: counts})
}

// store writes the valid items, customers in parallel and each customer's
// orders in request order, and returns a result per item in request order.
func (h *handler) store(ctx context.Context, sh shop.Shop, items []order.Item, webhookID string) ([]Result, capacity.Usage) {
	results := make([]Result, len(items))
	groups := map[string][]int{}
	var keys []string
	for i, it := range items {
		if it.Err != nil {
			results[i] = Result{OrderID: it.Order.ID, Status: rejected, Error: httpapi.ProblemFor(it.Err)}
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
		usage capacity.Usage
		wg    sync.WaitGroup
		sem   = make(chan struct{}, h.parallel)
	)
	for _, id := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func(idx []int) {
			defer func() { <-sem; wg.Done() }()
			defer func() { // a panic here would escape the mux's recover and kill the process
				if v := recover(); v != nil {
					httpapi.Log(ctx).ErrorContext(ctx, "store orders panicked", "panic", fmt.Sprint(v))
					for _, i := range idx {
						if results[i].Status == "" {
							results[i] = Result{OrderID: items[i].Order.ID, Status: rejected, Error: httpapi.NewProblem(http.StatusInternalServerError, "")}
						}
					}
				}
			}()
			for len(idx) > 0 {
				chunk := idx[:min(len(idx), customer.MaxGroup)]
				idx = idx[len(chunk):]
				u := h.storeGroup(ctx, sh, items, chunk, webhookID, results)
				mu.Lock()
				usage.Add(u)
				mu.Unlock()
			}
		}(groups[id])
	}
	wg.Wait()
	return results, usage
}

// ingested writes the OrdersIngested metric: how many of a request's
// orders were created or updated (nothing when none was).
func (h *handler) ingested(ctx context.Context, results []Result) {
	var n int64
	for _, r := range results {
		if r.Status == string(customer.Created) || r.Status == string(customer.Updated) {
			n++
		}
	}
	if n > 0 {
		metrics.Emit(ctx, httpapi.Log(ctx), h.metrics, nil, metrics.Count(metrics.OrdersIngested, n))
	}
}

// storeGroup stores the items at idx, all of one customer, in one read and
// one transaction, and fills in their results.
func (h *handler) storeGroup(ctx context.Context, sh shop.Shop, items []order.Item, idx []int, webhookID string, results []Result) capacity.Usage {
	orders := make([]order.Order, len(idx))
	for k, i := range idx {
		orders[k] = items[i].Order
	}
	outs, usage, err := h.orders.PutOrders(ctx, sh, orders, webhookID)
	for k, i := range idx {
		o := orders[k]
		results[i] = Result{OrderID: o.ID, CustomerID: o.Customer.ID}
		if err == nil {
			err = outs[k].Err
		}
		if err != nil {
			results[i].Status, results[i].Error = rejected, storeProblem(ctx, o.ID, err)
			continue
		}
		results[i].Status = string(outs[k].Change)
	}
	return usage
}

// storeProblem is the problem answering an order the store refused or
// failed to store, logged when the failure is ours.
func storeProblem(ctx context.Context, orderID string, err error) *httpapi.Problem {
	p := httpapi.ProblemFor(err)
	switch {
	case errors.Is(err, customer.ErrConflict):
		p.Detail = strings.Replace(p.Detail, "the order", "order "+orderID, 1)
	case p.Status >= 500:
		httpapi.Log(ctx).ErrorContext(ctx, "store order", "order_id", orderID, "error", err)
	}
	return p
}

// allUnavailable reports whether every order failed for a reason a retry may cure.
func allUnavailable(results []Result) bool {
	for _, r := range results {
		if r.Error == nil || r.Error.Status < 500 {
			return false
		}
	}
	return len(results) > 0
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
// the orders' field errors in one problem, at most httpapi.MaxListedErrors
// of them listed.
func batchInvalid(items []order.Item) *httpapi.Problem {
	p := &httpapi.Problem{
		Type: httpapi.TypeValidation, Title: "Invalid orders", Status: http.StatusUnprocessableEntity,
		Detail: "no order in the batch is valid; nothing was stored",
	}
	for _, it := range items {
		ip := httpapi.ProblemFor(it.Err)
		p.AddErrors(ip.Errors, ip.ErrorsOmitted)
	}
	return p
}
