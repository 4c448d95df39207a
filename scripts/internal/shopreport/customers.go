package shopreport

import (
	"maps"
	"math"
	"slices"
	"time"

	"github.com/winback/winback/shared/clv"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/scoring"
)

// Days are calendar days of the shop's time zone numbered from 1970-01-01
// (day 0), so that differences are whole days whatever the DST.

// dayOf is the number of day s (YYYY-MM-DD).
func dayOf(s string) (int64, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, err
	}
	return t.Unix() / 86400, nil
}

// dayString is day n as YYYY-MM-DD.
func dayString(n int64) string { return time.Unix(n*86400, 0).UTC().Format(time.DateOnly) }

// monthOf numbers day n's calendar month (year·12 + month − 1).
func monthOf(n int64) int {
	t := time.Unix(n*86400, 0).UTC()
	return t.Year()*12 + int(t.Month()) - 1
}

// monthString is month m as YYYY-MM.
func monthString(m int) string {
	return time.Date(m/12, time.Month(m%12+1), 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
}

// monthStart is the first day of month m.
func monthStart(m int) int64 {
	return time.Date(m/12, time.Month(m%12+1), 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// PurchaseDays are a customer's purchase days up to day asOf: the distinct
// calendar days in loc with a paid order (customer.Entry.Counted), sorted,
// as day numbers. Several orders on one day are one purchase, as in the
// scoring (shared/scoring.InputOf).
func PurchaseDays(s customer.Summary, loc *time.Location, asOf int64) []int64 {
	var days []int64
	for _, e := range s.Orders {
		if !e.Counted() {
			continue
		}
		y, m, d := time.Unix(e.At, 0).In(loc).Date()
		n := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
		if n <= asOf {
			days = append(days, n)
		}
	}
	slices.Sort(days)
	return slices.Compact(days)
}

// accumulator reduces customers' purchase days, one customer at a time, to
// what the cohorts, the repeat-purchase curve and the model fit need.
type accumulator struct {
	asOf      int64
	customers int64
	firstDay  int64 // the shop's first purchase day (valid when customers > 0)
	// newByDay counts customers by first purchase day, repeatByDay repeat
	// purchases (purchase days after a customer's first) by day.
	newByDay    map[int64]int64
	repeatByDay map[int64]int64
	// cohortSize and cohortActive count customers by first purchase month,
	// and by that month and months since it with a purchase.
	cohortSize   map[int]int64
	cohortActive map[int]map[int]int64
	// eligible and repeated are difference arrays over d = 0..CurveDays of
	// the customers at least d days old and those of them whose second
	// purchase came within d days.
	eligible, repeated [CurveDays + 2]int64
}

func newAccumulator(asOf int64) *accumulator {
	return &accumulator{asOf: asOf, newByDay: map[int64]int64{}, repeatByDay: map[int64]int64{},
		cohortSize: map[int]int64{}, cohortActive: map[int]map[int]int64{}}
}

// add adds a customer's purchase days (PurchaseDays: sorted, distinct, none
// after asOf); a customer without any is not a customer yet.
func (a *accumulator) add(days []int64) {
	if len(days) == 0 {
		return
	}
	d0 := days[0]
	if a.customers == 0 || d0 < a.firstDay {
		a.firstDay = d0
	}
	a.customers++
	a.newByDay[d0]++
	for _, d := range days[1:] {
		a.repeatByDay[d]++
	}

	c := monthOf(d0)
	a.cohortSize[c]++
	if a.cohortActive[c] == nil {
		a.cohortActive[c] = map[int]int64{}
	}
	last := -1
	for _, d := range days {
		if k := monthOf(d) - c; k != last {
			a.cohortActive[c][k]++
			last = k
		}
	}

	age := min(a.asOf-d0, CurveDays) // the last d the customer is counted at
	a.eligible[0]++
	a.eligible[age+1]--
	if len(days) > 1 {
		if gap := days[1] - d0; gap <= age {
			a.repeated[gap]++
			a.repeated[age+1]--
		}
	}
}

// cohorts is the retention triangle.
func (a *accumulator) cohorts() Cohorts {
	out := Cohorts{Through: dayString(a.asOf), LastMonthPartial: monthOf(a.asOf+1) == monthOf(a.asOf), Cohorts: []Cohort{}}
	last := monthOf(a.asOf)
	for _, c := range slices.Sorted(maps.Keys(a.cohortSize)) {
		n := a.cohortSize[c]
		co := Cohort{Month: monthString(c), Customers: n}
		for k := 0; k <= last-c; k++ {
			co.Active = append(co.Active, a.cohortActive[c][k])
			co.Retention = append(co.Retention, float64(a.cohortActive[c][k])/float64(n))
		}
		out.Cohorts = append(out.Cohorts, co)
	}
	return out
}

// repeatCurve is the repeat-purchase curve over d = 0..maxDays (at most
// CurveDays), leaving out the days no customer is old enough for.
func (a *accumulator) repeatCurve(maxDays int) []RepeatPoint {
	out := []RepeatPoint{}
	var e, r int64
	for d := 0; d <= min(maxDays, CurveDays); d++ {
		e += a.eligible[d]
		r += a.repeated[d]
		if e == 0 {
			break
		}
		out = append(out, RepeatPoint{Days: d, Customers: e, Repeated: r, Share: float64(r) / float64(e)})
	}
	return out
}

// Tracking periods: weeks, or calendar months when the history is longer
// than this many days.
const weeklyUpTo = 3 * 52 * 7

// modelFit tracks m's forecast against the repeat purchases.
func (a *accumulator) modelFit(m scoring.Model) ModelFit {
	f := ModelFit{Model: m.Name, Reason: m.Reason, Params: m.Params, Customers: a.customers, Periods: []FitPeriod{}}
	for _, c := range m.Candidates {
		if c.Model == m.Name {
			f.StdErr = c.StdErr
			if !math.IsInf(c.LogLik, 0) && !math.IsNaN(c.LogLik) {
				ll := c.LogLik
				f.LogLikelihood = &ll
			}
		}
	}
	tm, why := transactionModel(m)
	switch {
	case tm == nil:
		f.Omitted = why
		return f
	case a.customers == 0:
		f.Omitted = "no customers to track"
		return f
	}

	// ex[k] is E[X(k)]: a customer's expected repeat purchases within k
	// days of their first (the models' unit is the day).
	span := a.asOf - a.firstDay
	ex := make([]float64, span+1)
	for k := range ex {
		ex[k] = finite(tm.Expected(float64(k)))
	}
	firsts := slices.Sorted(maps.Keys(a.newByDay))
	// cumulative is the expected repeat purchases up to the end of day e.
	cumulative := func(e int64) float64 {
		var s float64
		for _, d0 := range firsts {
			if d0 > e {
				break
			}
			s += float64(a.newByDay[d0]) * ex[e-d0]
		}
		return s
	}

	f.Period = "week"
	if span+1 > weeklyUpTo {
		f.Period = "month"
	}
	var cumActual int64
	var cumPred float64
	for start := a.firstDay; start <= a.asOf; {
		end := start + 6
		if f.Period == "month" {
			end = monthStart(monthOf(start)+1) - 1
		}
		end = min(end, a.asOf)
		var actual int64
		for d := start; d <= end; d++ {
			actual += a.repeatByDay[d]
		}
		c := cumulative(end)
		cumActual += actual
		f.Periods = append(f.Periods, FitPeriod{Start: dayString(start), End: dayString(end),
			Actual: actual, Predicted: c - cumPred, CumulativeActual: cumActual, CumulativePredicted: c})
		cumPred = c
		start = end + 1
	}
	f.ActualTotal, f.PredictedTotal = cumActual, cumPred
	return f
}

// transactionModel is the fitted model m names, or nil with the reason
// there is none to track.
func transactionModel(m scoring.Model) (clv.TransactionModel, string) {
	p := m.Params
	var names []string
	var tm clv.TransactionModel
	switch m.Name {
	case scoring.ModelBGNBD:
		names, tm = clv.BGNBDNames, clv.BGNBD{R: p["r"], Alpha: p["alpha"], A: p["a"], B: p["b"]}
	case scoring.ModelMBGNBD:
		names, tm = clv.BGNBDNames, clv.MBGNBD{R: p["r"], Alpha: p["alpha"], A: p["a"], B: p["b"]}
	case scoring.ModelParetoNBD:
		names, tm = clv.ParetoNBDNames, clv.ParetoNBD{R: p["r"], Alpha: p["alpha"], S: p["s"], Beta: p["beta"]}
	case scoring.ModelEmpirical:
		return nil, "the empirical model (young shops, or no acceptable fit) has no population forecast to compare with: " +
			"the tracking appears once a BG/NBD-type model is fitted"
	default:
		return nil, "unknown model " + m.Name
	}
	for _, n := range names {
		if v, ok := p[n]; !ok || !(v > 0) || math.IsInf(v, 0) {
			return nil, "the model's parameter " + n + " is missing or not positive"
		}
	}
	return tm, ""
}

// finite maps NaN and ±Inf to 0 (JSON has no such numbers).
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
