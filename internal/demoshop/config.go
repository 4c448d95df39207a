package demoshop

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/winback/winback/shared/order"
)

// ErrConfig is wrapped by the errors of an invalid Config.
var ErrConfig = errors.New("invalid demo shop config")

// Config describes the shop to generate. Only End is required; the zero
// value of every other field means its default.
type Config struct {
	// Seed makes the shop: the same Config gives the same History.
	Seed int64
	// Customers is how many customers the shop acquired over the history
	// (default 3000); each placed at least one order.
	Customers int
	// End is the demo's "today": the history covers the Days before it and
	// no order is created after it. Required.
	End time.Time
	// Days is the length of the history (default 730, two years).
	Days int
	// Currency is the shop's ISO 4217 currency (default "EUR"). Catalogue
	// prices are written for a currency with cents and scaled to its minor
	// units (see Product.Price).
	Currency string
	// Location is the shop's time zone: timestamps carry its offset and the
	// hour-of-day pattern is local (default UTC).
	Location *time.Location
	// ShopifyShare is the share of orders that arrive through the Shopify
	// webhook rather than the JSON API (default 0.2; a negative value means
	// none). Whole customers are assigned to a channel.
	ShopifyShare float64
	// Params are the latent processes (default DefaultParams()).
	Params Params
}

// Params are the parameters of the latent purchase and spend processes.
type Params struct {
	// R and Alpha shape the purchase rates while alive: λ ~ Gamma(R, rate
	// Alpha), in purchases per week (mean R/Alpha).
	R, Alpha float64
	// A and B shape the drop-out probabilities: p ~ Beta(A, B); after each
	// repeat purchase the customer leaves for good with probability p.
	A, B float64
	// P, Q and Gamma shape the spend (Gamma-Gamma): a customer's order
	// values are Gamma(P, rate ν) with ν ~ Gamma(Q, rate Gamma), in major
	// units of a currency with cents (mean order value P·Gamma/(Q−1)).
	P, Q, Gamma float64
	// Replenishers is the share of the customers whose purchase rate suits
	// a consumable's cycle (1 to 3 packs per order) who buy that consumable
	// every time, at gaps close to its cycle (Gamma-distributed with shape
	// Regularity) rather than at Poisson gaps.
	Replenishers float64
	// Regularity is the shape of a replenisher's gaps between orders: the
	// larger, the closer to the cycle (coefficient of variation 1/√shape).
	Regularity float64
}

// DefaultParams returns the parameters Generate uses when Config.Params is
// zero: about four orders a year on average from a very uneven base
// (r = 0.6, α = 8 weeks), a mean drop-out probability of 0.2 per repeat
// order with a loyal core (a = 0.8, b = 3.2), and orders worth €38 on
// average (p = 6, q = 3.5, γ = 15.8), 70% of the suitable customers
// replenishing a tea or coffee with gaps of ±40% around its cycle.
func DefaultParams() Params {
	return Params{
		R: 0.6, Alpha: 8,
		A: 0.8, B: 3.2,
		P: 6, Q: 3.5, Gamma: 15.8,
		Replenishers: 0.7,
		Regularity:   6,
	}
}

// MeanOrderValue is the population's mean order value, in major units.
func (p Params) MeanOrderValue() float64 { return p.P * p.Gamma / (p.Q - 1) }

// Rates and sizes of the order lifecycle.
const (
	// PartialRefundRate, FullRefundRate, CancelRate and PendingRate are the
	// shares of orders that later get a partial refund, a full refund, are
	// cancelled, or arrive pending (bank transfer) and are paid a few days
	// later; each order has at most one of these.
	PartialRefundRate = 0.03
	FullRefundRate    = 0.01
	CancelRate        = 0.01
	PendingRate       = 0.02
	// DuplicateRate is the share of orders sent twice, unchanged.
	DuplicateRate = 0.005
	// MalformedOrders is the number of malformed requests in a history.
	MalformedOrders = 10
	// ConsentRate is the share of customers who accept marketing.
	ConsentRate = 0.8
)

// Defaults.
const (
	DefaultCustomers    = 3000
	DefaultDays         = 730
	DefaultCurrency     = "EUR"
	DefaultShopifyShare = 0.2
)

// withDefaults fills the defaults and checks the config.
func (c Config) withDefaults() (Config, error) {
	if c.Customers == 0 {
		c.Customers = DefaultCustomers
	}
	if c.Days == 0 {
		c.Days = DefaultDays
	}
	if c.Currency == "" {
		c.Currency = DefaultCurrency
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	switch {
	case c.ShopifyShare == 0:
		c.ShopifyShare = DefaultShopifyShare
	case c.ShopifyShare < 0:
		c.ShopifyShare = 0
	}
	if c.Params == (Params{}) {
		c.Params = DefaultParams()
	}
	p := c.Params
	switch {
	case c.End.IsZero():
		return c, fmt.Errorf("%w: End (the demo's today) is required", ErrConfig)
	case c.Customers < 0 || c.Customers > 1_000_000:
		return c, fmt.Errorf("%w: Customers %d, want 1..1000000", ErrConfig, c.Customers)
	case c.Days < 28 || c.Days > 3650:
		return c, fmt.Errorf("%w: Days %d, want 28..3650", ErrConfig, c.Days)
	case c.ShopifyShare > 1:
		return c, fmt.Errorf("%w: ShopifyShare %g, want at most 1", ErrConfig, c.ShopifyShare)
	case !(positive(p.R) && positive(p.Alpha) && positive(p.A) && positive(p.B) && positive(p.P) && positive(p.Gamma) && positive(p.Regularity)):
		return c, fmt.Errorf("%w: Params %+v: R, Alpha, A, B, P, Gamma and Regularity must be positive", ErrConfig, p)
	case !(p.Q > 1 && p.Q < math.Inf(1)):
		return c, fmt.Errorf("%w: Params.Q %g, want > 1 (a finite mean spend)", ErrConfig, p.Q)
	case !(p.Replenishers >= 0 && p.Replenishers <= 1):
		return c, fmt.Errorf("%w: Params.Replenishers %g, want 0..1", ErrConfig, p.Replenishers)
	}
	if _, ok := order.Exponent(c.Currency); !ok {
		return c, fmt.Errorf("%w: unknown currency %q", ErrConfig, c.Currency)
	}
	c.End = c.End.In(c.Location).Truncate(time.Second)
	return c, nil
}

func positive(x float64) bool { return x > 0 && !math.IsInf(x, 1) }
