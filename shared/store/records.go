package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
)

// Record structs are the items as stored; they are kept apart from the
// domain types so the table's layout can change without touching them.

type shopRecord struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	Type     string `dynamodbav:"type"`
	ShopID   string `dynamodbav:"shop_id"`
	Name     string `dynamodbav:"name"`
	Currency string `dynamodbav:"currency"`
	Timezone string `dynamodbav:"timezone"`
	Shards   int    `dynamodbav:"shards"`
	// WebhookSecret is the webhook secret in clear, as items written
	// before secrets were sealed hold it; winback secrets reseal seals it
	// into WebhookSecretSealed and removes it.
	WebhookSecret string `dynamodbav:"webhook_secret,omitempty"`
	// WebhookSecretSealed is the webhook secret sealed (package secrets)
	// for secrets.PurposeWebhookSecret and the shop.
	WebhookSecretSealed []byte `dynamodbav:"webhook_secret_sealed,omitempty"`
	ShopifyDomain       string `dynamodbav:"shopify_domain,omitempty"`
	CreatedAt           string `dynamodbav:"created_at"`
}

type apiKeyRecord struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Type       string `dynamodbav:"type"`
	ShopID     string `dynamodbav:"shop_id"`
	SecretHash string `dynamodbav:"secret_hash"`
	CreatedAt  string `dynamodbav:"created_at"`
}

type lineItemRecord struct {
	SKU      string `dynamodbav:"sku,omitempty"`
	Title    string `dynamodbav:"title"`
	Quantity int64  `dynamodbav:"quantity"`
	Price    int64  `dynamodbav:"price"`
}

// discountCodeRecord is one order.DiscountCode.
type discountCodeRecord struct {
	Code   string `dynamodbav:"code"`
	Amount int64  `dynamodbav:"amount,omitempty"`
}

type orderRecord struct {
	PK               string               `dynamodbav:"pk"`
	SK               string               `dynamodbav:"sk"`
	Type             string               `dynamodbav:"type"`
	OrderID          string               `dynamodbav:"order_id"`
	CustomerID       string               `dynamodbav:"customer_id"`
	Email            string               `dynamodbav:"email,omitempty"`
	FirstName        string               `dynamodbav:"first_name,omitempty"`
	AcceptsMarketing bool                 `dynamodbav:"accepts_marketing"`
	CreatedAt        string               `dynamodbav:"created_at"`
	UpdatedAt        string               `dynamodbav:"updated_at,omitempty"`
	Currency         string               `dynamodbav:"currency"`
	Total            int64                `dynamodbav:"total"`
	Refunded         int64                `dynamodbav:"refunded"`
	Status           string               `dynamodbav:"status"`
	LineItems        []lineItemRecord     `dynamodbav:"line_items"`
	Source           string               `dynamodbav:"source"`
	DiscountCodes    []discountCodeRecord `dynamodbav:"discount_codes,omitempty"`
	Hash             string               `dynamodbav:"hash"`
	StoredAt         string               `dynamodbav:"stored_at"`
}

// summaryRecord is a customer's summary. Orders maps each order's key
// (customer.OrderKey) to a compact entry (see encodeEntry); the other
// figures are derived from it and stored for the nightly job and for people
// reading the table. Txn is the ClientRequestToken of the transaction that
// wrote this version, so a store whose response got lost can recognise its
// own write.
type summaryRecord struct {
	PK               string            `dynamodbav:"pk"`
	SK               string            `dynamodbav:"sk"`
	Type             string            `dynamodbav:"type"`
	CustomerID       string            `dynamodbav:"customer_id"`
	Currency         string            `dynamodbav:"currency"`
	Email            string            `dynamodbav:"email,omitempty"`
	FirstName        string            `dynamodbav:"first_name,omitempty"`
	AcceptsMarketing bool              `dynamodbav:"accepts_marketing"`
	ProfileAt        int64             `dynamodbav:"profile_at"`
	ProfileKey       string            `dynamodbav:"profile_key"`
	Orders           map[string]string `dynamodbav:"orders"`
	LastItems        []lineItemRecord  `dynamodbav:"last_items"`
	LastItemsFrom    string            `dynamodbav:"last_items_from,omitempty"`
	FirstPurchase    string            `dynamodbav:"first_purchase,omitempty"`
	LastPurchase     string            `dynamodbav:"last_purchase,omitempty"`
	FirstDay         string            `dynamodbav:"first_day,omitempty"`
	LastDay          string            `dynamodbav:"last_day,omitempty"`
	PurchaseDays     int               `dynamodbav:"purchase_days"`
	RepeatDays       int               `dynamodbav:"repeat_days"`
	PaidOrders       int               `dynamodbav:"paid_orders"`
	TotalSpend       int64             `dynamodbav:"total_spend"`
	RepeatSpend      int64             `dynamodbav:"repeat_spend"`
	Version          int64             `dynamodbav:"version"`
	Txn              string            `dynamodbav:"txn,omitempty"`
}

const timeLayout = time.RFC3339Nano

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, s)
}

// toShopRecord is a shop's item with its webhook secret sealed.
func toShopRecord(s shop.Shop, sealedSecret []byte) shopRecord {
	return shopRecord{
		PK: shopPK(s.ID), SK: skShop, Type: "shop", ShopID: s.ID, Name: s.Name,
		Currency: s.Currency, Timezone: s.Timezone, Shards: s.Shards,
		WebhookSecretSealed: sealedSecret, ShopifyDomain: s.ShopifyDomain, CreatedAt: formatTime(s.CreatedAt),
	}
}

// shop is the record's shop with the webhook secret in clear if the item
// holds it so (the store opens a sealed one).
func (r shopRecord) shop() (shop.Shop, error) {
	created, err := parseTime(r.CreatedAt)
	if err != nil {
		return shop.Shop{}, fmt.Errorf("shop %s: created_at: %w", r.ShopID, err)
	}
	return shop.Shop{
		ID: r.ShopID, Name: r.Name, Currency: r.Currency, Timezone: r.Timezone,
		Shards: r.Shards, WebhookSecret: r.WebhookSecret, ShopifyDomain: r.ShopifyDomain, CreatedAt: created,
	}, nil
}

func toItemRecords(items []order.LineItem) []lineItemRecord {
	out := make([]lineItemRecord, len(items))
	for i, li := range items {
		out[i] = lineItemRecord(li)
	}
	return out
}

func fromItemRecords(items []lineItemRecord) []order.LineItem {
	if len(items) == 0 {
		return nil
	}
	out := make([]order.LineItem, len(items))
	for i, li := range items {
		out[i] = order.LineItem(li)
	}
	return out
}

func toOrderRecord(shopID string, o order.Order, storedAt time.Time) orderRecord {
	return orderRecord{
		PK: orderPK(shopID, customer.OrderKey(o.ID)), SK: skOrder, Type: "order",
		OrderID: o.ID, CustomerID: o.Customer.ID, Email: o.Customer.Email,
		FirstName: o.Customer.FirstName, AcceptsMarketing: o.Customer.AcceptsMarketing,
		CreatedAt: formatTime(o.CreatedAt), UpdatedAt: formatTime(o.UpdatedAt),
		Currency: o.Currency, Total: o.Total, Refunded: o.Refunded, Status: string(o.Status),
		LineItems: toItemRecords(o.LineItems), Source: string(o.Source),
		DiscountCodes: toCodeRecords(o.DiscountCodes), Hash: o.Hash(),
		StoredAt: formatTime(storedAt),
	}
}

func toCodeRecords(codes []order.DiscountCode) []discountCodeRecord {
	if len(codes) == 0 {
		return nil
	}
	out := make([]discountCodeRecord, len(codes))
	for i, c := range codes {
		out[i] = discountCodeRecord(c)
	}
	return out
}

func fromCodeRecords(codes []discountCodeRecord) []order.DiscountCode {
	if len(codes) == 0 {
		return nil
	}
	out := make([]order.DiscountCode, len(codes))
	for i, c := range codes {
		out[i] = order.DiscountCode(c)
	}
	return out
}

func (r orderRecord) order() (order.Order, error) {
	created, err := parseTime(r.CreatedAt)
	if err != nil {
		return order.Order{}, fmt.Errorf("order %s: created_at: %w", r.OrderID, err)
	}
	updated, err := parseTime(r.UpdatedAt)
	if err != nil {
		return order.Order{}, fmt.Errorf("order %s: updated_at: %w", r.OrderID, err)
	}
	return order.Order{
		ID: r.OrderID,
		Customer: order.Customer{
			ID: r.CustomerID, Email: r.Email, FirstName: r.FirstName, AcceptsMarketing: r.AcceptsMarketing,
		},
		CreatedAt: created, UpdatedAt: updated, Currency: r.Currency,
		Total: r.Total, Refunded: r.Refunded, Status: order.Status(r.Status),
		LineItems: fromItemRecords(r.LineItems), Source: order.Source(r.Source),
		DiscountCodes: fromCodeRecords(r.DiscountCodes),
	}, nil
}

var statusCodes = map[order.Status]byte{
	order.StatusPaid: 'p', order.StatusPending: 'n', order.StatusRefunded: 'r', order.StatusCancelled: 'c',
}

// encodeEntry writes a summary entry as its status code followed by the
// creation time in Unix seconds and the net value, both base 36, e.g.
// "psvmmc0.6wc" (paid, 2025-05-02T09:00:00Z, 89.40): about 11 bytes. An
// entry with discount codes goes on with "." and the discount in base 36,
// then the codes as a JSON array of strings, e.g.
// "psvmmc0.6wc.dw["WB-7KQ2-M9XD"]" (5.00 off): a code may hold any
// printable character, so it is quoted; entries without codes, nearly all
// of them, keep the short form.
func encodeEntry(e customer.Entry) string {
	b := make([]byte, 0, 16)
	b = append(b, statusCodes[e.Status])
	b = strconv.AppendInt(b, e.At, 36)
	b = append(b, '.')
	b = strconv.AppendInt(b, e.Net, 36)
	if len(e.Codes) > 0 || e.Discount != 0 {
		b = append(b, '.')
		b = strconv.AppendInt(b, e.Discount, 36)
		codes, _ := json.Marshal(append([]string{}, e.Codes...)) // strings always marshal; [] for none
		b = append(b, codes...)
	}
	return string(b)
}

func decodeEntry(s string) (customer.Entry, error) {
	if s == "" {
		return customer.Entry{}, fmt.Errorf("empty summary entry")
	}
	at, rest, ok := strings.Cut(s[1:], ".")
	if !ok {
		return customer.Entry{}, fmt.Errorf("bad summary entry %q", s)
	}
	net, discount, withCodes := strings.Cut(rest, ".")
	e := customer.Entry{}
	var err1, err2 error
	e.At, err1 = strconv.ParseInt(at, 36, 64)
	e.Net, err2 = strconv.ParseInt(net, 36, 64)
	if err1 != nil || err2 != nil {
		return customer.Entry{}, fmt.Errorf("bad summary entry %q", s)
	}
	if withCodes {
		i := strings.IndexByte(discount, '[')
		if i < 0 {
			return customer.Entry{}, fmt.Errorf("bad summary entry codes %q", s)
		}
		var err error
		if e.Discount, err = strconv.ParseInt(discount[:i], 36, 64); err != nil {
			return customer.Entry{}, fmt.Errorf("bad summary entry discount %q", s)
		}
		if err := json.Unmarshal([]byte(discount[i:]), &e.Codes); err != nil {
			return customer.Entry{}, fmt.Errorf("bad summary entry codes %q: %w", s, err)
		}
		if len(e.Codes) == 0 {
			e.Codes = nil
		}
	}
	for st, code := range statusCodes {
		if code == s[0] {
			e.Status = st
			return e, nil
		}
	}
	return customer.Entry{}, fmt.Errorf("bad summary entry status %q", s)
}

func toSummaryRecord(sh shop.Shop, s customer.Summary, version int64, txn string) summaryRecord {
	orders := make(map[string]string, len(s.Orders))
	for k, e := range s.Orders {
		orders[k] = encodeEntry(e)
	}
	return summaryRecord{
		PK: customerPK(sh, s.CustomerID), SK: customerSK(s.CustomerID), Type: "customer",
		CustomerID: s.CustomerID, Currency: s.Currency,
		Email: s.Email, FirstName: s.FirstName, AcceptsMarketing: s.AcceptsMarketing,
		ProfileAt: s.ProfileFrom.At, ProfileKey: s.ProfileFrom.Key,
		Orders: orders, LastItems: toItemRecords(s.LastItems), LastItemsFrom: s.LastItemsFrom,
		FirstPurchase: formatTime(s.FirstPurchase), LastPurchase: formatTime(s.LastPurchase),
		FirstDay: s.FirstDay, LastDay: s.LastDay, PurchaseDays: s.PurchaseDays,
		RepeatDays: s.RepeatDays(), PaidOrders: s.PaidOrders,
		TotalSpend: s.TotalSpend, RepeatSpend: s.RepeatSpend, Version: version, Txn: txn,
	}
}

func (r summaryRecord) summary() (customer.Summary, error) {
	s := customer.Summary{
		CustomerID: r.CustomerID, Currency: r.Currency,
		Email: r.Email, FirstName: r.FirstName, AcceptsMarketing: r.AcceptsMarketing,
		ProfileFrom: customer.Ref{At: r.ProfileAt, Key: r.ProfileKey},
		Orders:      make(map[string]customer.Entry, len(r.Orders)),
		LastItems:   fromItemRecords(r.LastItems), LastItemsFrom: r.LastItemsFrom,
		FirstDay: r.FirstDay, LastDay: r.LastDay, PurchaseDays: r.PurchaseDays,
		PaidOrders: r.PaidOrders, TotalSpend: r.TotalSpend, RepeatSpend: r.RepeatSpend,
	}
	for k, enc := range r.Orders {
		e, err := decodeEntry(enc)
		if err != nil {
			return customer.Summary{}, fmt.Errorf("customer %s: %w", r.CustomerID, err)
		}
		s.Orders[k] = e
	}
	var err error
	if s.FirstPurchase, err = parseTime(r.FirstPurchase); err != nil {
		return customer.Summary{}, fmt.Errorf("customer %s: first_purchase: %w", r.CustomerID, err)
	}
	if s.LastPurchase, err = parseTime(r.LastPurchase); err != nil {
		return customer.Summary{}, fmt.Errorf("customer %s: last_purchase: %w", r.CustomerID, err)
	}
	return s, nil
}

// runRecord is one shop's nightly run for one as-of day (scores.Run).
// Mapped and Scored are keyed by the shard as two digits; each entry and
// Model are set once per attempt (if_not_exists), Usage is added to. A
// Mapped entry carries the shard's inputs (scores.Run.Inputs) inside it,
// so both are set by the same write, and a run item written before inputs
// existed needs no new top-level map.
type runRecord struct {
	PK         string                 `dynamodbav:"pk"`
	SK         string                 `dynamodbav:"sk"`
	Type       string                 `dynamodbav:"type"`
	ShopID     string                 `dynamodbav:"shop_id"`
	AsOf       string                 `dynamodbav:"as_of"`
	Shards     int                    `dynamodbav:"shards"`
	Attempt    int                    `dynamodbav:"attempt"`
	Mapped     map[string]refRecord   `dynamodbav:"mapped"`
	Model      *refRecord             `dynamodbav:"model,omitempty"`
	Scored     map[string]refRecord   `dynamodbav:"scored"`
	Done       bool                   `dynamodbav:"done"`
	Failed     string                 `dynamodbav:"failed,omitempty"`
	StartedAt  string                 `dynamodbav:"started_at"`
	FinishedAt string                 `dynamodbav:"finished_at,omitempty"`
	Usage      map[string]usageRecord `dynamodbav:"usage"`
}

// refRecord is a scores.Ref; Inputs is only on a Mapped entry.
type refRecord struct {
	Digest    string     `dynamodbav:"digest"`
	Chunks    int        `dynamodbav:"chunks"`
	Customers int64      `dynamodbav:"customers"`
	Inputs    *refRecord `dynamodbav:"inputs,omitempty"`
}

func toRefRecord(ref scores.Ref) refRecord {
	return refRecord{Digest: ref.Digest, Chunks: ref.Chunks, Customers: ref.Customers}
}

func (r refRecord) ref() scores.Ref {
	return scores.Ref{Digest: r.Digest, Chunks: r.Chunks, Customers: r.Customers}
}

// usageRecord is a stage's capacity.Usage.
type usageRecord struct {
	RoundTrips       int     `dynamodbav:"round_trips"`
	ReadUnits        float64 `dynamodbav:"read_units"`
	WriteUnits       float64 `dynamodbav:"write_units"`
	BilledReadUnits  float64 `dynamodbav:"billed_read_units"`
	BilledWriteUnits float64 `dynamodbav:"billed_write_units"`
}

func newRunRecord(sh shop.Shop, day string, attempt int, now time.Time) runRecord {
	usage := make(map[string]usageRecord, len(scores.Stages))
	for _, st := range scores.Stages {
		usage[string(st)] = usageRecord{}
	}
	return runRecord{
		PK: runsPK(sh.ID), SK: runSK(day), Type: "run", ShopID: sh.ID, AsOf: day,
		Shards: sh.Shards, Attempt: attempt,
		Mapped: map[string]refRecord{}, Scored: map[string]refRecord{},
		StartedAt: formatTime(now), Usage: usage,
	}
}

func shardKey(n int) string { return fmt.Sprintf("%02d", n) }

func shardRefs(m map[string]refRecord) (map[int]scores.Ref, error) {
	out := make(map[int]scores.Ref, len(m))
	for k, ref := range m {
		n, err := strconv.Atoi(k)
		if err != nil {
			return nil, fmt.Errorf("shard %q: %w", k, err)
		}
		out[n] = ref.ref()
	}
	return out, nil
}

// inputRefs are the Inputs of the Mapped entries that have them.
func inputRefs(mapped map[string]refRecord) (map[int]scores.Ref, error) {
	with := make(map[string]refRecord, len(mapped))
	for k, ref := range mapped {
		if ref.Inputs != nil {
			with[k] = *ref.Inputs
		}
	}
	return shardRefs(with)
}

func (r runRecord) run() (scores.Run, error) {
	run := scores.Run{
		ShopID: r.ShopID, AsOf: r.AsOf, Shards: r.Shards, Attempt: r.Attempt,
		Done: r.Done, Failed: r.Failed, Usage: map[scores.Stage]capacity.Usage{},
	}
	if r.Model != nil {
		m := r.Model.ref()
		run.Model = &m
	}
	var err error
	if run.Mapped, err = shardRefs(r.Mapped); err != nil {
		return scores.Run{}, fmt.Errorf("run %s %s: mapped: %w", r.ShopID, r.AsOf, err)
	}
	if run.Inputs, err = inputRefs(r.Mapped); err != nil {
		return scores.Run{}, fmt.Errorf("run %s %s: inputs: %w", r.ShopID, r.AsOf, err)
	}
	if run.Scored, err = shardRefs(r.Scored); err != nil {
		return scores.Run{}, fmt.Errorf("run %s %s: scored: %w", r.ShopID, r.AsOf, err)
	}
	if run.StartedAt, err = parseTime(r.StartedAt); err != nil {
		return scores.Run{}, fmt.Errorf("run %s %s: started_at: %w", r.ShopID, r.AsOf, err)
	}
	if run.FinishedAt, err = parseTime(r.FinishedAt); err != nil {
		return scores.Run{}, fmt.Errorf("run %s %s: finished_at: %w", r.ShopID, r.AsOf, err)
	}
	for st, u := range r.Usage {
		run.Usage[scores.Stage(st)] = capacity.Usage(u)
	}
	return run, nil
}

// resultRecord is one chunk of a stored intermediate result: a slice of
// the gzipped JSON.
type resultRecord struct {
	PK   string `dynamodbav:"pk"`
	SK   string `dynamodbav:"sk"`
	Type string `dynamodbav:"type"`
	Data []byte `dynamodbav:"data"`
	TTL  int64  `dynamodbav:"ttl"`
}

// scoreRecord is a customer's latest scores (scores.Score), with
// the export's column names as attribute names.
type scoreRecord struct {
	PK                    string  `dynamodbav:"pk"`
	SK                    string  `dynamodbav:"sk"`
	Type                  string  `dynamodbav:"type"`
	CustomerID            string  `dynamodbav:"customer_id"`
	AsOf                  string  `dynamodbav:"as_of"`
	Model                 string  `dynamodbav:"model"`
	PAlive                float64 `dynamodbav:"p_alive"`
	ChurnRisk             float64 `dynamodbav:"churn_risk"`
	ChurnBand             string  `dynamodbav:"churn_band"`
	Active                bool    `dynamodbav:"active"`
	ExpectedPurchases30d  float64 `dynamodbav:"expected_purchases_30d"`
	ExpectedPurchases90d  float64 `dynamodbav:"expected_purchases_90d"`
	ExpectedPurchases365d float64 `dynamodbav:"expected_purchases_365d"`
	ExpectedOrderValue    float64 `dynamodbav:"expected_order_value"`
	CLV                   float64 `dynamodbav:"clv"`
	NextOrderDate         string  `dynamodbav:"next_order_date,omitempty"`
	Recency               int     `dynamodbav:"r_score"`
	Frequency             int     `dynamodbav:"f_score"`
	Monetary              int     `dynamodbav:"m_score"`
	Segment               string  `dynamodbav:"segment"`
	SpendTier             string  `dynamodbav:"spend_tier,omitempty"`
}

// Attribute names the score listing filters on.
const (
	attrSegment   = "segment"
	attrChurnBand = "churn_band"
)

func toScoreRecord(sh shop.Shop, shard int, c scores.Score) scoreRecord {
	return scoreRecord{
		PK: shardPK(sh.ID, shard), SK: scoreSK(c.CustomerID), Type: "score",
		CustomerID: c.CustomerID, AsOf: c.AsOf, Model: c.Model,
		PAlive: c.PAlive, ChurnRisk: c.ChurnRisk, ChurnBand: c.ChurnBand, Active: c.Active,
		ExpectedPurchases30d: c.ExpectedPurchases30d, ExpectedPurchases90d: c.ExpectedPurchases90d,
		ExpectedPurchases365d: c.ExpectedPurchases365d, ExpectedOrderValue: c.ExpectedOrderValue,
		CLV: c.CLV, NextOrderDate: c.NextOrderDate,
		Recency: c.Recency, Frequency: c.Frequency, Monetary: c.Monetary,
		Segment: c.Segment, SpendTier: c.SpendTier,
	}
}

func (r scoreRecord) score() scores.Score {
	return scores.Score{
		CustomerID: r.CustomerID, AsOf: r.AsOf, Model: r.Model,
		PAlive: r.PAlive, ChurnRisk: r.ChurnRisk, ChurnBand: r.ChurnBand, Active: r.Active,
		ExpectedPurchases30d: r.ExpectedPurchases30d, ExpectedPurchases90d: r.ExpectedPurchases90d,
		ExpectedPurchases365d: r.ExpectedPurchases365d, ExpectedOrderValue: r.ExpectedOrderValue,
		CLV: r.CLV, NextOrderDate: r.NextOrderDate,
		Recency: r.Recency, Frequency: r.Frequency, Monetary: r.Monetary,
		Segment: r.Segment, SpendTier: r.SpendTier,
	}
}

// dayRecord is a shop's KPIs for one as-of day: the scoring.Day as JSON
// (its maps and histograms are read whole, never queried into).
type dayRecord struct {
	PK   string `dynamodbav:"pk"`
	SK   string `dynamodbav:"sk"`
	Type string `dynamodbav:"type"`
	AsOf string `dynamodbav:"as_of"`
	Data string `dynamodbav:"data"`
}
