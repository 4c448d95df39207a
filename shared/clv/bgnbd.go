package clv

import (
	"math"
	"time"
)

// BGNBD is a fitted BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your
// Customers the Easy Way"): while active a customer buys at Poisson rate
// λ ~ Gamma(R, Alpha); after each purchase they drop out with probability
// p ~ Beta(A, B). Alpha is in the data's time unit.
type BGNBD struct{ R, Alpha, A, B float64 }

var _ TransactionModel = BGNBD{}

// BGNBDNames are the BG/NBD parameter names in FitOptions.Starts order.
var BGNBDNames = []string{"r", "alpha", "a", "b"}

// FitBGNBD fits BG/NBD by maximum likelihood.
func FitBGNBD(d Data, opts FitOptions) (BGNBD, FitResult) {
	par, res := fitBetaGeo(d, opts, false)
	if par == nil {
		return BGNBD{}, res
	}
	return BGNBD{R: par[0], Alpha: par[1], A: par[2], B: par[3]}, res
}

// fitBetaGeo fits BG/NBD, or MBG/NBD when modified, and returns r, α, a, b
// (nil when the fit failed).
func fitBetaGeo(d Data, opts FitOptions, modified bool) ([]float64, FitResult) {
	model := "bgnbd"
	if modified {
		model = "mbgnbd"
	}
	start := time.Now()
	p := prepare(d)
	if p.totalWeight == 0 {
		return nil, FitResult{Model: model, LogLik: math.Inf(-1), Status: "no customers"}
	}
	par, res := Maximize(Problem{
		Model: model, Names: BGNBDNames, Customers: p.customers,
		Starts: betaGeoStarts(p), Concurrent: len(p.w) < parallelMin,
		LogLikHess: func(par, grad, hess []float64) float64 { return betaGeoLogLik(p, modified, par, grad, hess) },
	}, opts)
	res.Seconds = time.Since(start).Seconds()
	return par, res
}

// LogLikelihood is the model's log-likelihood of the data.
func (m BGNBD) LogLikelihood(d Data) float64 {
	return betaGeoLogLik(prepare(d), false, m.params(), nil, nil)
}

func (m BGNBD) params() []float64 { return []float64{m.R, m.Alpha, m.A, m.B} }

// PAlive is the probability that a customer with history (x, tx, T) is
// still active: 1 / (1 + [x>0] a/(b+x−1) · ((α+T)/(α+tx))^(r+x)).
func (m BGNBD) PAlive(x, tx, T float64) float64 {
	return betaGeoPAlive(m.R, m.Alpha, m.A, m.B, false, x, tx, T)
}

// ConditionalExpected is the expected number of purchases in (T, T+t] for a
// customer with history (x, tx, T) (FHL 2005 eq. 10).
func (m BGNBD) ConditionalExpected(t, x, tx, T float64) float64 {
	x, tx, T = clampHistory(x, tx, T)
	return m.PAlive(x, tx, T) * aliveSeries(t, m.R+x, m.Alpha+T, m.A, m.B+x)
}

// Expected is E[X(t)], the expected number of repeat purchases in (0, t]
// of a customer who made their first purchase at time 0.
func (m BGNBD) Expected(t float64) float64 {
	return aliveSeries(t, m.R, m.Alpha, m.A, m.B)
}
