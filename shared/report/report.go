// Package report serves what the nightly job computed, to the shop that
// owns it: a customer's figures and scores (GET /v1/customers/{id}), the
// scored customers by segment and band (GET /v1/customers), the shop's KPIs
// and their history (GET /v1/report), and erasure (DELETE
// /v1/customers/{id}). Every route is authenticated with the shop's API key
// and sees only that shop's data.
package report

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
)

// Store is what the routes read (and, for erasure, delete).
type Store interface {
	Customer(ctx context.Context, sh shop.Shop, customerID string) (customer.Summary, error)
	Score(ctx context.Context, sh shop.Shop, customerID string) (scores.Score, error)
	Scores(ctx context.Context, sh shop.Shop, f scores.Filter, after *scores.Pos, limit int) ([]scores.Score, *scores.Pos, error)
	Days(ctx context.Context, sh shop.Shop, n int) ([]scores.Day, error)
	EraseCustomer(ctx context.Context, sh shop.Shop, customerID string) error
}

// Deps is what the routes need.
type Deps struct {
	Store Store
	Auth  *httpapi.Auth
}

// Limits of the listing and the history. A customer id longer than
// ingestion accepts (in bytes, with room for multi-byte characters) cannot
// exist: it is a 404 without a lookup.
const (
	maxCustomerID = 4 * 128

	DefaultLimit = 100
	MaxLimit     = 1000
	DefaultDays  = 30
	MaxDays      = 366
)

// Segments and Bands are the values the listing filters on (the scoring
// package's segments and churn-risk bands; a test keeps them in step).
var (
	Segments = []string{"champions", "loyal", "active", "promising", "new", "needs_attention",
		"almost_lost", "at_risk", "previously_loyal", "dormant", "prospects"}
	Bands = []string{"low", "medium", "high"}
)

// Routes registers the routes on m.
func Routes(m *httpapi.Mux, d Deps) {
	h := &handler{store: d.Store}
	auth := d.Auth.RequireKey
	m.Handle("GET /v1/customers/{id}", auth(http.HandlerFunc(h.getCustomer)))
	m.Handle("DELETE /v1/customers/{id}", auth(http.HandlerFunc(h.deleteCustomer)))
	m.Handle("GET /v1/customers", auth(http.HandlerFunc(h.listCustomers)))
	m.Handle("GET /v1/report", auth(http.HandlerFunc(h.getReport)))
}

type handler struct{ store Store }

// CustomerView is GET /v1/customers/{id}: the customer's summary figures
// and, once scored, their scores (the export's columns), money in the
// shop's currency units.
type CustomerView struct {
	CustomerID       string     `json:"customer_id"`
	Currency         string     `json:"currency"`
	Email            string     `json:"email,omitempty"`
	FirstName        string     `json:"first_name,omitempty"`
	AcceptsMarketing bool       `json:"accepts_marketing"`
	FirstPurchaseDay string     `json:"first_purchase_day,omitempty"`
	LastPurchaseDay  string     `json:"last_purchase_day,omitempty"`
	PurchaseDays     int        `json:"purchase_days"`
	PaidOrders       int        `json:"paid_orders"`
	TotalSpend       Money      `json:"total_spend"`
	RepeatSpend      Money      `json:"repeat_spend"`
	LastItems        []ItemView `json:"last_items"`
	Scored           bool       `json:"scored"`
	*ScoreView
}

// ItemView is one line item of the latest paid order.
type ItemView struct {
	SKU      string `json:"sku,omitempty"`
	Title    string `json:"title"`
	Quantity int64  `json:"quantity"`
	Price    Money  `json:"price"`
}

// ScoreView is a customer's scores as the API and the export show them:
// scores.Score with money in currency units.
type ScoreView struct {
	CustomerID            string  `json:"customer_id"`
	AsOf                  string  `json:"as_of"`
	Model                 string  `json:"model"`
	PAlive                float64 `json:"p_alive"`
	ChurnRisk             float64 `json:"churn_risk"`
	ChurnBand             string  `json:"churn_band"`
	ExpectedPurchases30d  float64 `json:"expected_purchases_30d"`
	ExpectedPurchases90d  float64 `json:"expected_purchases_90d"`
	ExpectedPurchases365d float64 `json:"expected_purchases_365d"`
	ExpectedOrderValue    Money   `json:"expected_order_value"`
	CLV                   Money   `json:"clv"`
	NextOrderDate         string  `json:"next_order_date"`
	RScore                int     `json:"r_score"`
	FScore                int     `json:"f_score"`
	MScore                int     `json:"m_score"`
	Segment               string  `json:"segment"`
	SpendTier             string  `json:"spend_tier"`
}

// Money is an amount in currency units, rounded to the currency's decimals
// ("36.27" USD, "1500" JPY), written as a JSON number.
type Money = json.Number

// ToMoney converts minor units to currency units of currency.
func ToMoney(minor float64, currency string) Money {
	exp, ok := order.Exponent(currency)
	if !ok {
		exp = 2
	}
	v := minor / math.Pow10(exp)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return Money(strconv.FormatFloat(v, 'f', exp, 64))
}

// View is a score as shown, money in currency's units.
func View(s scores.Score, currency string) ScoreView {
	return ScoreView{
		CustomerID: s.CustomerID, AsOf: s.AsOf, Model: s.Model,
		PAlive: round(s.PAlive, 6), ChurnRisk: round(s.ChurnRisk, 6), ChurnBand: s.ChurnBand,
		ExpectedPurchases30d: round(s.ExpectedPurchases30d, 6), ExpectedPurchases90d: round(s.ExpectedPurchases90d, 6),
		ExpectedPurchases365d: round(s.ExpectedPurchases365d, 6),
		ExpectedOrderValue:    ToMoney(s.ExpectedOrderValue, currency), CLV: ToMoney(s.CLV, currency),
		NextOrderDate: s.NextOrderDate, RScore: s.Recency, FScore: s.Frequency, MScore: s.Monetary,
		Segment: s.Segment, SpendTier: s.SpendTier,
	}
}

func round(v float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(v*p) / p
}

func (h *handler) getCustomer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sh, _ := httpapi.ShopFrom(ctx)
	id := r.PathValue("id")
	if len(id) > maxCustomerID {
		writeError(w, r, customer.ErrNotFound)
		return
	}
	sum, err := h.store.Customer(ctx, sh, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	v := CustomerView{
		CustomerID: sum.CustomerID, Currency: sum.Currency, Email: sum.Email, FirstName: sum.FirstName,
		AcceptsMarketing: sum.AcceptsMarketing, FirstPurchaseDay: sum.FirstDay, LastPurchaseDay: sum.LastDay,
		PurchaseDays: sum.PurchaseDays, PaidOrders: sum.PaidOrders,
		TotalSpend: ToMoney(float64(sum.TotalSpend), sum.Currency), RepeatSpend: ToMoney(float64(sum.RepeatSpend), sum.Currency),
		LastItems: []ItemView{},
	}
	for _, li := range sum.LastItems {
		v.LastItems = append(v.LastItems, ItemView{SKU: li.SKU, Title: li.Title, Quantity: li.Quantity, Price: ToMoney(float64(li.Price), sum.Currency)})
	}
	sc, err := h.store.Score(ctx, sh, id)
	switch {
	case err == nil:
		view := View(sc, sum.Currency)
		v.Scored, v.ScoreView = true, &view
	case !errors.Is(err, customer.ErrNotFound):
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
}

func (h *handler) deleteCustomer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sh, _ := httpapi.ShopFrom(ctx)
	if len(r.PathValue("id")) > maxCustomerID {
		writeError(w, r, customer.ErrNotFound)
		return
	}
	if err := h.store.EraseCustomer(ctx, sh, r.PathValue("id")); err != nil {
		writeError(w, r, err)
		return
	}
	httpapi.Log(ctx).InfoContext(ctx, "customer erased", "customer_id", r.PathValue("id"))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// ListView is GET /v1/customers: a page of scored customers and, when
// there are more, the cursor of the next page.
type ListView struct {
	Customers  []ScoreView `json:"customers"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

func (h *handler) listCustomers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sh, _ := httpapi.ShopFrom(ctx)
	q, p := queryParams(r, "segment", "band", "limit", "cursor")
	if p != nil {
		p.Write(w)
		return
	}
	f := scores.Filter{Segment: q.Get("segment"), Band: q.Get("band")}
	if f.Segment != "" && !slices.Contains(Segments, f.Segment) {
		badParam("segment", "must be one of "+fmt.Sprint(Segments)).Write(w)
		return
	}
	if f.Band != "" && !slices.Contains(Bands, f.Band) {
		badParam("band", "must be one of "+fmt.Sprint(Bands)).Write(w)
		return
	}
	limit, p := intParam(q, "limit", DefaultLimit, 1, MaxLimit)
	if p != nil {
		p.Write(w)
		return
	}
	var after *scores.Pos
	if c := q.Get("cursor"); c != "" {
		shards := sh.Shards
		if shards <= 0 {
			shards = shop.DefaultShards
		}
		pos, err := decodeCursor(c, shards)
		if err != nil {
			badParam("cursor", "is not a cursor this listing returned").Write(w)
			return
		}
		after = &pos
	}
	page, next, err := h.store.Scores(ctx, sh, f, after, limit)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	v := ListView{Customers: make([]ScoreView, 0, len(page))}
	for _, s := range page {
		v.Customers = append(v.Customers, View(s, sh.Currency))
	}
	if next != nil {
		v.NextCursor = encodeCursor(*next)
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
}

func (h *handler) getReport(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sh, _ := httpapi.ShopFrom(ctx)
	q, p := queryParams(r, "days")
	if p != nil {
		p.Write(w)
		return
	}
	n, p := intParam(q, "days", DefaultDays, 1, MaxDays)
	if p != nil {
		p.Write(w)
		return
	}
	days, err := h.store.Days(ctx, sh, n)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if len(days) == 0 {
		httpapi.NewProblem(http.StatusNotFound, "no report yet: the nightly job has not scored this shop").Write(w)
		return
	}
	out, err := Document(sh, days)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// Document is the report: the latest day's KPIs and model at the top
// level, with shop_id and currency, and "history", every day newest first
// without the model (the latest carries it).
func Document(sh shop.Shop, days []scores.Day) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	if err := json.Unmarshal(days[0].Data, &out); err != nil {
		return nil, fmt.Errorf("decode day %s: %w", days[0].AsOf, err)
	}
	history := make([]map[string]json.RawMessage, 0, len(days))
	for _, d := range days {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(d.Data, &m); err != nil {
			return nil, fmt.Errorf("decode day %s: %w", d.AsOf, err)
		}
		delete(m, "model")
		history = append(history, m)
	}
	var err error
	if out["history"], err = json.Marshal(history); err != nil {
		return nil, err
	}
	out["shop_id"], _ = json.Marshal(sh.ID)
	out["currency"], _ = json.Marshal(sh.Currency)
	return out, nil
}

// writeError answers a customer lookup's error: an unknown customer (or
// another shop's) is a 404 that says only that.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, customer.ErrNotFound) {
		httpapi.NewProblem(http.StatusNotFound, "no customer with that id in this shop").Write(w)
		return
	}
	httpapi.WriteError(w, r, err)
}

func badParam(name, detail string) *httpapi.Problem {
	p := httpapi.NewProblem(http.StatusBadRequest, "query parameter "+name+" "+detail)
	p.Errors = []httpapi.FieldError{{Pointer: "?" + name, Detail: detail}}
	return p
}

// queryParams parses the query string strictly: a malformed one, an
// unknown parameter, a repeated one or an empty value is a 400 naming it.
func queryParams(r *http.Request, known ...string) (url.Values, *httpapi.Problem) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, httpapi.NewProblem(http.StatusBadRequest, "the query string is malformed: "+err.Error())
	}
	if p := unknownParams(q, known...); p != nil {
		return nil, p
	}
	for _, name := range known {
		if v, ok := q[name]; ok && v[0] == "" {
			return nil, badParam(name, "is empty (leave it out for the default)")
		}
	}
	return q, nil
}

func unknownParams(q url.Values, known ...string) *httpapi.Problem {
	for name := range q {
		if !slices.Contains(known, name) {
			return badParam(name, "is not a parameter of this route (it takes "+fmt.Sprint(known)+")")
		}
	}
	for _, name := range known {
		if len(q[name]) > 1 {
			return badParam(name, "is given more than once")
		}
	}
	return nil
}

func intParam(q url.Values, name string, def, lo, hi int) (int, *httpapi.Problem) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badParam(name, fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
	}
	return n, nil
}

// A cursor is the base64url JSON of the last position returned; it only
// ever leads into the caller's own shop's partitions.
func encodeCursor(p scores.Pos) string {
	b, _ := json.Marshal([]any{p.Shard, p.CustomerID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string, shards int) (scores.Pos, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return scores.Pos{}, err
	}
	var v []json.RawMessage
	if err := json.Unmarshal(b, &v); err != nil || len(v) != 2 {
		return scores.Pos{}, errors.New("not a cursor")
	}
	var p scores.Pos
	// A customer id is "" (the start of a shard) or what ingestion accepts (at most MaxIDLength
	// characters, no "/"): anything else never came from encodeCursor, and
	// DynamoDB would refuse an overlong key with an error that looks
	// transient.
	if string(v[0]) == "null" || string(v[1]) == "null" ||
		json.Unmarshal(v[0], &p.Shard) != nil || json.Unmarshal(v[1], &p.CustomerID) != nil ||
		p.Shard < 0 || p.Shard >= shards ||
		utf8.RuneCountInString(p.CustomerID) > order.MaxIDLength || strings.Contains(p.CustomerID, "/") {
		return scores.Pos{}, errors.New("not a cursor")
	}
	return p, nil
}
