package campaign

import (
	"math"
	mrand "math/rand/v2"
	"testing"

	"github.com/winback/winback/shared/scores"
)

func nan() float64 { return math.NaN() }

// The worked examples of RULES.md, with their numbers.
func TestOfferWorkedExamples(t *testing.T) {
	s := DefaultSettings()
	cases := []struct {
		name          string
		clv, e30, v   float64
		percent, tier int
		baseline      float64
		cost, gain    float64
	}{
		// λ = 0.12·14/30 = 0.056, b = 1 − e^−0.056 = 0.05446;
		// 15%: cost = (0.05446 + 0.04)·0.15·6000 = 85.0 < gain = 0.04·0.5·6000 = 120.
		{"15% holds", 20000, 0.12, 6000, 15, 15, 0.054461, 85.01, 120},
		// λ = 0.3·14/30 = 0.14, b = 0.13064; 15%: (0.17064)·0.15·6000 = 153.6 ≥ 120;
		// 10%: (0.16064)·0.10·6000 = 96.4 ≥ 0.03·0.5·6000 = 90; so none.
		{"capped to none", 20000, 0.3, 6000, 0, 15, 0.130642, 0, 0},
		// λ = 0.24·14/30 = 0.112, b = 0.105956; 20%: (0.155956)·0.2·10000 = 311.9 ≥ 250;
		// 15%: (0.145956)·0.15·10000 = 218.9 ≥ 200; 10%: (0.135956)·0.1·10000 = 136.0 < 150.
		{"capped to 10%", 60000, 0.24, 10000, 10, 20, 0.105956, 135.96, 150},
		{"low value, no tier", 3000, 0.05, 6000, 0, 0, 0.023062, 0, 0},
		{"no order value", 60000, 0.05, 0, 0, 20, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := Offer(scores.Score{CLV: c.clv, ExpectedPurchases30d: c.e30, ExpectedOrderValue: c.v}, s)
			if o.Percent != c.percent || o.TierPercent != c.tier || o.Capped != (c.percent < c.tier) {
				t.Errorf("offer %+v; want %d%% of tier %d%%", o, c.percent, c.tier)
			}
			if math.Abs(o.Baseline-c.baseline) > 5e-6 {
				t.Errorf("baseline %.6f; want %.6f", o.Baseline, c.baseline)
			}
			if c.percent > 0 && (math.Abs(o.ExpectedCost-c.cost) > 0.01 || math.Abs(o.ExpectedGain-c.gain) > 0.01) {
				t.Errorf("cost %.2f gain %.2f; want %.2f and %.2f", o.ExpectedCost, o.ExpectedGain, c.cost, c.gain)
			}
		})
	}
}

func TestOfferHorizon(t *testing.T) {
	s := DefaultSettings()
	sc := scores.Score{CLV: 20000, ExpectedPurchases30d: 0.3, ExpectedPurchases90d: 0.6, ExpectedPurchases365d: 1.2, ExpectedOrderValue: 6000}
	for _, c := range []struct {
		days   int
		lambda float64
	}{{14, 0.3 * 14 / 30}, {30, 0.3}, {60, 0.6 * 60 / 90}, {90, 0.6}, {120, 1.2 * 120 / 365}} {
		s.CouponExpiryDays = c.days
		if got, want := Offer(sc, s).Baseline, 1-math.Exp(-c.lambda); math.Abs(got-want) > 1e-12 {
			t.Errorf("%d days: baseline %v; want %v", c.days, got, want)
		}
	}
}

func TestOfferNonFinite(t *testing.T) {
	s := DefaultSettings()
	for _, sc := range []scores.Score{
		{CLV: 60000, ExpectedPurchases30d: nan(), ExpectedOrderValue: 6000},
		{CLV: 60000, ExpectedPurchases30d: math.Inf(1), ExpectedOrderValue: 6000},
		{CLV: 60000, ExpectedPurchases30d: 0.1, ExpectedOrderValue: math.Inf(1)},
		{CLV: 60000, ExpectedPurchases30d: 0.1, ExpectedOrderValue: nan()},
		{CLV: 60000, ExpectedPurchases30d: 0.1, ExpectedOrderValue: -5},
		{CLV: nan(), ExpectedPurchases30d: 0.1, ExpectedOrderValue: 6000},
	} {
		if o := Offer(sc, s); o.Percent != 0 || math.IsNaN(o.ExpectedCost) || math.IsNaN(o.ExpectedGain) || math.IsNaN(o.Baseline) {
			t.Errorf("%+v: %+v", sc, o)
		}
	}
	if o := Offer(scores.Score{CLV: 1e9, ExpectedOrderValue: 1000}, Settings{}); o.Percent != 0 {
		t.Errorf("no tiers: %+v", o)
	}
}

// Property: over random scores and random valid ladders, a discount is
// offered only when its expected cost is below its expected gain, the
// offer never exceeds the customer's tier, the figures follow the
// formula, and no lower tier than the one chosen was skipped needlessly
// (the chosen tier is the highest at or below the customer's that pays).
func TestOfferNeverCostsMoreThanItGains(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	offered := 0
	for i := range 200000 {
		s := DefaultSettings()
		s.GrossMargin = 0.05 + 0.95*r.Float64()
		s.CouponExpiryDays = 1 + r.IntN(120)
		pct := 0
		for j := 1; j < len(s.Tiers); j++ {
			pct += 1 + r.IntN(15)
			s.Tiers[j].Percent = min(pct, MaxPercent)
			s.Tiers[j].Uplift = 0.001 + 0.2*r.Float64()
		}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		e30 := r.ExpFloat64() * 0.3
		sc := scores.Score{
			CLV:                   r.Float64() * 100000,
			ExpectedPurchases30d:  e30,
			ExpectedPurchases90d:  e30 * (1 + 2*r.Float64()),
			ExpectedPurchases365d: e30 * (1 + 11*r.Float64()),
			ExpectedOrderValue:    r.Float64() * 20000,
		}
		o := Offer(sc, s)
		if o.Percent > 0 {
			offered++
			if !(o.ExpectedCost < o.ExpectedGain) {
				t.Fatalf("#%d: cost %v ≥ gain %v: %+v", i, o.ExpectedCost, o.ExpectedGain, o)
			}
			d := float64(o.Percent) / 100
			if math.Abs(o.ExpectedCost-(o.Baseline+o.Uplift)*d*sc.ExpectedOrderValue) > 1e-9*sc.ExpectedOrderValue ||
				math.Abs(o.ExpectedGain-o.Uplift*s.GrossMargin*sc.ExpectedOrderValue) > 1e-9*sc.ExpectedOrderValue {
				t.Fatalf("#%d: figures off the formula: %+v", i, o)
			}
			// Expected profit u·V·(m − d) − b·d·V is positive.
			if o.Uplift*(s.GrossMargin-d)-o.Baseline*d <= 0 {
				t.Fatalf("#%d: expected profit not positive: %+v", i, o)
			}
		}
		if o.Percent > o.TierPercent || o.Capped != (o.Percent < o.TierPercent) {
			t.Fatalf("#%d: %+v", i, o)
		}
		// No higher tier at or below the customer's would have paid.
		for _, tr := range s.Tiers {
			if tr.Percent <= o.Percent || tr.Percent > o.TierPercent || sc.CLV < float64(tr.MinValue) {
				continue
			}
			u := math.Min(tr.Uplift, 1-o.Baseline)
			if (o.Baseline+u)*float64(tr.Percent)/100 < u*s.GrossMargin {
				t.Fatalf("#%d: %d%% would have paid, chose %d%%: %+v", i, tr.Percent, o.Percent, o)
			}
		}
	}
	if offered < 10000 {
		t.Errorf("only %d of 200000 offered a discount: the property is barely exercised", offered)
	}
	t.Logf("%d of 200000 random customers offered a discount", offered)
}
