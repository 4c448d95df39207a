package campaign

import (
	"math"
	"strings"
	"time"
)

// Group is the side of the experiment a selected customer is on.
type Group string

// The groups.
const (
	GroupMailed  Group = "mailed"
	GroupHoldout Group = "holdout"
)

// Contact is one selected customer of a campaign, in the group they were
// assigned to (mailed or held out) at At, the campaign's selection.
// Coupon is the code they were given ("" for none, and for the holdout).
type Contact struct {
	CustomerID string
	Group      Group
	At         time.Time
	Coupon     string
}

// Purchase is one of the customer's paid orders, as attribution sees it:
// Revenue is its net value and Discount the amount its discount codes
// took off, both in minor units.
type Purchase struct {
	OrderID  string
	At       time.Time
	Revenue  int64
	Discount int64
	Codes    []string
}

// Conversion is what a contact's orders did for the campaign.
type Conversion struct {
	Converted bool `json:"converted"`
	// Orders and Revenue count the attributed orders.
	Orders  int   `json:"orders"`
	Revenue int64 `json:"revenue"`
	// Redeemed counts the attributed orders carrying the contact's coupon,
	// DiscountCost the discount they took.
	Redeemed     int   `json:"redeemed"`
	DiscountCost int64 `json:"discount_cost"`
	// FirstOrderID and FirstOrderAt are the earliest attributed order
	// (ties by order id).
	FirstOrderID string    `json:"first_order_id,omitempty"`
	FirstOrderAt time.Time `json:"first_order_at,omitzero"`
}

// Attribute decides which of a contact's purchases the campaign gets. A
// purchase at or after the contact counts when it is within window days
// (window × 24 h, default 14) of it, or, whatever the delay, when it
// carries the contact's coupon (compared without regard to case or
// surrounding spaces). A purchase before the contact never counts. The
// rule is the same for the mailed group and the holdout, so the two are
// compared like for like (a holdout contact has no coupon).
func Attribute(c Contact, purchases []Purchase, window int) Conversion {
	var out Conversion
	end := c.At.Add(time.Duration(window) * 24 * time.Hour)
	for _, p := range purchases {
		if p.At.Before(c.At) {
			continue
		}
		redeemed := c.Coupon != "" && hasCode(p.Codes, c.Coupon)
		if !redeemed && !p.At.Before(end) {
			continue
		}
		out.Converted = true
		out.Orders++
		out.Revenue += p.Revenue
		if redeemed {
			out.Redeemed++
			out.DiscountCost += p.Discount
		}
		if out.Orders == 1 || p.At.Before(out.FirstOrderAt) || (p.At.Equal(out.FirstOrderAt) && p.OrderID < out.FirstOrderID) {
			out.FirstOrderID, out.FirstOrderAt = p.OrderID, p.At
		}
	}
	return out
}

func hasCode(codes []string, code string) bool {
	code = strings.TrimSpace(code)
	for _, c := range codes {
		if strings.EqualFold(strings.TrimSpace(c), code) {
			return true
		}
	}
	return false
}

// Z95 is the standard normal quantile for a two-sided 95% interval,
// Φ⁻¹(0.975).
const Z95 = 1.959963984540054

// Interval is an estimate with its 95% confidence interval. Defined is
// false when there is nothing to estimate (no trials in a group, or
// impossible counts); the numbers are then zero.
type Interval struct {
	Estimate float64 `json:"estimate"`
	Lower    float64 `json:"lower"`
	Upper    float64 `json:"upper"`
	Defined  bool    `json:"defined"`
}

// Wilson is the proportion k/n with its 95% Wilson score interval
// (without continuity correction):
//
//	(2k + z² ± z·√(z² + 4k(n−k)/n)) / (2(n + z²)),  z = Z95,
//
// whose lower bound is exactly 0 at k = 0 and upper bound exactly 1 at
// k = n. Undefined for n ≤ 0 or k outside [0, n].
func Wilson(k, n int) Interval {
	if n <= 0 || k < 0 || k > n {
		return Interval{}
	}
	z := Z95
	fk, fn := float64(k), float64(n)
	centre := 2*fk + z*z
	half := z * math.Sqrt(z*z+4*fk*(fn-fk)/fn)
	den := 2 * (fn + z*z)
	iv := Interval{Estimate: fk / fn, Lower: (centre - half) / den, Upper: (centre + half) / den, Defined: true}
	if k == 0 {
		iv.Lower = 0
	}
	if k == n {
		iv.Upper = 1
	}
	return iv
}

// Uplift is the difference of conversion rates, mailed minus holdout,
// with its 95% interval by Newcombe's hybrid score method (method 10 of
// Newcombe 1998, Statistics in Medicine 17:873–890), built from the
// Wilson intervals [l₁, u₁] of p₁ = mailedConv/mailed and [l₂, u₂] of
// p₂ = holdoutConv/holdout:
//
//	d = p₁ − p₂
//	lower = d − √((p₁ − l₁)² + (u₂ − p₂)²)
//	upper = d + √((u₁ − p₁)² + (p₂ − l₂)²)
//
// Unlike the Wald interval it stays within [−1, 1] and keeps close to
// its nominal coverage at small counts and at 0/n and n/n. Undefined when
// either group is empty (no holdout, say) or a count is impossible.
func Uplift(mailedConv, mailed, holdoutConv, holdout int) Interval {
	a, b := Wilson(mailedConv, mailed), Wilson(holdoutConv, holdout)
	if !a.Defined || !b.Defined {
		return Interval{}
	}
	d := a.Estimate - b.Estimate
	return Interval{
		Estimate: d,
		Lower:    math.Max(-1, d-math.Hypot(a.Estimate-a.Lower, b.Upper-b.Estimate)),
		Upper:    math.Min(1, d+math.Hypot(a.Upper-a.Estimate, b.Estimate-b.Lower)),
		Defined:  true,
	}
}
