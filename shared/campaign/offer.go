package campaign

import (
	"math"

	"github.com/winback/winback/shared/scores"
)

// OfferDecision is the discount a win-back customer is offered and the
// figures that justify it. Money is in minor units.
type OfferDecision struct {
	// Percent is the discount offered (0: none).
	Percent int `json:"percent"`
	// TierPercent is the discount of the customer's value tier, before the
	// cost cap; Capped reports that Percent is lower.
	TierPercent int  `json:"tier_percent"`
	Capped      bool `json:"capped"`
	// Baseline is the chance the customer orders anyway while the coupon
	// is valid; Uplift the assumed extra chance the chosen offer adds.
	Baseline float64 `json:"baseline"`
	Uplift   float64 `json:"uplift"`
	// OrderValue is the expected order value (Score.ExpectedOrderValue).
	OrderValue float64 `json:"order_value"`
	// ExpectedCost and ExpectedGain are the offer's expected discount cost
	// and expected margin won back (see Offer); ExpectedCost <
	// ExpectedGain whenever Percent > 0.
	ExpectedCost float64 `json:"expected_cost"`
	ExpectedGain float64 `json:"expected_gain"`
}

// Offer sizes a win-back customer's discount.
//
// The tier is the last of s.Tiers whose MinValue is at most the predicted
// CLV (Score.CLV). Its discount d (Percent/100) is offered only if its
// expected cost stays below its expected gain:
//
//	V = Score.ExpectedOrderValue                 (minor units)
//	λ = expected purchases in H = CouponExpiryDays days
//	  = E30·H/30 for H ≤ 30, E90·H/90 for H ≤ 90, else E365·H/365
//	b = 1 − exp(−λ)                              (would order anyway)
//	u = min(tier.Uplift, 1 − b)                  (extra chance the offer adds)
//	m = GrossMargin                              (default 0.5)
//	expected cost = (b + u) · d · V   the discount on every order that redeems it,
//	                                  including those that would have happened anyway
//	expected gain = u · m · V         the margin of the extra order, before discount
//
// so an offer is made only if (b + u)·d < u·m: its expected profit,
// u·V·(m − d) − b·d·V, is positive. Otherwise the next lower tier is
// tried, down to no discount (which costs nothing). Linear scaling of the
// expected purchases overstates λ as P(alive) decays, which errs towards
// smaller discounts. A customer without a positive, finite expected order
// value is offered nothing.
func Offer(sc scores.Score, s Settings) OfferDecision {
	tier := 0
	for i, t := range s.Tiers {
		if sc.CLV >= float64(t.MinValue) {
			tier = i
		}
	}
	d := OfferDecision{OrderValue: sc.ExpectedOrderValue}
	if len(s.Tiers) == 0 {
		return d
	}
	d.TierPercent = s.Tiers[tier].Percent
	v := sc.ExpectedOrderValue
	d.Baseline = baseline(sc, s.CouponExpiryDays)
	if !(v > 0) || math.IsInf(v, 0) || math.IsNaN(d.Baseline) {
		d.OrderValue, d.Baseline = 0, 0
		d.Capped = d.TierPercent > 0
		return d
	}
	m := s.GrossMargin
	for i := tier; i >= 0; i-- {
		t := s.Tiers[i]
		u := math.Max(0, math.Min(t.Uplift, 1-d.Baseline))
		pct := float64(t.Percent) / 100
		cost := (d.Baseline + u) * pct * v
		gain := u * m * v
		if t.Percent == 0 || cost < gain {
			d.Percent, d.Uplift, d.ExpectedCost, d.ExpectedGain = t.Percent, u, cost, gain
			break
		}
	}
	d.Capped = d.Percent < d.TierPercent
	return d
}

// baseline is the chance a customer orders within h days without an
// offer: 1 − exp(−λ), λ the expected purchases scaled from the nearest
// horizon at or above h. NaN when the scores are not finite.
func baseline(sc scores.Score, h int) float64 {
	var lambda float64
	switch {
	case h <= 30:
		lambda = sc.ExpectedPurchases30d * float64(h) / 30
	case h <= 90:
		lambda = sc.ExpectedPurchases90d * float64(h) / 90
	default:
		lambda = sc.ExpectedPurchases365d * float64(h) / 365
	}
	if math.IsNaN(lambda) || math.IsInf(lambda, 0) {
		return math.NaN()
	}
	return 1 - math.Exp(-math.Max(0, lambda))
}
