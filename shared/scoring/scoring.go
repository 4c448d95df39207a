package scoring

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/winback/winback/shared/clv"
	"github.com/winback/winback/shared/customer"
)

// BTYD is the summary as the models' input at asOf: X repeat purchase
// days, Tx the days from the first to the last purchase day and T the days
// from the first purchase day to asOf's day, all as calendar days in loc
// divided by unitDays (7 for weeks), and Monetary the mean repeat-day spend
// in minor units. The conventions are clv.Summarize's, so a shop's stored
// summaries and its exported transaction log give the models the same
// numbers. ok is false for a customer without purchases on or before asOf.
func BTYD(s customer.Summary, asOf time.Time, loc *time.Location, unitDays float64) (c clv.Customer, ok bool) {
	if s.PurchaseDays == 0 {
		return clv.Customer{}, false
	}
	first, err1 := time.Parse(time.DateOnly, s.FirstDay)
	last, err2 := time.Parse(time.DateOnly, s.LastDay)
	y, m, d := asOf.In(loc).Date()
	end := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if err1 != nil || err2 != nil || end.Before(first) {
		return clv.Customer{}, false
	}
	days := func(a, b time.Time) float64 { return float64(b.Sub(a).Round(time.Hour) / (24 * time.Hour)) }
	return clv.Customer{
		ID:       s.CustomerID,
		X:        float64(s.RepeatDays()),
		Tx:       days(first, last) / unitDays,
		T:        days(first, end) / unitDays,
		Monetary: s.MeanRepeatValue(),
	}, true
}

// InputOptions says how summaries become model inputs.
type InputOptions struct {
	// AsOf is the end of observation; its calendar day in Location is the
	// last day counted.
	AsOf time.Time
	// Location is the shop's time zone, whose calendar days are purchase
	// days (nil means UTC).
	Location *time.Location
	// Unit is the models' time unit ("" means weeks).
	Unit clv.Unit
	// Exponent is the currency's number of minor-unit digits (2 for USD,
	// 0 for JPY): Monetary is converted to major units with it.
	Exponent int
}

// Inputs returns the model inputs of the summaries that have a purchase
// on or before o.AsOf, in the summaries' order, with Monetary in the
// currency's major units.
func Inputs(summaries []customer.Summary, o InputOptions) []clv.Customer {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	unit := o.Unit
	if unit == "" {
		unit = clv.Week
	}
	scale := math.Pow10(o.Exponent)
	var cs []clv.Customer
	for _, s := range summaries {
		c, ok := BTYD(s, o.AsOf, loc, unit.Days())
		if !ok {
			continue
		}
		c.Monetary /= scale
		cs = append(cs, c)
	}
	return cs
}

// Models are the fitted models a shop's customers are scored with.
type Models struct {
	// Purchases is the transaction model: BG/NBD.
	Purchases clv.BGNBD
	// Spend is the Gamma-Gamma model of the value of repeat purchases.
	Spend clv.GammaGamma
	// PurchasesFit and SpendFit describe the two fits.
	PurchasesFit, SpendFit clv.FitResult
}

// FitCustomers fits BG/NBD to the customers' purchase histories and Gamma-Gamma to
// the mean repeat values of those with repeat purchases of positive value.
// It fails when either fit yields no parameters (for example when no
// customer has bought twice).
func FitCustomers(cs []clv.Customer) (Models, error) {
	var m Models
	if len(cs) == 0 {
		return m, fmt.Errorf("fit: no customers")
	}
	m.Purchases, m.PurchasesFit = clv.FitBGNBD(clv.Group(cs), clv.FitOptions{})
	if m.PurchasesFit.Params == nil {
		return m, fmt.Errorf("fit bgnbd: %s", m.PurchasesFit.Status)
	}
	m.Spend, m.SpendFit = clv.FitGammaGamma(cs, clv.FitOptions{})
	if m.SpendFit.Params == nil {
		return m, fmt.Errorf("fit gammagamma: %s", m.SpendFit.Status)
	}
	return m, nil
}

// Scored is one customer's model input with the customer's scores.
type Scored struct {
	Customer clv.Customer
	Score    clv.CustomerScore
}

// ScoreCustomers scores every customer with the fitted models: P(alive), expected
// purchases over the horizon, CLV and the next expected purchase, in the
// order of cs. Times in o are in the inputs' unit.
func ScoreCustomers(m Models, cs []clv.Customer, o clv.ScoreOptions) []Scored {
	scores := clv.ScoreCustomers(m.Purchases, m.Spend, cs, o)
	out := make([]Scored, len(cs))
	for i := range cs {
		out[i] = Scored{Customer: cs[i], Score: scores[i]}
	}
	return out
}

// WinBackValue is what winning the customer back is worth: the churn risk
// (1 − P(alive)) times the mean value of a repeat purchase. It is zero for
// customers who never bought twice.
func (s Scored) WinBackValue() float64 {
	return (1 - s.Score.PAlive) * s.Customer.Monetary
}

// Rank returns the customers ordered for win-back: by descending
// WinBackValue, ties broken by customer id so that the order is
// deterministic. ss is not modified.
func Rank(ss []Scored) []Scored {
	out := slices.Clone(ss)
	slices.SortStableFunc(out, func(a, b Scored) int {
		if c := cmp.Compare(b.WinBackValue(), a.WinBackValue()); c != 0 {
			return c
		}
		return cmp.Compare(a.Customer.ID, b.Customer.ID)
	})
	return out
}
