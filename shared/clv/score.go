package clv

import (
	"math"
	"runtime"
	"sync"
)

// aliveModel is implemented by models whose conditional expectation
// factors as P(alive | x, t_x, T) · E[purchases in (T, T+t] | alive, x, T]:
// the second factor does not depend on t_x, so scoring computes it once
// per distinct (x, T).
type aliveModel interface {
	TransactionModel
	aliveExpected(t, x, T float64) float64
}

func (m BGNBD) aliveExpected(t, x, T float64) float64 {
	return aliveSeries(t, m.R+x, m.Alpha+T, m.A, m.B+x)
}

func (m MBGNBD) aliveExpected(t, x, T float64) float64 {
	return aliveSeries(t, m.R+x, m.Alpha+T, m.A, m.B+x+1)
}

// Prediction is one customer's transaction-model outputs.
type Prediction struct {
	// PAlive is the probability the customer is still active (churn risk
	// is 1 − PAlive).
	PAlive float64
	// Expected is the conditional expected number of purchases over the horizon.
	Expected float64
}

// Predict computes P(alive) and the expected purchases in the next t time
// units for every customer, splitting the customers over workers goroutines
// (0 means GOMAXPROCS). Identical histories are computed once per worker.
func Predict(m TransactionModel, cs []Customer, t float64, workers int) []Prediction {
	out := make([]Prediction, len(cs))
	am, fast := m.(aliveModel)
	parallel(len(cs), workers, func(lo, hi int) {
		tab := newTripleTable(0)
		var preds []Prediction
		type key struct{ x, T float64 }
		alive := map[key]float64{} // E[purchases | alive] per (x, T)
		for i := lo; i < hi; i++ {
			c := &cs[i]
			k, isNew := tab.index(c.X, c.Tx, c.T)
			if isNew {
				var p Prediction
				if fast {
					x, tx, T := clampHistory(c.X, c.Tx, c.T)
					e, ok := alive[key{x, T}]
					if !ok {
						e = am.aliveExpected(t, x, T)
						alive[key{x, T}] = e
					}
					p.PAlive = am.PAlive(x, tx, T)
					p.Expected = p.PAlive * e
				} else {
					p = Prediction{PAlive: m.PAlive(c.X, c.Tx, c.T), Expected: m.ConditionalExpected(t, c.X, c.Tx, c.T)}
				}
				preds = append(preds, p)
			}
			out[i] = preds[k]
		}
	})
	return out
}

// parallel runs f over [0, n) in contiguous chunks on workers goroutines
// (0 means GOMAXPROCS).
func parallel(n, workers int, f func(lo, hi int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > n {
		workers = max(n, 1)
	}
	if workers == 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// MonthLength is the length of a month in the unit, as lifetimes'
// customer_lifetime_value counts it: 4.345 weeks or 30 days.
func MonthLength(u Unit) float64 {
	if u == Day {
		return 30
	}
	return 4.345
}

// ScoreOptions configures ScoreCustomers. Times are in the data's unit.
type ScoreOptions struct {
	// Horizon is the period for CustomerScore.Expected (0 means one year: 52 weeks or 365 days).
	Horizon float64
	// Months is the CLV horizon in months (0 means 12).
	Months int
	// MonthlyDiscount is the discount rate per month (e.g. 0.01).
	MonthlyDiscount float64
	// Unit is the data's time unit, for month lengths and defaults ("" means Week).
	Unit Unit
	// NextPurchaseCap is how far ahead the next purchase is looked for
	// (0 means one year).
	NextPurchaseCap float64
	// Workers is the number of goroutines (0 means GOMAXPROCS).
	Workers int
}

// CustomerScore is one customer's full set of model outputs.
type CustomerScore struct {
	Prediction
	// AverageValue is the expected value of a future purchase (Gamma-Gamma).
	AverageValue float64
	// CLV is the discounted expected value of the customer's purchases over
	// the next Months months.
	CLV float64
	// NextPurchase is the time from T until the customer's conditional
	// expected purchases reach one, in the data's unit; +Inf when they do
	// not within NextPurchaseCap.
	NextPurchase float64
}

// ScoreCustomers scores customers with a transaction model and a spend model.
//
// CLV follows the analysts' discrete computation (lifetimes'
// customer_lifetime_value): for months k = 1..Months,
//
//	CLV = Σ_k (E[Y(k·month)] − E[Y((k−1)·month)]) · v / (1+d)^k
//
// where E[Y(t)] is the conditional expected number of purchases in the next
// t, v the Gamma-Gamma expected average value and d the monthly discount
// rate. NextPurchase is the t at which E[Y(t)] = 1 (found by bisection to a
// hundredth of a day): the date by which one purchase is expected. It is
// +Inf when E[Y(cap)] < 1, which is the case for customers who are
// probably gone.
func ScoreCustomers(m TransactionModel, spend GammaGamma, cs []Customer, o ScoreOptions) []CustomerScore {
	unit := o.Unit
	if unit == "" {
		unit = Week
	}
	year := 365 / unit.Days()
	if o.Horizon <= 0 {
		o.Horizon = year
	}
	if o.Months <= 0 {
		o.Months = 12
	}
	if o.NextPurchaseCap <= 0 {
		o.NextPurchaseCap = year
	}
	month := MonthLength(unit)
	tol := 0.01 / unit.Days()
	out := make([]CustomerScore, len(cs))
	am, fast := m.(aliveModel)
	parallel(len(cs), o.Workers, func(lo, hi int) {
		type key struct{ x, tx, T, mon float64 }
		cache := make(map[key]CustomerScore)
		for i := lo; i < hi; i++ {
			c := cs[i]
			x, tx, T := clampHistory(c.X, c.Tx, c.T)
			k := key{x, tx, T, c.Monetary}
			if s, ok := cache[k]; ok {
				out[i] = s
				continue
			}
			pa := m.PAlive(x, tx, T)
			ce := func(t float64) float64 {
				if fast {
					return pa * am.aliveExpected(t, x, T)
				}
				return m.ConditionalExpected(t, x, tx, T)
			}
			s := CustomerScore{Prediction: Prediction{PAlive: pa, Expected: ce(o.Horizon)}}
			s.AverageValue = spend.ExpectedAverageValue(x, c.Monetary)
			prev := 0.0
			for mo := 1; mo <= o.Months; mo++ {
				cur := ce(float64(mo) * month)
				s.CLV += (cur - prev) * s.AverageValue / math.Pow(1+o.MonthlyDiscount, float64(mo))
				prev = cur
			}
			s.NextPurchase = solveOne(ce, o.NextPurchaseCap, tol)
			cache[k] = s
			out[i] = s
		}
	})
	return out
}

// solveOne returns the t in (0, cap] where the increasing f reaches 1, to
// within tol, or +Inf when f(cap) < 1.
func solveOne(f func(float64) float64, cap, tol float64) float64 {
	if !(f(cap) >= 1) {
		return math.Inf(1)
	}
	lo, hi := 0.0, cap
	for hi-lo > tol {
		mid := (lo + hi) / 2
		if f(mid) >= 1 {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}
