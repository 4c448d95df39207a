package demoshop

import (
	"time"
)

// Kind is what an event does to an order.
type Kind string

// The event kinds.
const (
	// KindCreate sends an order for the first time (paid, or pending for a
	// bank transfer).
	KindCreate Kind = "create"
	// KindPaid sends a pending order again, now paid.
	KindPaid Kind = "update_paid"
	// KindRefundPartial sends a paid order again with part of it refunded
	// (status still paid).
	KindRefundPartial Kind = "update_refund_partial"
	// KindRefundFull sends an order again refunded in full.
	KindRefundFull Kind = "update_refund_full"
	// KindCancel sends an order again cancelled.
	KindCancel Kind = "cancel"
	// KindDuplicate sends the same version of an order a second time (a
	// retry after a timeout, a webhook delivered twice).
	KindDuplicate Kind = "duplicate"
	// KindMalformed is a request the API must refuse: Body is not JSON, or
	// breaks the schema (negative total, unknown currency, ...).
	KindMalformed Kind = "malformed"
)

// Event is one request the shop sends: an order version through the JSON
// API or the Shopify webhook, or a malformed body.
type Event struct {
	// At is when the shop sends it (for a create, the order's CreatedAt).
	At   time.Time
	Kind Kind
	// Order is the version to send. For a malformed event it is the order
	// Body was spoiled from: it must never count.
	Order Order
	// Body is set for KindMalformed only: the raw single-order body to POST
	// to /v1/orders on its own (it is refused; a batch holding one that is
	// not JSON would be refused as a whole).
	Body []byte
	// Shopify is set when the event goes through the Shopify webhook
	// (ShopifyPayload, Topic, WebhookID); otherwise through POST /v1/orders.
	Shopify bool
	// WebhookID is the X-Shopify-Webhook-Id of a Shopify delivery: unique
	// per delivery, repeated by a duplicate (Shopify re-delivering).
	WebhookID string
	// Campaign is set on the orders PlayForward adds because a customer
	// was mailed: without the e-mail they would not have been placed.
	Campaign bool
}

// Topic is the X-Shopify-Topic of the event's delivery.
func (e Event) Topic() string {
	switch e.Kind {
	case KindCreate, KindDuplicate:
		return "orders/create"
	case KindPaid:
		return "orders/paid"
	case KindCancel:
		return "orders/cancelled"
	}
	return "orders/updated"
}

// Segment is a customer's true state at the end of the history, from the
// latent process (what the models try to infer from the orders).
type Segment string

// The segments, checked in this order.
const (
	// SegmentNew: first order within NewDays of the end.
	SegmentNew Segment = "new"
	// SegmentLapsing: left (dropped out) within LapsingDays of the end.
	SegmentLapsing Segment = "lapsing"
	// SegmentLost: left longer ago.
	SegmentLost Segment = "lost"
	// SegmentLoyal: still active, with at least LoyalOrders orders.
	SegmentLoyal Segment = "loyal"
	// SegmentOccasional: still active, with 2 to LoyalOrders−1 orders.
	SegmentOccasional Segment = "occasional"
	// SegmentOneTime: still active in the BG/NBD sense (nobody leaves
	// before a repeat order) but never came back, most of them too slow to
	// tell apart from gone.
	SegmentOneTime Segment = "one_time"
)

// Segment thresholds.
const (
	NewDays     = 56
	LapsingDays = 180
	LoyalOrders = 4
)

// Segments lists the segments in their order of precedence.
var Segments = []Segment{SegmentNew, SegmentLapsing, SegmentLost, SegmentLoyal, SegmentOccasional, SegmentOneTime}

// Customer is one customer of the demo shop, with the truth behind their
// orders.
type Customer struct {
	// ID is "c00042" for customers of the JSON API (numbered by first
	// order) and a 13-digit number for Shopify's, as Shopify gives them.
	ID        string
	FirstName string
	LastName  string
	// Email is under example.com, example.org or example.net (RFC 2606).
	Email            string
	AcceptsMarketing bool
	// Shopify is set when all of the customer's orders arrive through the
	// Shopify webhook.
	Shopify bool
	Truth   Truth
}

// Truth is a customer's latent process and where it stood at the end of
// the history.
type Truth struct {
	// Lambda is the purchase rate while alive, per week.
	Lambda float64
	// P is the probability of leaving after each repeat order.
	P float64
	// MeanOrderValue is the mean of the customer's order values (before
	// discounts), in minor units.
	MeanOrderValue float64
	// Replenishes is the SKU of the consumable the customer re-orders at
	// its cycle ("" for none), PacksPerOrder how many packs each time.
	Replenishes   string
	PacksPerOrder int
	// Orders counts the purchases of the process in the history, those
	// later cancelled or refunded included; FirstOrder and LastOrder are
	// the first and the last.
	Orders     int
	FirstOrder time.Time
	LastOrder  time.Time
	// Alive reports whether the customer is still active at the end; a
	// customer who left did so right after LastOrder.
	Alive   bool
	Segment Segment
}

// History is a generated shop: its catalogue, its customers and every
// request it sent, in time order.
type History struct {
	// Config is the config with its defaults filled in.
	Config Config
	// Start and End bound the history (End is Config.End); every event is
	// in (Start, End].
	Start, End time.Time
	Products   []Product
	Customers  []Customer
	Events     []Event

	state     []latent       // by customer index
	later     []Event        // updates of history orders due after End
	nextOrder int            // number of the next order
	index     map[string]int // customer id → index
}

// latent is what PlayForward needs to continue a customer's process.
type latent struct {
	nu      float64 // spend rate: order values are Gamma(P, nu) in cents
	fav     int     // product index of the replenished consumable, -1 for none
	lastDay float64 // time of the last purchase, in days since Start
}

// Customer returns the customer with the id.
func (h *History) Customer(id string) (Customer, bool) {
	i, ok := h.index[id]
	if !ok {
		return Customer{}, false
	}
	return h.Customers[i], true
}

// Segments counts the customers of each segment.
func (h *History) Segments() map[Segment]int {
	m := make(map[Segment]int, len(Segments))
	for _, c := range h.Customers {
		m[c.Truth.Segment]++
	}
	return m
}

// CountKinds counts events by kind.
func CountKinds(events []Event) map[Kind]int {
	m := make(map[Kind]int)
	for _, e := range events {
		m[e.Kind]++
	}
	return m
}
