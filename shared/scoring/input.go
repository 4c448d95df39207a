package scoring

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/winback/winback/shared/customer"
)

// dayNumber is a YYYY-MM-DD day as days since 1970-01-01.
func dayNumber(d string) (int64, error) {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return 0, err
	}
	return t.Unix() / 86400, nil
}

// addDays returns day d plus n days, YYYY-MM-DD.
func addDays(d string, n int) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, n).Format(time.DateOnly)
}

// InputOf is customer s as of the end of day asOf (YYYY-MM-DD) in the
// shop's time zone loc (nil means UTC). It is exact for any as-of day:
// the figures are re-derived from the summary's per-order entries
// (customer.Summary.Orders), counting only paid orders created before the
// midnight that ends asOf, with purchase days as calendar days in loc
// (the conventions of customer.Summary.Derive and clv.Summarize). ok is
// false when the customer has no paid order by then (not a customer yet,
// or a prospect) or asOf is not a valid day.
func InputOf(s customer.Summary, asOf string, loc *time.Location) (in Input, ok bool) {
	if loc == nil {
		loc = time.UTC
	}
	day, err := time.Parse(time.DateOnly, asOf)
	if err != nil {
		return Input{}, false
	}
	end := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc).Unix()
	byDay := map[string]int64{}
	in = Input{CustomerID: s.CustomerID, AsOf: asOf}
	for _, e := range s.Orders {
		if !e.Counted() || e.At >= end {
			continue
		}
		in.PaidOrders++
		in.TotalSpend += e.Net
		byDay[time.Unix(e.At, 0).In(loc).Format(time.DateOnly)] += e.Net
	}
	if in.PaidOrders == 0 {
		return Input{}, false
	}
	days := make([]string, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	slices.Sort(days)
	in.FirstDay, in.LastDay = days[0], days[len(days)-1]
	in.X = len(days) - 1
	in.RepeatSpend = in.TotalSpend - byDay[in.FirstDay]
	first, _ := dayNumber(in.FirstDay)
	last, _ := dayNumber(in.LastDay)
	a := day.Unix() / 86400
	in.Tx, in.T, in.RecencyDays = int(last-first), int(a-first), int(a-last)
	return in, true
}

// DefaultConfig is the scoring configuration of a shop that set nothing.
func DefaultConfig() Config {
	return Config{
		Months:             12,
		MonthlyDiscount:    0.01,
		LowRiskBelow:       0.3,
		HighRiskFrom:       0.7,
		ActiveThreshold:    0.5,
		MinRepeatCustomers: 300,
		MinHistoryDays:     90,
		MinSpendCustomers:  50,
		NextPurchaseCap:    365,
		EmpiricalPriorGaps: 1,
		HighTierShare:      0.2,
		MediumTierShare:    0.3,
		Models:             []string{ModelBGNBD, ModelMBGNBD, ModelParetoNBD},
	}
}

// Validate reports the first out-of-range field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	bad := func(field string, v any) error {
		return fmt.Errorf("%w: %s = %v", ErrInvalidConfig, field, v)
	}
	in01 := func(v float64) bool { return v >= 0 && v <= 1 }
	switch {
	case c.Months <= 0 || c.Months > 120:
		return bad("clv_months", c.Months)
	case !(c.MonthlyDiscount >= 0 && c.MonthlyDiscount < 1):
		return bad("monthly_discount", c.MonthlyDiscount)
	case !in01(c.LowRiskBelow):
		return bad("low_risk_below", c.LowRiskBelow)
	case !in01(c.HighRiskFrom) || c.HighRiskFrom < c.LowRiskBelow:
		return bad("high_risk_from", c.HighRiskFrom)
	case !in01(c.ActiveThreshold):
		return bad("active_threshold", c.ActiveThreshold)
	case c.MinRepeatCustomers < 0:
		return bad("min_repeat_customers", c.MinRepeatCustomers)
	case c.MinHistoryDays < 0:
		return bad("min_history_days", c.MinHistoryDays)
	case c.MinSpendCustomers < 1:
		return bad("min_spend_customers", c.MinSpendCustomers)
	case c.NextPurchaseCap <= 0 || c.NextPurchaseCap > 3650:
		return bad("next_purchase_cap_days", c.NextPurchaseCap)
	case !(c.EmpiricalPriorGaps > 0) || math.IsInf(c.EmpiricalPriorGaps, 0):
		return bad("empirical_prior_gaps", c.EmpiricalPriorGaps)
	case !in01(c.HighTierShare) || !in01(c.MediumTierShare) || c.HighTierShare+c.MediumTierShare > 1:
		return bad("high_tier_share/medium_tier_share", [2]float64{c.HighTierShare, c.MediumTierShare})
	}
	for _, m := range c.Models {
		if m != ModelBGNBD && m != ModelMBGNBD && m != ModelParetoNBD {
			return bad("models", m)
		}
	}
	return nil
}
