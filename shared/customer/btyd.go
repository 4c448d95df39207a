package customer

import (
	"time"

	"github.com/winback/winback/shared/clv"
)

// BTYD is the summary as the models' input at asOf: X repeat purchase
// days, Tx the days from the first to the last purchase day and T the days
// from the first purchase day to asOf's day, all as calendar days in loc
// divided by unitDays (7 for weeks), and Monetary the mean repeat-day spend
// in minor units. The conventions are clv.Summarize's, so a shop's stored
// summaries and its exported transaction log give the models the same
// numbers. ok is false for a customer without purchases on or before asOf.
func (s Summary) BTYD(asOf time.Time, loc *time.Location, unitDays float64) (c clv.Customer, ok bool) {
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
