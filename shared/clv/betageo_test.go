package clv

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

// closedFormAlive is FHL's closed form of aliveSeries through gonum's 2F1.
func closedFormAlive(t, rr, aa, a, bb float64) float64 {
	z := t / (aa + t)
	h := mathext.Hypergeo(rr, bb, a+bb-1, z)
	return (a + bb - 1) / (a - 1) * (1 - math.Pow(aa/(aa+t), rr)*h)
}

func TestAliveSeriesMatchesClosedForm(t *testing.T) {
	cases := []struct{ t, rr, aa, a, bb float64 }{
		{39, 0.243, 4.414, 0.793, 2.426},
		{39, 0.243 + 2, 4.414 + 38.86, 0.793, 2.426 + 2},
		{1, 0.243 + 10, 4.414 + 30, 0.793, 2.426 + 10},
		{52, 1.5, 3, 2.5, 4},
		{5, 30.2, 60, 1.3, 40},
		{100, 0.5, 1, 0.4, 0.8},
		{0.01, 3, 10, 2, 2},
		{260, 5.2, 40, 3.1, 12},
	}
	for _, c := range cases {
		got := aliveSeries(c.t, c.rr, c.aa, c.a, c.bb)
		want := closedFormAlive(c.t, c.rr, c.aa, c.a, c.bb)
		if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("aliveSeries%v = %.12g, closed form %.12g", c, got, want)
		}
	}
}

// At a = 1 the closed form is 0/0; the series must be continuous there.
func TestAliveSeriesContinuousAtAEqualsOne(t *testing.T) {
	at := aliveSeries(20, 1.2, 5, 1, 3)
	for _, a := range []float64{1 - 1e-6, 1 + 1e-6} {
		v := aliveSeries(20, 1.2, 5, a, 3)
		if math.Abs(v-at) > 1e-5*at {
			t.Errorf("a=%v: %v, at a=1: %v", a, v, at)
		}
	}
	// And it matches the closed form a little away from 1.
	if got, want := aliveSeries(20, 1.2, 5, 1.01, 3), closedFormAlive(20, 1.2, 5, 1.01, 3); math.Abs(got-want) > 1e-8 {
		t.Errorf("a=1.01: %v, closed form %v", got, want)
	}
}

// For large r+x the series starts at the mode of the count distribution;
// both paths must agree where both work.
func TestAliveSeriesModePathAgrees(t *testing.T) {
	for _, c := range []struct{ t, rr, aa, a, bb float64 }{
		{30, 200, 50, 0.8, 203},
		{300, 20, 10, 1.7, 25},
		{1000, 3, 2, 0.6, 5},
	} {
		z := c.t / (c.aa + c.t)
		lq := -math.Log1p(c.t / c.aa)
		a := aliveSeriesFromZero(z, math.Exp(c.rr*lq), c.rr, c.a, c.bb)
		b := aliveSeriesFromMode(z, lq, c.rr, c.a, c.bb)
		if math.Abs(a-b) > 1e-10*a {
			t.Errorf("%+v: from zero %.15g, from mode %.15g", c, a, b)
		}
	}
}

// Brute force: E[purchases in (0,t]] by simulating the BG/NBD process
// would be slow; instead check E[X(t)] against its defining sum over
// Poisson-gamma counts computed term by term with lgamma.
func TestExpectedDefinition(t *testing.T) {
	m := BGNBD{R: 0.8, Alpha: 6, A: 1.4, B: 3.5}
	tt := 26.0
	z := tt / (m.Alpha + tt)
	want := 0.0
	for k := 1; k < 5000; k++ {
		// P(N >= k) * E[(1-p)^(k-1)]
		tail := 0.0
		for n := k; n < k+5000; n++ {
			l1, _ := math.Lgamma(m.R + float64(n))
			l2, _ := math.Lgamma(m.R)
			l3, _ := math.Lgamma(float64(n) + 1)
			tail += math.Exp(l1 - l2 - l3 + m.R*math.Log(1-z) + float64(n)*math.Log(z))
		}
		b1, _ := math.Lgamma(m.B + float64(k-1))
		b2, _ := math.Lgamma(m.A + m.B)
		b3, _ := math.Lgamma(m.B)
		b4, _ := math.Lgamma(m.A + m.B + float64(k-1))
		want += tail * math.Exp(b1+b2-b3-b4)
		if tail < 1e-18 {
			break
		}
	}
	if got := m.Expected(tt); math.Abs(got-want) > 1e-9 {
		t.Errorf("E[X(%v)] = %.12g, by definition %.12g", tt, got, want)
	}
}

// The analytic gradient and Hessian of the BG/NBD and MBG/NBD likelihoods
// against central differences.
func TestBetaGeoDerivatives(t *testing.T) {
	cs, _ := SimulateBGNBD(BGNBD{R: 0.7, Alpha: 3, A: 0.9, B: 2}, SimOptions{N: 500, TMin: 5, TMax: 30, Resolution: 1.0 / 7, Seed: 11})
	p := prepare(Group(cs))
	par := []float64{0.6, 3.5, 1.1, 2.5}
	for _, modified := range []bool{false, true} {
		g := make([]float64, 4)
		h := make([]float64, 16)
		betaGeoLogLik(p, modified, par, g, h)
		for j := range par {
			step := 1e-6 * par[j]
			up := append([]float64(nil), par...)
			dn := append([]float64(nil), par...)
			up[j] += step
			dn[j] -= step
			gu, gd := make([]float64, 4), make([]float64, 4)
			fu := betaGeoLogLik(p, modified, up, gu, nil)
			fd := betaGeoLogLik(p, modified, dn, gd, nil)
			if num := (fu - fd) / (2 * step); math.Abs(num-g[j]) > 1e-5*math.Max(1, math.Abs(g[j])) {
				t.Errorf("modified=%v: dLL/d%s = %.8g, numerically %.8g", modified, BGNBDNames[j], g[j], num)
			}
			for i := range par {
				num := (gu[i] - gd[i]) / (2 * step)
				if math.Abs(num-h[i*4+j]) > 1e-5*math.Max(1, math.Abs(h[i*4+j])) {
					t.Errorf("modified=%v: H[%s,%s] = %.8g, numerically %.8g", modified, BGNBDNames[i], BGNBDNames[j], h[i*4+j], num)
				}
			}
		}
	}
}

func TestTrigamma(t *testing.T) {
	// ψ'(1) = π²/6, ψ'(1/2) = π²/2, ψ'(x) ~ 1/x for large x.
	for _, c := range []struct{ x, want float64 }{
		{1, math.Pi * math.Pi / 6}, {0.5, math.Pi * math.Pi / 2}, {1e-8, 1e16 + math.Pi*math.Pi/6},
	} {
		if got := trigamma(c.x); math.Abs(got-c.want) > 1e-12*c.want {
			t.Errorf("trigamma(%v) = %.15g, want %.15g", c.x, got, c.want)
		}
	}
	// Against central differences of gonum's digamma.
	for _, x := range []float64{0.3, 2.5, 9.99, 10, 47, 1e5} {
		h := 1e-5 * x
		num := (mathext.Digamma(x+h) - mathext.Digamma(x-h)) / (2 * h)
		if got := trigamma(x); math.Abs(got-num) > 1e-6*got {
			t.Errorf("trigamma(%v) = %.12g, numerically %.12g", x, got, num)
		}
	}
}

// The quadrature that takes over for very long horizons agrees with the
// series where both are cheap.
func TestAliveQuadratureMatchesSeries(t *testing.T) {
	for _, c := range []struct{ t, rr, aa, a, bb float64 }{
		{39, 0.243, 4.414, 0.793, 2.426},
		{39, 2.243, 43.3, 0.793, 4.426},
		{500, 0.5, 2, 0.3, 0.6},
		{2000, 1.2, 1, 1, 3},
		{100, 0.01, 0.5, 2.5, 0.01},
		{52, 30, 60, 1.5, 29},
	} {
		s := aliveSeries(c.t, c.rr, c.aa, c.a, c.bb)
		q := aliveQuadrature(c.t, c.rr, c.aa, c.a, c.bb)
		if math.Abs(s-q) > 1e-9*s {
			t.Errorf("%+v: series %.15g, quadrature %.15g", c, s, q)
		}
	}
}

// partialS's closed forms (large k) agree with the plain sum.
func TestPartialSClosedForm(t *testing.T) {
	for _, c := range []struct{ a, bb float64 }{{0.5, 2}, {1, 3}, {1 + 1e-5, 3}, {1 - 1e-4, 0.7}, {2.5, 10}, {0.0175, 0.864}} {
		k := 200_001.0
		// The plain sum, by continuing the loop past the closed-form threshold.
		want, wu := 0.0, 1.0
		for j := 0.0; j < k; j++ {
			want += wu
			wu *= (c.bb + j) / (c.a + c.bb + j)
		}
		got, u := partialS(k, c.a, c.bb)
		if math.Abs(got-want) > 1e-9*want || math.Abs(u-wu) > 1e-9*wu {
			t.Errorf("a=%v bb=%v: S = %.15g (sum %.15g), u = %.6g (%.6g)", c.a, c.bb, got, want, u, wu)
		}
	}
}
