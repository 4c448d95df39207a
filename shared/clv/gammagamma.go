package clv

import (
	"math"
	"sort"
	"time"

	"gonum.org/v1/gonum/mathext"
)

// GammaGamma is a fitted Gamma-Gamma spend model (Fader, Hardie & Lee 2005,
// "RFM and CLV"; Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary
// Value"): a customer's transaction values are Gamma(P, ν) with ν ~
// Gamma(Q, Gamma) across customers, independently of their purchase
// process. Its data are the repeat customers' mean repeat transaction value.
type GammaGamma struct{ P, Q, Gamma float64 }

// GammaGammaNames are the Gamma-Gamma parameter names in FitOptions.Starts order.
var GammaGammaNames = []string{"p", "q", "gamma"}

// spendData is the Gamma-Gamma input: per repeat customer x, ln m and x·m,
// with the distinct x values for the terms that depend on x only.
type spendData struct {
	xVals  []float64 // distinct x, ascending
	xCount []float64
	x      []float64
	lnM    []float64 // ln m
	xm     []float64 // x·m
	n      int
	meanM  float64
}

// SpendCustomers returns the customers the Gamma-Gamma model can use:
// those with at least one repeat purchase and a positive mean repeat value
// (a customer whose repeat purchases were all zero-value is left out: the
// model's values are strictly positive).
func SpendCustomers(cs []Customer) []Customer {
	var out []Customer
	for _, c := range cs {
		if c.X > 0 && c.Monetary > 0 && !math.IsInf(c.Monetary, 0) && !math.IsInf(c.X, 0) {
			out = append(out, c)
		}
	}
	return out
}

func prepareSpend(cs []Customer) *spendData {
	cs = SpendCustomers(cs)
	s := &spendData{n: len(cs), x: make([]float64, len(cs)), lnM: make([]float64, len(cs)), xm: make([]float64, len(cs))}
	counts := map[float64]float64{}
	var sumM float64
	for i, c := range cs {
		s.x[i] = c.X
		s.lnM[i] = math.Log(c.Monetary)
		s.xm[i] = c.X * c.Monetary
		counts[c.X]++
		sumM += c.Monetary
	}
	for x := range counts {
		s.xVals = append(s.xVals, x)
	}
	sort.Float64s(s.xVals)
	for _, x := range s.xVals {
		s.xCount = append(s.xCount, counts[x])
	}
	if s.n > 0 {
		s.meanM = sumM / float64(s.n)
	}
	return s
}

// logLik is the Gamma-Gamma log-likelihood of the mean repeat values
// (Fader & Hardie 2013 eq. 3), with gradient and Hessian (row-major 3×3)
// in (p, q, γ) when grad and hess are non-nil:
//
//	ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(γ+xm)
func (s *spendData) logLik(par, grad, hess []float64) float64 {
	p, q, g := par[0], par[1], par[2]
	lgq, _ := math.Lgamma(q)
	lnG := math.Log(g)
	withGrad := grad != nil
	withHess := withGrad && hess != nil
	var ll, gp, gq, gg float64
	var hpp, hpq, hqq float64
	psiQ := mathext.Digamma(q)
	triQ := 0.0
	if withHess {
		triQ = trigamma(q)
	}
	// Per distinct x.
	for k, x := range s.xVals {
		n := s.xCount[k]
		a, _ := math.Lgamma(p*x + q)
		b, _ := math.Lgamma(p * x)
		ll += n * (a - b - lgq + q*lnG + p*x*math.Log(x))
		if withGrad {
			pa := mathext.Digamma(p*x + q)
			gp += n * x * (pa - mathext.Digamma(p*x) + math.Log(x))
			gq += n * (pa - psiQ + lnG)
			gg += n * q / g
			if withHess {
				ta := trigamma(p*x + q)
				hpp += n * x * x * (ta - trigamma(p*x))
				hpq += n * x * ta
				hqq += n * (ta - triQ)
			}
		}
	}
	nAcc := 4
	if withHess {
		nAcc = 8
	}
	acc := sumChunks(len(s.x), nAcc, func(lo, hi int, acc []float64) {
		var sll, sp, sq, sg, hpg, hqg, hgg float64
		for i := lo; i < hi; i++ {
			x := s.x[i]
			px := p * x
			lgx := math.Log(g + s.xm[i])
			sll += (px-1)*s.lnM[i] - (px+q)*lgx
			if withGrad {
				ig := 1 / (g + s.xm[i])
				sp += x * (s.lnM[i] - lgx)
				sq -= lgx
				sg -= (px + q) * ig
				if withHess {
					hpg -= x * ig
					hqg -= ig
					hgg += (px + q) * ig * ig
				}
			}
		}
		acc[0], acc[1], acc[2], acc[3] = sll, sp, sq, sg
		if withHess {
			acc[4], acc[5], acc[6] = hpg, hqg, hgg
		}
	})
	ll += acc[0]
	if withGrad {
		grad[0] = gp + acc[1]
		grad[1] = gq + acc[2]
		grad[2] = gg + acc[3]
	}
	if withHess {
		n := float64(s.n)
		hqg := n/g + acc[5]
		hgg := -n*q/(g*g) + acc[6]
		copy(hess, []float64{
			hpp, hpq, acc[4],
			hpq, hqq, hqg,
			acc[4], hqg, hgg,
		})
	}
	return ll
}

// FitGammaGamma fits the Gamma-Gamma model to the customers' mean repeat
// values; only SpendCustomers(cs) enter the fit (FitResult.Customers
// counts them).
func FitGammaGamma(cs []Customer, opts FitOptions) (GammaGamma, FitResult) {
	start := time.Now()
	s := prepareSpend(cs)
	if s.n == 0 {
		return GammaGamma{}, FitResult{Model: "gammagamma", LogLik: math.Inf(-1),
			Status: "no customer with a repeat purchase of positive value"}
	}
	// Moment-based start: values ~ Gamma(p, ν) with mean p/ν; across
	// customers E[p/ν] = pγ/(q−1).
	mean := s.meanM
	starts := [][]float64{{1, 1, 1}, {2, 3, 2 * mean}, {6, 4, 15 * mean / 35}}
	par, res := Maximize(Problem{
		Model: "gammagamma", Names: GammaGammaNames, Customers: s.n,
		Starts: starts, LogLikHess: s.logLik, Concurrent: len(s.x) < parallelMin,
	}, opts)
	res.Seconds = time.Since(start).Seconds()
	if par == nil {
		return GammaGamma{}, res
	}
	return GammaGamma{P: par[0], Q: par[1], Gamma: par[2]}, res
}

// LogLikelihood is the model's log-likelihood of the customers' mean
// repeat values (SpendCustomers only).
func (m GammaGamma) LogLikelihood(cs []Customer) float64 {
	return prepareSpend(cs).logLik([]float64{m.P, m.Q, m.Gamma}, nil, nil)
}

// ExpectedAverageValue is E[M | x, mean value m]: the expected value of a
// customer's future transactions, a weighted mean of the population mean
// pγ/(q−1) and the customer's own mean (Fader & Hardie 2013 eq. 5):
// p(γ + x·m)/(px + q − 1). For customers without repeat purchases (x = 0)
// it is the population mean. The population mean is infinite when q <= 1;
// then the customer's own mean m is returned for x > 0 and 0 for x = 0.
func (m GammaGamma) ExpectedAverageValue(x, monetary float64) float64 {
	if !(x > 0) || !(monetary > 0) {
		x, monetary = 0, 0
	}
	den := m.P*x + m.Q - 1
	if !(den > 0) {
		return monetary
	}
	v := m.P * (m.Gamma + x*monetary) / den
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return monetary
	}
	return v
}

// PopulationMean is the expected transaction value of a random customer,
// pγ/(q−1) (infinite when q <= 1).
func (m GammaGamma) PopulationMean() float64 {
	if m.Q <= 1 {
		return math.Inf(1)
	}
	return m.P * m.Gamma / (m.Q - 1)
}
