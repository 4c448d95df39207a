// Package customer keeps each customer's purchase summary: what the nightly
// models need (first and last purchase, distinct purchase days, spend on
// repeat days) and what personalisation needs (name, e-mail, consent, last
// items bought).
//
// A summary is a pure function of the customer's stored orders. It keeps one
// small entry per order (time, net value, status, and a paid order's
// discount codes with what they took off), named by the order's
// fixed-length OrderKey, and derives every figure from those entries, so
// folding in a new, re-sent, late or updated order is exact: Apply(s, o)
// equals Recompute over the same set of orders, whatever the order of
// arrival. Fold is what a store does with a group of orders of one customer.
package customer

import (
	"sort"
	"time"

	"github.com/winback/winback/shared/order"
)

// MaxLastItems caps how many line items of the latest purchase are kept.
const MaxLastItems = 10

// Entry is one order's contribution to its customer's summary.
type Entry struct {
	At     int64        // order creation time, Unix seconds
	Net    int64        // net value in minor units (0 unless paid)
	Status order.Status // only paid entries count as purchases
	// Codes are the order's discount codes and Discount the sum of what
	// they took off, in minor units: what campaign attribution needs. Like
	// Net they are kept for paid orders only (nil and 0 otherwise, and
	// when the order has no codes), so the summary stays small.
	Codes    []string
	Discount int64
}

// Counted reports whether the entry counts as a purchase.
func (e Entry) Counted() bool { return e.Status == order.StatusPaid }

// Ref identifies an order by creation time, then key: the order in which
// "latest" is decided.
type Ref struct {
	At  int64
	Key string // OrderKey of the order id
}

// after reports whether r comes strictly after o.
func (r Ref) after(o Ref) bool {
	if r.At != o.At {
		return r.At > o.At
	}
	return r.Key > o.Key
}

// Summary is one customer's purchase history, reduced.
type Summary struct {
	CustomerID string
	Currency   string

	// Profile, taken from the customer's most recent order (any status).
	Email            string
	FirstName        string
	AcceptsMarketing bool
	ProfileFrom      Ref

	// Orders holds an entry for every order of the customer, by OrderKey.
	Orders map[string]Entry

	// LastItems are the line items of the latest counted order, whose id
	// is LastItemsFrom.
	LastItems     []order.LineItem
	LastItemsFrom string

	// Derived from Orders by Derive.
	FirstPurchase time.Time // creation time of the first counted order
	LastPurchase  time.Time // creation time of the latest counted order
	FirstDay      string    // YYYY-MM-DD of the first purchase, in the shop's time zone
	LastDay       string    // YYYY-MM-DD of the latest purchase
	PurchaseDays  int       // distinct days with a counted order
	PaidOrders    int       // counted orders
	TotalSpend    int64     // net spend over all counted orders, minor units
	RepeatSpend   int64     // net spend on purchase days after the first
}

// RepeatDays is the BTYD frequency: purchase days after the first.
func (s Summary) RepeatDays() int {
	if s.PurchaseDays == 0 {
		return 0
	}
	return s.PurchaseDays - 1
}

// MeanRepeatValue is the mean spend per repeat purchase day, in minor units
// (0 without repeat purchases): the Gamma-Gamma model's input.
func (s Summary) MeanRepeatValue() float64 {
	if s.RepeatDays() == 0 {
		return 0
	}
	return float64(s.RepeatSpend) / float64(s.RepeatDays())
}

// EntryOf is the summary entry an order contributes.
func EntryOf(o order.Order) Entry {
	e := Entry{At: o.CreatedAt.Unix(), Net: o.Net(), Status: o.Status}
	if o.Counted() {
		e.Codes, e.Discount = o.Codes(), o.Discount()
	}
	return e
}

func refOf(o order.Order) Ref { return Ref{At: o.CreatedAt.Unix(), Key: OrderKey(o.ID)} }

// Apply folds order o (new, or a new version of a known order) into s and
// re-derives the figures in loc. When the latest counted order or the
// latest order is another one whose items or profile s does not hold
// (o was their source and no longer counts, say), Missing names it and the
// caller completes the summary with Complete. s is not modified; the
// result shares nothing mutable with it.
func Apply(s Summary, o order.Order, loc *time.Location) Summary {
	out := s.clone()
	out.CustomerID = o.Customer.ID
	out.Currency = o.Currency
	r := refOf(o)
	out.Orders[r.Key] = EntryOf(o)
	if out.ProfileFrom.Key == "" || out.ProfileFrom.Key == r.Key || r.after(out.ProfileFrom) {
		out.setProfile(o)
	}
	if out.LatestPaid() == r.Key {
		out.SetLastItems(o.ID, o.LineItems)
	}
	out.settle(loc)
	return out
}

// Remove takes the order with key k out of s (it moved to another
// customer) and re-derives the figures in loc; like Apply, it may leave
// items or profile to Complete. A summary left without orders is empty
// but for its CustomerID: the customer no longer exists.
func Remove(s Summary, k string, loc *time.Location) Summary {
	out := s.clone()
	delete(out.Orders, k)
	if len(out.Orders) == 0 {
		return Summary{CustomerID: s.CustomerID, Orders: map[string]Entry{}}
	}
	out.settle(loc)
	return out
}

// settle clears the last items when nothing counts any more and derives
// the figures.
func (s *Summary) settle(loc *time.Location) {
	if s.LatestPaid() == "" {
		s.LastItems, s.LastItemsFrom = nil, ""
	}
	s.Derive(loc)
}

// Missing lists the keys of orders whose content s still needs: the
// latest counted order when LastItems come from another, and the latest
// order when the profile does.
func (s Summary) Missing() []string {
	var keys []string
	if k := s.LatestPaid(); k != "" && (s.LastItemsFrom == "" || OrderKey(s.LastItemsFrom) != k) {
		keys = append(keys, k)
	}
	if r := s.latest(); r.Key != "" && r != s.ProfileFrom && (len(keys) == 0 || keys[0] != r.Key) {
		keys = append(keys, r.Key)
	}
	return keys
}

// Complete takes what s is Missing from o, a stored order of the customer.
func (s *Summary) Complete(o order.Order) {
	if o.Customer.ID != s.CustomerID {
		return
	}
	k := OrderKey(o.ID)
	if _, ok := s.Orders[k]; !ok {
		return
	}
	if s.LatestPaid() == k {
		s.SetLastItems(o.ID, o.LineItems)
	}
	if s.latest().Key == k {
		s.setProfile(o)
	}
}

func (s *Summary) setProfile(o order.Order) {
	s.Email = o.Customer.Email
	s.FirstName = o.Customer.FirstName
	s.AcceptsMarketing = o.Customer.AcceptsMarketing
	s.ProfileFrom = refOf(o)
}

// SetLastItems records the line items of order id as the latest purchase's.
func (s *Summary) SetLastItems(id string, items []order.LineItem) {
	if len(items) > MaxLastItems {
		items = items[:MaxLastItems]
	}
	s.LastItems = append([]order.LineItem(nil), items...)
	s.LastItemsFrom = id
}

// Recompute builds a summary from scratch out of all of a customer's
// orders; it is the definition Apply must agree with.
func Recompute(orders []order.Order, loc *time.Location) Summary {
	var s Summary
	s.Orders = map[string]Entry{}
	var latest order.Order
	var latestRef Ref
	for _, o := range orders {
		s.CustomerID, s.Currency = o.Customer.ID, o.Currency
		r := refOf(o)
		s.Orders[r.Key] = EntryOf(o)
		if s.ProfileFrom.Key == "" || r.after(s.ProfileFrom) {
			s.setProfile(o)
		}
		if o.Counted() && (latestRef.Key == "" || r.after(latestRef)) {
			latest, latestRef = o, r
		}
	}
	if latestRef.Key != "" {
		s.SetLastItems(latest.ID, latest.LineItems)
	}
	s.Derive(loc)
	return s
}

// LatestPaid is the key of the customer's latest counted order ("" if
// none): the order LastItems must come from.
func (s Summary) LatestPaid() string {
	var best Ref
	for k, e := range s.Orders {
		if !e.Counted() {
			continue
		}
		if r := (Ref{At: e.At, Key: k}); best.Key == "" || r.after(best) {
			best = r
		}
	}
	return best.Key
}

// latest is the customer's latest order of any status: the profile's source.
func (s Summary) latest() Ref {
	var best Ref
	for k, e := range s.Orders {
		if r := (Ref{At: e.At, Key: k}); best.Key == "" || r.after(best) {
			best = r
		}
	}
	return best
}

// Derive recomputes the purchase figures from Orders; purchase days are
// calendar days in loc.
func (s *Summary) Derive(loc *time.Location) {
	s.FirstPurchase, s.LastPurchase = time.Time{}, time.Time{}
	s.FirstDay, s.LastDay = "", ""
	s.PurchaseDays, s.PaidOrders, s.TotalSpend, s.RepeatSpend = 0, 0, 0, 0

	byDay := map[string]int64{}
	var first, last int64
	for _, e := range s.Orders {
		if !e.Counted() {
			continue
		}
		if s.PaidOrders == 0 || e.At < first {
			first = e.At
		}
		if s.PaidOrders == 0 || e.At > last {
			last = e.At
		}
		s.PaidOrders++
		s.TotalSpend += e.Net
		byDay[time.Unix(e.At, 0).In(loc).Format(time.DateOnly)] += e.Net
	}
	if s.PaidOrders == 0 {
		return
	}
	days := make([]string, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	sort.Strings(days)
	s.FirstPurchase, s.LastPurchase = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
	s.FirstDay, s.LastDay = days[0], days[len(days)-1]
	s.PurchaseDays = len(days)
	s.RepeatSpend = s.TotalSpend - byDay[days[0]]
}

func (s Summary) clone() Summary {
	c := s
	c.Orders = make(map[string]Entry, len(s.Orders)+1)
	for k, v := range s.Orders {
		c.Orders[k] = v
	}
	c.LastItems = append([]order.LineItem(nil), s.LastItems...)
	return c
}
