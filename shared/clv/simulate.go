package clv

import (
	"math"
	"math/rand/v2"
)

// SimOptions describes a simulated customer base.
type SimOptions struct {
	// N is the number of customers.
	N int
	// TMin and TMax bound the customers' ages at the calibration end T,
	// drawn uniformly (as for a cohort acquired over TMax−TMin time units).
	TMin, TMax float64
	// Holdout, when > 0, also simulates the next Holdout time units and
	// returns each customer's purchases in (T, T+Holdout].
	Holdout float64
	// Resolution, when > 0, rounds T and purchase times down to multiples of
	// it (1.0/7 for days when the unit is weeks), merging purchases that
	// fall on the same tick, as real transaction logs do. Zero keeps
	// continuous time, which the models assume exactly.
	Resolution float64
	// Seed seeds the random number generator.
	Seed uint64
}

// SimulateBGNBD draws customers from the BG/NBD generative process: purchase
// rate λ ~ Gamma(r, α), drop-out probability p ~ Beta(a, b), purchases at
// Poisson rate λ, and after each repeat purchase the customer leaves with
// probability p. Monetary is left 0 (see SimulateSpend). The second result
// holds the holdout purchase counts (nil when o.Holdout is 0).
func SimulateBGNBD(m BGNBD, o SimOptions) ([]Customer, []float64) {
	return simulateBetaGeo(m.R, m.Alpha, m.A, m.B, false, o)
}

// SimulateMBGNBD is SimulateBGNBD for MBG/NBD: the customer may also leave
// right after the first purchase.
func SimulateMBGNBD(m MBGNBD, o SimOptions) ([]Customer, []float64) {
	return simulateBetaGeo(m.R, m.Alpha, m.A, m.B, true, o)
}

func simulateBetaGeo(r, alpha, a, b float64, modified bool, o SimOptions) ([]Customer, []float64) {
	return simulate(o, 0x9e3779b97f4a7c15, func(rng *rand.Rand, end float64) []float64 {
		lambda := gammaDraw(rng, r) / alpha
		ga := gammaDraw(rng, a)
		p := ga / (ga + gammaDraw(rng, b))
		alive := !(modified && rng.Float64() < p)
		var times []float64
		for t := 0.0; alive && lambda > 0; {
			t += rng.ExpFloat64() / lambda
			if t > end {
				break
			}
			times = append(times, t)
			if rng.Float64() < p {
				alive = false
			}
		}
		return times
	})
}

// SimulateParetoNBD draws customers from the Pareto/NBD process (Schmittlein,
// Morrison & Colombo 1987): λ ~ Gamma(r, α), drop-out rate μ ~ Gamma(s, β),
// an exponential lifetime with rate μ, purchases at Poisson rate λ while
// alive.
func SimulateParetoNBD(r, alpha, s, beta float64, o SimOptions) ([]Customer, []float64) {
	return simulate(o, 0x2545f4914f6cdd1d, func(rng *rand.Rand, end float64) []float64 {
		lambda := gammaDraw(rng, r) / alpha
		mu := gammaDraw(rng, s) / beta
		if mu > 0 {
			end = math.Min(end, rng.ExpFloat64()/mu) // the lifetime
		}
		var times []float64
		for t := 0.0; lambda > 0; {
			t += rng.ExpFloat64() / lambda
			if t > end {
				break
			}
			times = append(times, t)
		}
		return times
	})
}

// simulate draws o.N customers: each an age T, then the times of their
// repeat purchases up to T + o.Holdout from purchases, summarised into the
// calibration Customer and the holdout purchase count (nil without holdout).
func simulate(o SimOptions, stream uint64, purchases func(rng *rand.Rand, end float64) []float64) ([]Customer, []float64) {
	rng := rand.New(rand.NewPCG(o.Seed, stream))
	cs := make([]Customer, o.N)
	var hold []float64
	if o.Holdout > 0 {
		hold = make([]float64, o.N)
	}
	for i := range cs {
		T := ageDraw(rng, o)
		var h float64
		cs[i], h = summariseTimes(purchases(rng, T+o.Holdout), T, o.Resolution)
		if hold != nil {
			hold[i] = h
		}
	}
	return cs, hold
}

// SimulateSpend fills Monetary for customers with X > 0 from the
// Gamma-Gamma process: ν ~ Gamma(q, γ) per customer and X transaction
// values ~ Gamma(p, ν), whose mean is stored.
func SimulateSpend(g GammaGamma, cs []Customer, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x632be59bd9b4e019))
	for i := range cs {
		if cs[i].X <= 0 {
			continue
		}
		nu := gammaDraw(rng, g.Q) / g.Gamma
		// The sum of X Gamma(p, ν) values is Gamma(pX, ν).
		cs[i].Monetary = gammaDraw(rng, g.P*cs[i].X) / nu / cs[i].X
	}
}

func ageDraw(rng *rand.Rand, o SimOptions) float64 {
	T := o.TMin + (o.TMax-o.TMin)*rng.Float64()
	if o.Resolution > 0 {
		T = math.Floor(T/o.Resolution) * o.Resolution
	}
	return T
}

// summariseTimes reduces purchase times (after the first purchase at 0) to
// (x, t_x, T) and counts the purchases in (T, ∞).
func summariseTimes(times []float64, T, res float64) (Customer, float64) {
	c := Customer{T: T}
	var hold float64
	last := 0.0
	for _, t := range times {
		if res > 0 {
			t = math.Floor(t/res) * res
			if t == last {
				continue // same tick as the previous purchase
			}
		}
		last = t
		if t <= T {
			c.X++
			c.Tx = t
		} else {
			hold++
		}
	}
	return c, hold
}

// gammaDraw draws from Gamma(shape, 1) (Marsaglia & Tsang 2000).
func gammaDraw(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		// Boost: Gamma(k) = Gamma(k+1) · U^(1/k).
		u := rng.Float64()
		return gammaDraw(rng, shape+1) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
