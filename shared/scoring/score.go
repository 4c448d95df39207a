package scoring

import (
	"math"
	"time"

	"github.com/winback/winback/shared/clv"
)

// scoreOptions are the clv scoring options of m: days, a 365-day horizon,
// m's CLV months and discount, its next-purchase cap, one goroutine.
func (m Model) scoreOptions() clv.ScoreOptions {
	return clv.ScoreOptions{
		Horizon: 365, Months: m.Config.Months, MonthlyDiscount: m.Config.MonthlyDiscount,
		Unit: clv.Day, NextPurchaseCap: float64(m.Config.NextPurchaseCap), Workers: 1,
	}
}

// customerOf is the input as clv's model input (days, minor units).
func customerOf(in Input) clv.Customer {
	return clv.Customer{ID: in.CustomerID, X: float64(in.X), Tx: float64(in.Tx), T: float64(in.T), Monetary: in.monetary()}
}

// Score scores one customer with the shop's model. P(alive), the expected
// purchases over 365 days, the expected order value, the CLV and the next
// order date are exactly clv.ScoreCustomers' with Unit Day (Horizon 365,
// m.Config's months, discount and next-purchase cap): the figures
// `winback clv score --unit day` prints for the same model and data, CLV
// and order value in minor units. The next order date is the as-of day
// plus the next-purchase time rounded up to whole days, as the CLI
// prints it. Non-finite results (not expected from valid inputs) are
// reported as 0.
func Score(m Model, in Input) CustomerScore {
	tm, gg := m.transactionModel(), m.spendModel()
	s := clv.ScoreCustomers(tm, gg, []clv.Customer{customerOf(in)}, m.scoreOptions())[0]
	return m.finish(tm, in, s)
}

// ScoreAll scores many customers at once, as Score does one by one but
// computing identical histories once (and in parallel when workers is 0
// or more than 1; 0 means GOMAXPROCS). The result is in ins's order and
// equals Score on each input.
func ScoreAll(m Model, ins []Input, workers int) []CustomerScore {
	tm, gg := m.transactionModel(), m.spendModel()
	cs := make([]clv.Customer, len(ins))
	for i, in := range ins {
		cs[i] = customerOf(in)
	}
	o := m.scoreOptions()
	o.Workers = workers
	ss := clv.ScoreCustomers(tm, gg, cs, o)
	out := make([]CustomerScore, len(ins))
	for i := range ins {
		out[i] = m.finish(tm, ins[i], ss[i])
	}
	return out
}

// finish completes a customer's scores from clv's.
func (m Model) finish(tm clv.TransactionModel, in Input, s clv.CustomerScore) CustomerScore {
	x, tx, T := float64(in.X), float64(in.Tx), float64(in.T)
	sc := CustomerScore{
		CustomerID: in.CustomerID, AsOf: m.AsOf, Model: m.Name,
		PAlive:                clamp01(s.PAlive),
		ExpectedPurchases30d:  finite(tm.ConditionalExpected(30, x, tx, T)),
		ExpectedPurchases90d:  finite(tm.ConditionalExpected(90, x, tx, T)),
		ExpectedPurchases365d: finite(s.Expected),
		ExpectedOrderValue:    finite(s.AverageValue),
		CLV:                   finite(s.CLV),
	}
	if sc.AsOf == "" {
		sc.AsOf = in.AsOf
	}
	sc.ChurnRisk = 1 - sc.PAlive
	sc.ChurnBand = BandOf(sc.ChurnRisk, m.Config)
	sc.Active = sc.PAlive >= m.Config.ActiveThreshold
	if t := s.NextPurchase; !math.IsInf(t, 0) && !math.IsNaN(t) {
		sc.NextOrderDate = addDays(sc.AsOf, int(math.Ceil(t-1e-9)))
	}
	sc.Recency, sc.Frequency, sc.Monetary = m.RFM.Scores(in)
	sc.Segment = SegmentOf(sc.Recency, sc.Frequency, sc.Monetary)
	sc.SpendTier = m.Tiers.TierOf(sc.CLV)
	return sc
}

// Prospect is the score of a known customer without a paid order by the
// as-of day: segment prospects, RFM scores 0, no band or tier, and zero
// probabilities, expectations and values.
func Prospect(m Model, customerID string) CustomerScore {
	return CustomerScore{CustomerID: customerID, AsOf: m.AsOf, Model: m.Name, Segment: SegmentProspects}
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func clamp01(v float64) float64 {
	if !(v > 0) {
		return 0
	}
	return min(v, 1)
}

// Tolerances of Changed.
const (
	// ProbabilityTolerance is the largest move of p_alive or churn_risk
	// that does not need a rewrite (absolute).
	ProbabilityTolerance = 0.02
	// RelativeTolerance is the largest relative move of an expectation or
	// amount that does not need a rewrite ...
	RelativeTolerance = 0.05
	// ... nor does a move below PurchasesFloor purchases or MoneyFloor
	// minor units, whatever its relative size.
	PurchasesFloor = 0.001
	MoneyFloor     = 1.0
	// DateToleranceDays is the largest move of the next order date that
	// does not need a rewrite (a date appearing or disappearing always does).
	DateToleranceDays = 3
)

// Changed reports whether a stored score old must be rewritten with new:
// p_alive or churn_risk moved by more than ProbabilityTolerance (0.02);
// an expected purchase count moved by more than 5% and more than 0.001;
// the expected order value or CLV moved by more than 5% and more than one
// minor unit; the next order date moved by more than DateToleranceDays (3)
// or appeared or disappeared; or the model, band, active flag, segment,
// tier or any RFM score changed. Every stored score is therefore within
// those tolerances of the latest night's, and its band, segment and tier
// are exact. The as-of day alone does not count: a score that did not move
// keeps its older as-of day.
func Changed(old, new CustomerScore) bool {
	moved := func(a, b, floor float64) bool {
		d := math.Abs(a - b)
		return d > floor && d > RelativeTolerance*math.Max(math.Abs(a), math.Abs(b))
	}
	return old.CustomerID != new.CustomerID || old.Model != new.Model ||
		math.Abs(old.PAlive-new.PAlive) > ProbabilityTolerance ||
		math.Abs(old.ChurnRisk-new.ChurnRisk) > ProbabilityTolerance ||
		old.ChurnBand != new.ChurnBand || old.Active != new.Active ||
		moved(old.ExpectedPurchases30d, new.ExpectedPurchases30d, PurchasesFloor) ||
		moved(old.ExpectedPurchases90d, new.ExpectedPurchases90d, PurchasesFloor) ||
		moved(old.ExpectedPurchases365d, new.ExpectedPurchases365d, PurchasesFloor) ||
		moved(old.ExpectedOrderValue, new.ExpectedOrderValue, MoneyFloor) ||
		moved(old.CLV, new.CLV, MoneyFloor) ||
		datesApart(old.NextOrderDate, new.NextOrderDate) > DateToleranceDays ||
		old.Recency != new.Recency || old.Frequency != new.Frequency || old.Monetary != new.Monetary ||
		old.Segment != new.Segment || old.SpendTier != new.SpendTier
}

// datesApart is how many days apart two YYYY-MM-DD dates are; a date and
// "" (or an unreadable date) are infinitely apart, "" and "" not at all.
func datesApart(a, b string) int {
	if a == b {
		return 0
	}
	ta, errA := time.Parse(time.DateOnly, a)
	tb, errB := time.Parse(time.DateOnly, b)
	if errA != nil || errB != nil {
		return math.MaxInt
	}
	d := int(ta.Sub(tb).Hours() / 24)
	if d < 0 {
		d = -d
	}
	return d
}
