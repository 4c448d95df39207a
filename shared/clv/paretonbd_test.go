package clv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// pnbdParams are parameter points that exercise every path of the J
// evaluation: the CDNOW fit, α > β, α = β, s = 1, integer r, the continued
// fraction (α and β far apart) and the split near z = 1 (one of them tiny).
var pnbdParams = []struct {
	name string
	m    ParetoNBD
}{
	{"cdnow", ParetoNBD{R: 0.553, Alpha: 10.578, S: 0.606, Beta: 11.669}},
	{"alpha>beta", ParetoNBD{R: 0.5, Alpha: 20, S: 0.8, Beta: 5}},
	{"alpha=beta", ParetoNBD{R: 1.2, Alpha: 7, S: 0.9, Beta: 7}},
	{"s=1", ParetoNBD{R: 0.7, Alpha: 3, S: 1, Beta: 9}},
	{"integer r", ParetoNBD{R: 1, Alpha: 4, S: 2, Beta: 2}},
	{"cf alpha<<beta", ParetoNBD{R: 0.8, Alpha: 1, S: 0.5, Beta: 30}},
	{"cf alpha>>beta", ParetoNBD{R: 0.8, Alpha: 40, S: 1.5, Beta: 2}},
	{"split alpha tiny", ParetoNBD{R: 0.6, Alpha: 1e-3, S: 0.7, Beta: 50}},
	{"split beta tiny", ParetoNBD{R: 0.6, Alpha: 100, S: 2.5, Beta: 1e-4}},
	{"split beta tiny s=1", ParetoNBD{R: 0.6, Alpha: 100, S: 1, Beta: 1e-4}},
}

// pnbdHistories are (x, tx, T) that exercise the edge cases: x = 0, tx = T,
// tx a hair below T (midpoint rule), large x (log-space path), large T.
var pnbdHistories = []Triple{
	{X: 0, Tx: 0, T: 38.86}, {X: 0, Tx: 0, T: 5}, {X: 0, Tx: 0, T: 0},
	{X: 1, Tx: 1, T: 39}, {X: 2, Tx: 30.43, T: 38.86}, {X: 10, Tx: 38.5, T: 38.86},
	{X: 20, Tx: 0.5, T: 39}, {X: 3, Tx: 39, T: 39}, {X: 5, Tx: 39 - 1e-9, T: 39},
	{X: 300, Tx: 38, T: 39}, {X: 1000, Tx: 1, T: 39}, {X: 2, Tx: 1e4, T: 1e5},
}

// refLnJ is ln J = ln ∫_tx^T (α+τ)^−(r+x) (β+τ)^−(s+1) dτ by brute force:
// composite 20-point Gauss–Legendre over 2,000 panels in v = ln(n+τ),
// n = min(α, β), which makes the integrand smooth on every scale (or in τ
// itself when T − tx is too short for ln(n+T) − ln(n+tx) to be accurate).
func refLnJ(m ParetoNBD, x, tx, T float64) float64 {
	if !(T > tx) {
		return math.Inf(-1)
	}
	n := math.Min(m.Alpha, m.Beta)
	const panels, nodes = 2000, 20
	xs, ws := make([]float64, nodes), make([]float64, nodes)
	quad.Legendre{}.FixedLocations(xs, ws, -1, 1)
	var phi, wt []float64
	mx := math.Inf(-1)
	short := T-tx < 1e-6*(n+tx)
	if short {
		for k := range xs {
			tau := tx + (T-tx)*(xs[k]+1)/2
			f := -(m.R+x)*math.Log(m.Alpha+tau) - (m.S+1)*math.Log(m.Beta+tau)
			phi = append(phi, f)
			wt = append(wt, ws[k]*(T-tx)/2)
			mx = math.Max(mx, f)
		}
	}
	v1, v2 := math.Log(n+tx), math.Log(n+T)
	h := (v2 - v1) / panels
	for p := 0; p < panels && !short; p++ {
		c := v1 + (float64(p)+0.5)*h
		for k := range xs {
			v := c + xs[k]*h/2
			tau := math.Exp(v) - n
			f := -(m.R+x)*math.Log(m.Alpha+tau) - (m.S+1)*math.Log(m.Beta+tau) + v
			phi = append(phi, f)
			wt = append(wt, ws[k]*h/2)
			mx = math.Max(mx, f)
		}
	}
	sum := 0.0
	for i, f := range phi {
		sum += wt[i] * math.Exp(f-mx)
	}
	return mx + math.Log(sum)
}

func TestParetoNBDJMatchesQuadrature(t *testing.T) {
	for _, pc := range pnbdParams {
		m := pc.m
		for _, h := range pnbdHistories {
			c := m.customer(h.X, h.Tx, h.T)
			got, _ := c.lnOnePlusRho(false, nil)
			want := refLnJ(m, h.X, h.Tx, h.T)
			if math.IsInf(want, -1) {
				if got != 0 {
					t.Errorf("%s %+v: ln(1+rho) = %v, want 0", pc.name, h, got)
				}
				continue
			}
			// ln(J/B1) by the package's own quadrature.
			lq, _ := c.quadLnJB1(false)
			if math.Abs(lq-(want-c.lb1)) > 1e-9*math.Max(1, math.Abs(lq)) {
				t.Errorf("%s %+v: ln(J/B1) = %.12g, reference %.12g", pc.name, h, lq, want-c.lb1)
			}
			// ln(1+ρ), ρ = s J / B1, through whichever path applies.
			sp, _ := softplusSigmoid(math.Log(m.S) + want - c.lb1)
			if math.Abs(got-sp) > 1e-9*math.Max(1, sp) {
				t.Errorf("%s %+v: ln(1+rho) = %.12g, reference %.12g", pc.name, h, got, sp)
			}
			// The scoring fast path, where it applies.
			if rho, ok := m.rhoFast(h.X, h.Tx, h.T); ok && math.Abs(math.Log1p(rho)-sp) > 1e-9*math.Max(1, sp) {
				t.Errorf("%s %+v: scoring ln(1+rho) = %.12g, reference %.12g", pc.name, h, math.Log1p(rho), sp)
			}
		}
	}
}

// The fast path (G series and continued fraction) and the quadrature must
// agree, value and gradient, wherever the fast path applies.
func TestParetoNBDFastPathMatchesQuadrature(t *testing.T) {
	fast := 0
	for _, pc := range pnbdParams {
		for _, h := range pnbdHistories {
			if h.T <= h.Tx {
				continue
			}
			c := pc.m.customer(h.X, h.Tx, h.T)
			if _, ok := gValue(c.q.a, c.q.eM, c.p1.z); !ok || c.delta() > 600 {
				continue // always integrated
			}
			fast++
			lf, gf := c.lnOnePlusRho(true, nil)
			lq, gq := c.lnOnePlusRhoQuad(true)
			if math.Abs(lf-lq) > 1e-11*math.Max(1, lq) {
				t.Errorf("%s %+v: ln(1+rho) fast %.14g, quadrature %.14g", pc.name, h, lf, lq)
			}
			for i := range gf {
				if math.Abs(gf[i]-gq[i]) > 1e-8*math.Max(1e-3, math.Abs(gq[i])) {
					t.Errorf("%s %+v: d/d%s fast %.12g, quadrature %.12g", pc.name, h, ParetoNBDNames[i], gf[i], gq[i])
				}
			}
		}
	}
	if fast < 50 {
		t.Errorf("only %d cases on the fast path", fast)
	}
}

// logAddExp returns ln(e^a + e^b) without overflow.
func logAddExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(b, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// lifetimesLogLik is the per-customer log-likelihood exactly as the
// lifetimes library (ParetoNBDFitter._conditional_log_likelihood and
// _log_A_0) writes it, with gonum's 2F1: an independent transcription of
// the published formula, reliable where Hypergeo is (moderate z and x).
func lifetimesLogLik(m ParetoNBD, x, tx, T float64) (ll, pAlive float64) {
	r, alpha, s, beta := m.R, m.Alpha, m.S, m.Beta
	mn, mx, tt := beta, alpha, s+1
	if alpha < beta {
		mn, mx, tt = alpha, beta, r+x
	}
	rsx := r + s + x
	d := mx - mn
	p1 := mathext.Hypergeo(rsx, tt, rsx+1, d/(mx+tx))
	q1 := mx + tx
	p2 := mathext.Hypergeo(rsx, tt, rsx+1, d/(mx+T))
	q2 := mx + T
	// logsumexp([ln p1 + rsx ln q2, ln p2 + rsx ln q1], b=[1, −1]) − rsx ln(q1 q2)
	u, v := math.Log(p1)+rsx*math.Log(q2), math.Log(p2)+rsx*math.Log(q1)
	logA0 := u + math.Log(-math.Expm1(v-u)) - rsx*math.Log(q1*q2)
	lgrx, _ := math.Lgamma(r + x)
	lgr, _ := math.Lgamma(r)
	a1 := lgrx - lgr + r*math.Log(alpha) + s*math.Log(beta)
	a2 := logAddExp(-(r+x)*math.Log(alpha+T)-s*math.Log(beta+T), math.Log(s)+logA0-math.Log(rsx))
	pAlive = 1 / (1 + math.Exp(math.Log(s)-math.Log(rsx)+(r+x)*math.Log(alpha+T)+s*math.Log(beta+T)+logA0))
	return a1 + a2, pAlive
}

func TestParetoNBDMatchesLifetimesFormula(t *testing.T) {
	for _, pc := range pnbdParams[:7] { // Hypergeo is unreliable in the split regime
		for _, h := range pnbdHistories {
			if h.X > 50 || h.Tx == h.T {
				continue
			}
			wantLL, wantP := lifetimesLogLik(pc.m, h.X, h.Tx, h.T)
			gotLL := pc.m.CustomerLogLikelihood(h.X, h.Tx, h.T)
			gotP := pc.m.PAlive(h.X, h.Tx, h.T)
			// lifetimes' A0 cancels when tx is close to T: allow for it.
			tol := 1e-9
			if h.T-h.Tx < 1e-6 {
				tol = 1e-6
			}
			if math.Abs(gotLL-wantLL) > tol*math.Max(1, math.Abs(wantLL)) {
				t.Errorf("%s %+v: log-likelihood %.12g, lifetimes form %.12g", pc.name, h, gotLL, wantLL)
			}
			if math.Abs(gotP-wantP) > tol {
				t.Errorf("%s %+v: P(alive) %.12g, lifetimes form %.12g", pc.name, h, gotP, wantP)
			}
		}
	}
}

// The analytic gradient of the total log-likelihood must match central
// differences at every parameter point, over histories that cover every
// evaluation path.
func TestParetoNBDGradient(t *testing.T) {
	var ts []Triple
	for i, h := range pnbdHistories {
		h.Count = float64(i%3 + 1)
		ts = append(ts, h)
	}
	d := Data{Triples: ts, Customers: len(ts)}
	ev := newParetoEval(prepare(d))
	for _, pc := range pnbdParams {
		t.Run(pc.name, func(t *testing.T) {
			par := pc.m.params()
			grad := make([]float64, 4)
			ll := ev.logLik(par, grad)
			if want := pc.m.LogLikelihood(d); math.Abs(ll-want) > 1e-9*math.Abs(want) {
				t.Errorf("logLik %v, LogLikelihood %v", ll, want)
			}
			sum := 0.0
			for _, tr := range ts {
				sum += tr.Count * pc.m.CustomerLogLikelihood(tr.X, tr.Tx, tr.T)
			}
			if math.Abs(ll-sum) > 1e-9*math.Abs(sum) {
				t.Errorf("logLik %v, sum of CustomerLogLikelihood %v", ll, sum)
			}
			for i, name := range ParetoNBDNames {
				h := 1e-6 * par[i]
				pp := append([]float64(nil), par...)
				pp[i] = par[i] + h
				fp := ev.logLik(pp, nil)
				pp[i] = par[i] - h
				fm := ev.logLik(pp, nil)
				fd := (fp - fm) / (2 * h)
				tol := 1e-6 * math.Max(math.Max(1, math.Abs(fd)), math.Abs(ll)/par[i]*1e-3)
				if math.IsNaN(grad[i]) || math.Abs(grad[i]-fd) > tol {
					t.Errorf("dLL/d%s = %.10g, central difference %.10g", name, grad[i], fd)
				}
			}
		})
	}
}

// TestParetoNBDCDNOW reproduces Fader, Hardie & Lee (2005): r = 0.553,
// α = 10.578, s = 0.606, β = 11.669, LL = −9595.0 on the CDNOW sample
// (39-week calibration, weeks, same-day purchases merged).
func TestParetoNBDCDNOW(t *testing.T) {
	d := Group(Customers(cdnow(t)))
	m, res := FitParetoNBD(d, FitOptions{})
	t.Logf("%+v %+v", m, res)
	if !res.Converged {
		t.Fatalf("not converged: %s", res.Status)
	}
	if res.Model != "paretonbd" || res.Customers != 2357 {
		t.Errorf("model %q customers %d", res.Model, res.Customers)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"r", m.R, 0.553}, {"alpha", m.Alpha, 10.578}, {"s", m.S, 0.606}, {"beta", m.Beta, 11.669}} {
		if !sig3(c.got, c.want) {
			t.Errorf("%s = %.5g, want %.4g to 3 significant figures", c.name, c.got, c.want)
		}
		if res.Params[c.name] != c.got {
			t.Errorf("Params[%s] = %v, model has %v", c.name, res.Params[c.name], c.got)
		}
		if se := res.StdErr[c.name]; !(se > 0) || se > c.want {
			t.Errorf("StdErr[%s] = %v", c.name, se)
		}
	}
	if math.Abs(res.LogLik-(-9595.0)) > 0.1 {
		t.Errorf("log-likelihood = %.3f, want -9595.0", res.LogLik)
	}
	if ll := m.LogLikelihood(d); math.Abs(ll-res.LogLik) > 1e-6 {
		t.Errorf("LogLikelihood at the fit %v != FitResult.LogLik %v", ll, res.LogLik)
	}
	// The published parameters are a (rounded) maximum too.
	pub := ParetoNBD{R: 0.553, Alpha: 10.578, S: 0.606, Beta: 11.669}
	if ll := pub.LogLikelihood(d); ll > res.LogLik || res.LogLik-ll > 0.01 {
		t.Errorf("log-likelihood at the published parameters %v, at the fit %v", ll, res.LogLik)
	}
}

// From starting points far from the optimum, in every regime of the J
// evaluation (α ≪ β, α ≫ β, huge s), each single start must still find
// the CDNOW maximum.
func TestParetoNBDFitFromFarStarts(t *testing.T) {
	d := Group(Customers(cdnow(t)))
	for _, s := range [][]float64{{10, 0.1, 0.1, 100}, {0.1, 1e-3, 0.1, 1e3}, {1, 1e4, 1, 1e-4}, {0.3, 3, 100, 1000}} {
		m, res := FitParetoNBD(d, FitOptions{Starts: [][]float64{s}})
		if !res.Converged || math.Abs(res.LogLik-(-9594.976)) > 1e-3 || !sig3(m.R, 0.553) || !sig3(m.Beta, 11.669) {
			t.Errorf("start %v: %+v, %+v", s, m, res)
		}
	}
}

// TestParetoNBDRecovery fits data simulated from known parameters: the
// estimates must lie within 4 standard errors of the truth, and the fitted
// log-likelihood must be at least that of the truth (it is the maximum).
func TestParetoNBDRecovery(t *testing.T) {
	cases := []struct {
		name string
		m    ParetoNBD
		o    SimOptions
	}{
		{"cdnow-like, days", ParetoNBD{R: 0.75, Alpha: 8, S: 0.9, Beta: 14}, SimOptions{N: 6000, TMin: 26, TMax: 52, Resolution: 1.0 / 7, Seed: 11}},
		{"alpha<<beta, continuous", ParetoNBD{R: 0.5, Alpha: 2, S: 0.4, Beta: 60}, SimOptions{N: 3000, TMin: 30, TMax: 80, Seed: 12}},
		{"alpha>>beta, s>1", ParetoNBD{R: 2, Alpha: 40, S: 3, Beta: 50}, SimOptions{N: 4000, TMin: 40, TMax: 100, Resolution: 1.0 / 7, Seed: 13}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs, _ := SimulateParetoNBD(c.m.R, c.m.Alpha, c.m.S, c.m.Beta, c.o)
			d := Group(cs)
			m, res := FitParetoNBD(d, FitOptions{})
			t.Logf("fit %+v (%d triples, %.3fs, se %v)", m, len(d.Triples), res.Seconds, res.StdErr)
			if !res.Converged {
				t.Fatalf("not converged: %s", res.Status)
			}
			if llTrue := c.m.LogLikelihood(d); res.LogLik < llTrue-1e-6 {
				t.Errorf("fitted log-likelihood %v below the truth's %v", res.LogLik, llTrue)
			}
			got, want := m.params(), c.m.params()
			for i, name := range ParetoNBDNames {
				se := res.StdErr[name]
				if !(se > 0) {
					t.Fatalf("no standard error for %s", name)
				}
				if math.Abs(got[i]-want[i]) > 4*se {
					t.Errorf("%s = %.4g, true %.4g, standard error %.3g", name, got[i], want[i], se)
				}
			}
		})
	}
}

// simPareto draws n customers of age T ~ U[tMin, tMax] from the Pareto/NBD
// process, independently of simulate.go, and reports for each its history,
// whether it is still alive at T, and its purchases in (T, T+holdout].
func simPareto(m ParetoNBD, n int, tMin, tMax, holdout float64, seed uint64) (cs []Customer, alive []bool, hold []float64) {
	src := rand.NewPCG(seed, 1)
	rng := rand.New(src)
	lam := distuv.Gamma{Alpha: m.R, Beta: m.Alpha, Src: src}
	mu := distuv.Gamma{Alpha: m.S, Beta: m.Beta, Src: src}
	for i := 0; i < n; i++ {
		T := tMin + (tMax-tMin)*rng.Float64()
		l, death := lam.Rand(), rng.ExpFloat64()/mu.Rand()
		c := Customer{T: T}
		h := 0.0
		for tt := rng.ExpFloat64() / l; tt < math.Min(death, T+holdout); tt += rng.ExpFloat64() / l {
			if tt <= T {
				c.X++
				c.Tx = tt
			} else {
				h++
			}
		}
		cs = append(cs, c)
		alive = append(alive, death > T)
		hold = append(hold, h)
	}
	return cs, alive, hold
}

// zScore is Σ(obs−pred) / sqrt(Σ(obs−pred)²): approximately standard
// normal when pred is the conditional mean of independent obs.
func zScore(obs, pred []float64) float64 {
	var s, s2 float64
	for i := range obs {
		e := obs[i] - pred[i]
		s += e
		s2 += e * e
	}
	return s / math.Sqrt(s2)
}

// TestParetoNBDPredictionsCalibrated checks the meaning of the scores on
// simulated customers with the true parameters: P(alive) matches who is
// alive, ConditionalExpected the holdout purchases, Expected the purchases
// of new customers, each as a z-score within ±4.
func TestParetoNBDPredictionsCalibrated(t *testing.T) {
	for _, m := range []ParetoNBD{
		{R: 0.75, Alpha: 8, S: 0.9, Beta: 14},
		{R: 0.5, Alpha: 2, S: 1, Beta: 40},
		{R: 2, Alpha: 30, S: 3, Beta: 20},
	} {
		t.Run(fmt.Sprintf("%+v", m), func(t *testing.T) {
			const n, holdout = 20000, 39.0
			cs, alive, hold := simPareto(m, n, 26, 52, holdout, 7)
			var obsA, predA, predH []float64
			for i, c := range cs {
				a := 0.0
				if alive[i] {
					a = 1
				}
				obsA = append(obsA, a)
				predA = append(predA, m.PAlive(c.X, c.Tx, c.T))
				predH = append(predH, m.ConditionalExpected(holdout, c.X, c.Tx, c.T))
			}
			if z := zScore(obsA, predA); math.Abs(z) > 4 {
				t.Errorf("P(alive): z = %.2f", z)
			}
			if z := zScore(hold, predH); math.Abs(z) > 4 {
				t.Errorf("holdout purchases: z = %.2f", z)
			}
			// New customers: all purchases in (0, 52].
			fresh, _, _ := simPareto(m, n, 52, 52, 0, 8)
			var obsX, predX []float64
			for _, c := range fresh {
				obsX = append(obsX, c.X)
				predX = append(predX, m.Expected(52))
			}
			if z := zScore(obsX, predX); math.Abs(z) > 4 {
				t.Errorf("E[X(52)]: z = %.2f", z)
			}
		})
	}
}

// Predict and ScoreCustomers use aliveExpected when a model has it.
var _ aliveModel = ParetoNBD{}

func TestParetoNBDScoreIdentities(t *testing.T) {
	for _, pc := range pnbdParams {
		m := pc.m
		if got, want := m.ConditionalExpected(13, 4, 20, 39), m.PAlive(4, 20, 39)*m.aliveExpected(13, 4, 39); got != want {
			t.Errorf("%s: ConditionalExpected %v != PAlive × aliveExpected %v", pc.name, got, want)
		}
		// A customer seen only at the first purchase is a new customer.
		for _, h := range []float64{0.5, 13, 52, 1e4} {
			if got, want := m.ConditionalExpected(h, 0, 0, 0), m.Expected(h); math.Abs(got-want) > 1e-12*want {
				t.Errorf("%s: ConditionalExpected(%v, 0, 0, 0) = %v, Expected = %v", pc.name, h, got, want)
			}
		}
		// Closed forms away from s = 1.
		if m.S != 1 {
			h := 26.0
			want := m.R * m.Beta / (m.Alpha * (m.S - 1)) * (1 - math.Pow(m.Beta/(m.Beta+h), m.S-1))
			if got := m.Expected(h); math.Abs(got-want) > 1e-10*want {
				t.Errorf("%s: Expected(26) = %v, closed form %v", pc.name, got, want)
			}
			x, tx, T := 3.0, 20.0, 39.0
			want = (m.R + x) * (m.Beta + T) / ((m.Alpha + T) * (m.S - 1)) *
				(1 - math.Pow((m.Beta+T)/(m.Beta+T+h), m.S-1)) * m.PAlive(x, tx, T)
			if got := m.ConditionalExpected(h, x, tx, T); math.Abs(got-want) > 1e-10*want {
				t.Errorf("%s: ConditionalExpected = %v, closed form %v", pc.name, got, want)
			}
		}
		for _, h := range pnbdHistories {
			p := m.PAlive(h.X, h.Tx, h.T)
			if h.Tx == h.T && p != 1 {
				t.Errorf("%s %+v: P(alive) = %v at tx = T, want 1", pc.name, h, p)
			}
			if !(p >= 0 && p <= 1) {
				t.Errorf("%s %+v: P(alive) = %v", pc.name, h, p)
			}
		}
	}
}

// At s = 1 the closed forms are 0/0; the scores must be continuous there.
func TestParetoNBDContinuousAtSEqualsOne(t *testing.T) {
	at := ParetoNBD{R: 0.7, Alpha: 3, S: 1, Beta: 9}
	for _, eps := range []float64{1e-7, -1e-7} {
		near := at
		near.S += eps
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"Expected", near.Expected(30), at.Expected(30)},
			{"ConditionalExpected", near.ConditionalExpected(30, 4, 20, 39), at.ConditionalExpected(30, 4, 20, 39)},
			{"PAlive", near.PAlive(4, 20, 39), at.PAlive(4, 20, 39)},
			{"LogLik", near.CustomerLogLikelihood(4, 20, 39), at.CustomerLogLikelihood(4, 20, 39)},
		} {
			if math.Abs(c.got-c.want) > 1e-5*math.Abs(c.want) {
				t.Errorf("s = 1%+g: %s %v, at s = 1: %v", eps, c.name, c.got, c.want)
			}
		}
	}
	// The s = 1 limit of Expected: (r β/α) ln(1 + t/β).
	if got, want := at.Expected(30), 0.7*9/3*math.Log1p(30.0/9); math.Abs(got-want) > 1e-12*want {
		t.Errorf("Expected at s = 1: %v, want %v", got, want)
	}
}

// So is the likelihood through α = β, where the 2F1 argument switches side.
func TestParetoNBDContinuousAtAlphaEqualsBeta(t *testing.T) {
	at := ParetoNBD{R: 0.7, Alpha: 9, S: 0.8, Beta: 9}
	for _, h := range pnbdHistories[:8] {
		for _, eps := range []float64{1e-9, -1e-9} {
			near := at
			near.Alpha += eps
			if d := math.Abs(near.CustomerLogLikelihood(h.X, h.Tx, h.T) - at.CustomerLogLikelihood(h.X, h.Tx, h.T)); d > 1e-7 {
				t.Errorf("%+v alpha = beta%+g: log-likelihood jumps by %v", h, eps, d)
			}
			if d := math.Abs(near.PAlive(h.X, h.Tx, h.T) - at.PAlive(h.X, h.Tx, h.T)); d > 1e-8 {
				t.Errorf("%+v alpha = beta%+g: P(alive) jumps by %v", h, eps, d)
			}
		}
	}
}

// Scores stay finite for extreme but valid inputs.
func TestParetoNBDExtremeInputs(t *testing.T) {
	models := []ParetoNBD{
		{R: 0.553, Alpha: 10.578, S: 0.606, Beta: 11.669},
		{R: 1e-6, Alpha: 1e6, S: 1e-6, Beta: 1e-6},
		{R: 1e4, Alpha: 1e-4, S: 1e4, Beta: 1e4},
		{R: 0.5, Alpha: 1e-9, S: 0.5, Beta: 1e9},
		{R: 0.5, Alpha: 1e9, S: 1, Beta: 1e-9},
	}
	hist := []Triple{{X: 1e6, Tx: 1e6, T: 1e6}, {X: 1e6, Tx: 1, T: 1e6}, {X: 1e9, Tx: 50, T: 100},
		{X: 0, Tx: 0, T: 1e9}, {X: 3, Tx: 1e-12, T: 1e-6}, {X: 0, Tx: 0, T: 0}, {X: 50, Tx: 0, T: 39}}
	for _, m := range models {
		for _, h := range hist {
			p := m.PAlive(h.X, h.Tx, h.T)
			ce := m.ConditionalExpected(52, h.X, h.Tx, h.T)
			ll := m.CustomerLogLikelihood(h.X, h.Tx, h.T)
			if !(p >= 0 && p <= 1) || !(ce >= 0) || math.IsInf(ce, 0) || math.IsNaN(ll) || math.IsInf(ll, 0) {
				t.Errorf("%+v %+v: P(alive) %v, E %v, LL %v", m, h, p, ce, ll)
			}
		}
		for _, h := range []float64{1e-12, 1, 1e12, math.MaxFloat64} {
			if e := m.Expected(h); !(e >= 0) || math.IsInf(e, 0) {
				t.Errorf("%+v: Expected(%v) = %v", m, h, e)
			}
		}
	}
	// With s = β = 1e8 (death rate 1 with no heterogeneity) the terms of
	// the likelihood are ~ e^(−1.8e9); over a short T, ρ ≈ s T/β = T.
	m := ParetoNBD{R: 1e-8, Alpha: 3, S: 1e8, Beta: 1e8}
	for _, T := range []float64{1e-6, 1e-3} {
		if got := 1/m.PAlive(0, 0, T) - 1; math.Abs(got/T-1) > 1e-3 {
			t.Errorf("%+v: rho = %v at T = %v, want about %v", m, got, T, T)
		}
	}
}

func TestFitParetoNBDDegenerate(t *testing.T) {
	for _, c := range []struct {
		name string
		d    Data
	}{
		{"empty", Data{}},
		{"one customer, no repeat", Group([]Customer{{X: 0, T: 10}})},
		{"no repeat purchases", Group([]Customer{{X: 0, T: 10}, {X: 0, T: 20}, {X: 0, T: 30}})},
		{"one customer", Group([]Customer{{X: 5, Tx: 20, T: 30}})},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, res := FitParetoNBD(c.d, FitOptions{})
			t.Logf("%+v %+v", m, res)
			if res.Model != "paretonbd" {
				t.Errorf("model %q", res.Model)
			}
			if !res.Converged && res.Status == "" {
				t.Error("failed fit without a status")
			}
			if len(c.d.Triples) == 0 && res.Converged {
				t.Error("converged without data")
			}
			if math.IsNaN(res.LogLik) {
				t.Error("NaN log-likelihood")
			}
			for _, v := range m.params() {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("parameters %+v", m)
				}
			}
		})
	}
}

// intoRange returns v when lo <= v <= hi, and otherwise maps it into
// [lo, hi] on a log scale (NaN and ±Inf included), so that every fuzz
// input is a valid one and all orders of magnitude get explored.
func intoRange(v, lo, hi float64) float64 {
	if v >= lo && v <= hi {
		return v
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return hi
	}
	f := math.Abs(math.Mod(v, 1))
	if f == 0 {
		f = math.Abs(math.Mod(v/1e3, 1))
	}
	return math.Min(hi, math.Max(lo, lo*math.Pow(hi/lo, f)))
}

// FuzzParetoNBDScores checks, for any valid parameters and history, that
// the scores, the log-likelihood and its gradient are finite, that
// 0 <= P(alive) <= 1, and the monotonicity the model implies: P(alive)
// rises with tx, falls with x and with T; the expectations rise with the
// horizon; a customer with no history is a new customer. Inputs are mapped into the valid domain: parameters in
// [1e-8, 1e8], x a whole number in [0, 1e7], 0 <= tx <= T <= 1e7 (frac is
// tx/T), horizons in [1e-6, 1e7].
func FuzzParetoNBDScores(f *testing.F) {
	// r, alpha, s, beta, x, frac, T, horizon
	f.Add(0.553, 10.578, 0.606, 11.669, 2.0, 0.783, 38.86, 39.0)
	f.Add(0.553, 10.578, 0.606, 11.669, 0.0, 0.0, 38.86, 39.0)
	f.Add(0.5, 20.0, 0.8, 5.0, 10.0, 0.99, 38.86, 52.0)
	f.Add(1.2, 7.0, 0.9, 7.0, 3.0, 1.0, 39.0, 1.0)
	f.Add(0.7, 3.0, 1.0, 9.0, 4.0, 0.5, 39.0, 100.0)
	f.Add(0.6, 1e-3, 0.7, 50.0, 1.0, 0.0, 39.0, 39.0)
	f.Add(0.6, 100.0, 2.5, 1e-4, 5.0, 0.003, 39.0, 39.0)
	f.Add(0.6, 100.0, 1.0, 1e-4, 0.0, 0.0, 1e6, 1e6)
	f.Add(1.0, 4.0, 2.0, 2.0, 1e6, 1e-6, 1e6, 1.0)
	f.Add(1e-8, 1e8, 1e-8, 1e-8, 1e7, 1.0, 1e7, 1e7)
	f.Add(1e8, 1e-8, 1e8, 1e8, 0.0, 0.0, 1e-6, 1e-6)
	// Huge s: ln B1 and ln J are ~ −1.8e9 and must never be subtracted.
	f.Add(1e-8, 3.00000001, 1e8, 1e8, 0.0, 0.0, 1e-6, 1e-6)
	// Mean lifetime β/s ~ 1e-12: ln B1 ~ −1e9 and ρ ~ e^1e9.
	f.Add(0.01, 8.5, -67.99189814814815, 0.0001, 61.0, -49.98571428571429, 39.8, 95.0)
	f.Fuzz(func(t *testing.T, r, alpha, s, beta, x, frac, T, h float64) {
		r, alpha = intoRange(r, 1e-8, 1e8), intoRange(alpha, 1e-8, 1e8)
		s, beta = intoRange(s, 1e-8, 1e8), intoRange(beta, 1e-8, 1e8)
		if !(x > 0) {
			x = 0
		}
		x = math.Floor(math.Min(x, 1e7))
		if T != 0 {
			T = intoRange(T, 1e-6, 1e7)
		}
		if !(frac > 0) {
			frac = 0
		}
		tx := T * math.Min(frac, 1)
		h = intoRange(h, 1e-6, 1e7)
		m := ParetoNBD{R: r, Alpha: alpha, S: s, Beta: beta}
		p := m.PAlive(x, tx, T)
		if !(p >= 0 && p <= 1) {
			t.Fatalf("P(alive) = %v", p)
		}
		const slack = 1e-9
		if q := m.PAlive(x, (tx+T)/2, T); q < p*(1-slack)-1e-300 {
			t.Errorf("P(alive) falls from %v to %v when tx rises to %v", p, q, (tx+T)/2)
		}
		if q := m.PAlive(x+1, tx, T); q > p*(1+slack)+1e-300 {
			t.Errorf("P(alive) rises from %v to %v when x rises to %v", p, q, x+1)
		}
		if q := m.PAlive(x, tx, T*1.5+1); q > p*(1+slack)+1e-300 {
			t.Errorf("P(alive) rises from %v to %v when T rises to %v", p, q, T*1.5+1)
		}
		if m.PAlive(x, T, T) != 1 {
			t.Errorf("P(alive) = %v at tx = T", m.PAlive(x, T, T))
		}
		e1, e2 := m.ConditionalExpected(h, x, tx, T), m.ConditionalExpected(2*h, x, tx, T)
		if !(e1 >= 0) || math.IsInf(e2, 0) || e2 < e1*(1-slack) {
			t.Errorf("ConditionalExpected(%v) = %v, (%v) = %v", h, e1, 2*h, e2)
		}
		n1, n2 := m.Expected(h), m.Expected(2*h)
		if !(n1 >= 0) || math.IsInf(n2, 0) || n2 < n1*(1-slack) {
			t.Errorf("Expected(%v) = %v, (%v) = %v", h, n1, 2*h, n2)
		}
		if e0 := m.ConditionalExpected(h, 0, 0, 0); math.Abs(e0-n1) > 1e-9*n1 {
			t.Errorf("ConditionalExpected(%v, 0, 0, 0) = %v, Expected = %v", h, e0, n1)
		}
		ll := m.CustomerLogLikelihood(x, tx, T)
		if math.IsNaN(ll) || math.IsInf(ll, 0) {
			t.Errorf("log-likelihood %v", ll)
		}
		// The optimiser's view: value and gradient finite.
		ev := newParetoEval(prepare(Data{Triples: []Triple{{X: x, Tx: tx, T: T, Count: 1}}, Customers: 1}))
		g := make([]float64, 4)
		// They add the same terms in different orders: allow for the
		// rounding of the largest (ln B1 ~ −s ln(1+T/β) can be ~1e9).
		scale := (r+x)*math.Abs(math.Log(alpha+T)) + r*math.Log1p(T/alpha) + s*math.Log1p(T/beta)
		if v := ev.logLik(m.params(), g); math.Abs(v-ll) > 1e-14*scale+1e-9*math.Max(1, math.Abs(ll)) {
			t.Errorf("logLik %v, CustomerLogLikelihood %v", v, ll)
		}
		for i, v := range g {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("dLL/d%s = %v", ParetoNBDNames[i], v)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// Benchmarks. The bar (issue 3): lifetimes fits Pareto/NBD on 23,570
// customers in 3.0 s on this machine kind; winback must be 10× faster.

// pnbdBenchSets are the fit benchmarks' customer bases: the CDNOW sample,
// CDNOW ×10 (23,570 customers, the size of the bar), and 23,570 customers
// simulated from the CDNOW fit at day resolution and in continuous time
// (every history distinct: no gain from grouping).
func pnbdBenchSets(tb testing.TB) []struct {
	name string
	cs   []Customer
} {
	cd := Customers(cdnow(tb))
	x10 := make([]Customer, 0, 10*len(cd))
	for i := 0; i < 10; i++ {
		x10 = append(x10, cd...)
	}
	m := ParetoNBD{R: 0.553, Alpha: 10.578, S: 0.606, Beta: 11.669}
	days, _ := SimulateParetoNBD(m.R, m.Alpha, m.S, m.Beta, SimOptions{N: 23570, TMin: 27, TMax: 39, Resolution: 1.0 / 7, Seed: 3})
	cont, _ := SimulateParetoNBD(m.R, m.Alpha, m.S, m.Beta, SimOptions{N: 23570, TMin: 27, TMax: 39, Seed: 3})
	return []struct {
		name string
		cs   []Customer
	}{{"cdnow", cd}, {"cdnow_x10", x10}, {"sim23570_days", days}, {"sim23570_continuous", cont}}
}

// BenchmarkFitParetoNBD times grouping plus fitting (three starts, standard
// errors included).
func BenchmarkFitParetoNBD(b *testing.B) {
	for _, s := range pnbdBenchSets(b) {
		b.Run(s.name, func(b *testing.B) {
			var res FitResult
			var triples int
			for b.Loop() {
				d := Group(s.cs)
				triples = len(d.Triples)
				_, res = FitParetoNBD(d, FitOptions{})
				if !res.Converged {
					b.Fatal(res.Status)
				}
			}
			b.ReportMetric(float64(triples), "triples")
			b.ReportMetric(float64(res.Iterations), "iterations")
		})
	}
}

// BenchmarkParetoNBDScore times P(alive) plus ConditionalExpected (39
// weeks) per customer on the CDNOW sample, on one core and on all cores.
func BenchmarkParetoNBDScore(b *testing.B) {
	cs := Customers(cdnow(b))
	m := ParetoNBD{R: 0.553, Alpha: 10.578, S: 0.606, Beta: 11.669}
	b.Run("one_core", func(b *testing.B) {
		sink := 0.0
		for b.Loop() {
			for _, c := range cs {
				sink += m.PAlive(c.X, c.Tx, c.T) + m.ConditionalExpected(39, c.X, c.Tx, c.T)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(cs)), "ns/customer")
		if math.IsNaN(sink) {
			b.Fatal("NaN")
		}
	})
	b.Run("all_cores", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			sink := 0.0
			for pb.Next() {
				for _, c := range cs {
					sink += m.PAlive(c.X, c.Tx, c.T) + m.ConditionalExpected(39, c.X, c.Tx, c.T)
				}
			}
			if math.IsNaN(sink) {
				b.Error("NaN")
			}
		})
		b.ReportMetric(float64(b.N*len(cs))/b.Elapsed().Seconds()/1e6, "Mcustomers/s")
		b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cores")
	})
}
