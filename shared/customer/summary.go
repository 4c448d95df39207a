// Package customer keeps each customer's purchase summary: what the nightly
// models need (first and last purchase, distinct purchase days, spend on
// repeat days) and what personalisation needs (name, e-mail, consent, last
// items bought).
//
// A summary is a pure function of the customer's stored orders. It keeps one
// small entry per order (time, net value, status) and derives every figure
// from those entries, so folding in a new, re-sent, late or updated order is
// exact: Apply(s, o) equals Recompute over the same set of orders, whatever
// the order of arrival.
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
}

// Counted reports whether the entry counts as a purchase.
func (e Entry) Counted() bool { return e.Status == order.StatusPaid }

// Ref identifies an order by creation time, then id: the order in which
// "latest" is decided.
type Ref struct {
	At      int64
	OrderID string
}

// after reports whether r comes strictly after o.
func (r Ref) after(o Ref) bool {
	if r.At != o.At {
		return r.At > o.At
	}
	return r.OrderID > o.OrderID
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

	// Orders holds every order of the customer, by order id.
	Orders map[string]Entry

	// LastItems are the line items of the latest counted order (LastItemsFrom).
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
	return Entry{At: o.CreatedAt.Unix(), Net: o.Net(), Status: o.Status}
}

func refOf(o order.Order) Ref { return Ref{At: o.CreatedAt.Unix(), OrderID: o.ID} }

// Apply folds order o (new, or a new version of a known order) into s and
// re-derives the figures in loc. When o was the source of LastItems and no
// longer counts, the items must come from another stored order: Apply then
// returns that order's id in needItemsOf, and the caller completes the
// summary with SetLastItems. s is not modified; the result shares nothing
// mutable with it.
func Apply(s Summary, o order.Order, loc *time.Location) (out Summary, needItemsOf string) {
	out = s.clone()
	if out.Orders == nil {
		out.Orders = map[string]Entry{}
	}
	out.CustomerID = o.Customer.ID
	out.Currency = o.Currency
	out.Orders[o.ID] = EntryOf(o)

	r := refOf(o)
	if out.ProfileFrom.OrderID == "" || out.ProfileFrom.OrderID == o.ID || r.after(out.ProfileFrom) {
		out.Email = o.Customer.Email
		out.FirstName = o.Customer.FirstName
		out.AcceptsMarketing = o.Customer.AcceptsMarketing
		out.ProfileFrom = r
	}

	latest := out.latestCounted()
	switch {
	case latest == "":
		out.LastItems, out.LastItemsFrom = nil, ""
	case latest == o.ID:
		out.SetLastItems(o.ID, o.LineItems)
	case latest != out.LastItemsFrom:
		needItemsOf = latest
	}
	out.Derive(loc)
	return out, needItemsOf
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
	haveLatest := false
	for _, o := range orders {
		s.CustomerID, s.Currency = o.Customer.ID, o.Currency
		s.Orders[o.ID] = EntryOf(o)
		if r := refOf(o); s.ProfileFrom.OrderID == "" || r.after(s.ProfileFrom) {
			s.Email, s.FirstName, s.AcceptsMarketing = o.Customer.Email, o.Customer.FirstName, o.Customer.AcceptsMarketing
			s.ProfileFrom = r
		}
		if o.Counted() && (!haveLatest || refOf(o).after(refOf(latest))) {
			latest, haveLatest = o, true
		}
	}
	if haveLatest {
		s.SetLastItems(latest.ID, latest.LineItems)
	}
	s.Derive(loc)
	return s
}

// LatestPaid is the id of the customer's latest counted order ("" if none):
// the order LastItems must come from.
func (s Summary) LatestPaid() string { return s.latestCounted() }

// latestCounted is the id of the latest counted order, "" if none.
func (s Summary) latestCounted() string {
	var best Ref
	for id, e := range s.Orders {
		if !e.Counted() {
			continue
		}
		if r := (Ref{At: e.At, OrderID: id}); best.OrderID == "" || r.after(best) {
			best = r
		}
	}
	return best.OrderID
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
