package clv

import (
	"math"
	"testing"
)

// checkRecovery asserts that each estimate lies within 4 standard errors
// and 25% of the true value.
func checkRecovery(t *testing.T, res FitResult, want map[string]float64) {
	t.Helper()
	if !res.Converged {
		t.Fatalf("not converged: %s", res.Status)
	}
	if res.StdErr == nil {
		t.Fatalf("no standard errors")
	}
	for name, w := range want {
		got, se := res.Params[name], res.StdErr[name]
		if math.Abs(got-w) > 4*se || math.Abs(got-w) > 0.25*w {
			t.Errorf("%s = %.4g ± %.2g, true %.4g", name, got, se, w)
		}
	}
}

func TestBGNBDParameterRecovery(t *testing.T) {
	truth := BGNBD{R: 0.6, Alpha: 5, A: 0.9, B: 3}
	cs, _ := SimulateBGNBD(truth, SimOptions{N: 20000, TMin: 20, TMax: 52, Seed: 1})
	_, res := FitBGNBD(Group(cs), FitOptions{})
	t.Logf("%v ± %v LL %.1f", res.Params, res.StdErr, res.LogLik)
	checkRecovery(t, res, map[string]float64{"r": truth.R, "alpha": truth.Alpha, "a": truth.A, "b": truth.B})
}

func TestMBGNBDParameterRecovery(t *testing.T) {
	truth := MBGNBD{R: 0.8, Alpha: 4, A: 1.2, B: 2.5}
	cs, _ := SimulateMBGNBD(truth, SimOptions{N: 20000, TMin: 20, TMax: 52, Seed: 2})
	_, res := FitMBGNBD(Group(cs), FitOptions{})
	t.Logf("%v ± %v LL %.1f", res.Params, res.StdErr, res.LogLik)
	checkRecovery(t, res, map[string]float64{"r": truth.R, "alpha": truth.Alpha, "a": truth.A, "b": truth.B})
}

func TestGammaGammaParameterRecovery(t *testing.T) {
	truth := GammaGamma{P: 4, Q: 3, Gamma: 20}
	cs, _ := SimulateBGNBD(BGNBD{R: 1, Alpha: 3, A: 0.5, B: 3}, SimOptions{N: 10000, TMin: 30, TMax: 52, Seed: 3})
	SimulateSpend(truth, cs, 4)
	_, res := FitGammaGamma(cs, FitOptions{})
	t.Logf("%v ± %v, %d customers", res.Params, res.StdErr, res.Customers)
	checkRecovery(t, res, map[string]float64{"p": truth.P, "q": truth.Q, "gamma": truth.Gamma})
}

// The conditional expectation must forecast what the generative process
// actually does next: simulate a holdout period from known parameters and
// compare the summed forecasts with the summed simulated purchases.
func TestConditionalExpectationForecastsSimulation(t *testing.T) {
	const holdout = 26.0
	bg := BGNBD{R: 0.5, Alpha: 4, A: 0.7, B: 2.5}
	mbg := MBGNBD{R: 0.5, Alpha: 4, A: 0.7, B: 2.5}
	opts := SimOptions{N: 40000, TMin: 10, TMax: 40, Holdout: holdout, Seed: 5}
	for _, c := range []struct {
		name string
		m    TransactionModel
		sim  func() ([]Customer, []float64)
	}{
		{"bgnbd", bg, func() ([]Customer, []float64) { return SimulateBGNBD(bg, opts) }},
		{"mbgnbd", mbg, func() ([]Customer, []float64) { return SimulateMBGNBD(mbg, opts) }},
	} {
		cs, hold := c.sim()
		preds := Predict(c.m, cs, holdout, 0)
		var pred, act, pred0, act0 float64
		for i := range cs {
			pred += preds[i].Expected
			act += hold[i]
			if cs[i].X == 0 {
				pred0 += preds[i].Expected
				act0 += hold[i]
			}
		}
		t.Logf("%s: predicted %.0f actual %.0f (x=0: %.0f vs %.0f)", c.name, pred, act, pred0, act0)
		// The total's sampling sd is about sqrt(total*overdispersion); 4% is > 4 sd here.
		if math.Abs(pred-act) > 0.04*act || math.Abs(pred0-act0) > 0.08*act0 {
			t.Errorf("%s: predicted %.1f (x=0: %.1f), simulated %.0f (x=0: %.0f)", c.name, pred, pred0, act, act0)
		}
		// Unconditional: E[X(T)] over the customers versus their calibration purchases.
		var ex, x float64
		for _, cu := range cs {
			ex += c.m.Expected(cu.T)
			x += cu.X
		}
		if math.Abs(ex-x) > 0.04*x {
			t.Errorf("%s: sum E[X(T)] = %.1f, simulated %.0f", c.name, ex, x)
		}
	}
}

func TestPredictMatchesPerCustomer(t *testing.T) {
	m := BGNBD{R: 0.3, Alpha: 6, A: 0.8, B: 2}
	cs, _ := SimulateBGNBD(m, SimOptions{N: 3000, TMin: 1, TMax: 40, Resolution: 1.0 / 7, Seed: 7})
	for _, workers := range []int{1, 2, 3} {
		for _, tm := range []TransactionModel{m, MBGNBD(m), plainModel{m}} {
			preds := Predict(tm, cs, 13, workers)
			for i, c := range cs {
				pa, ce := tm.PAlive(c.X, c.Tx, c.T), tm.ConditionalExpected(13, c.X, c.Tx, c.T)
				if preds[i].PAlive != pa || math.Abs(preds[i].Expected-ce) > 1e-12*ce {
					t.Fatalf("%T workers=%d customer %d: %+v, want %v %v", tm, workers, i, preds[i], pa, ce)
				}
			}
		}
	}
}

// plainModel hides BGNBD's fast path, to test the generic one.
type plainModel struct{ m BGNBD }

func (p plainModel) PAlive(x, tx, T float64) float64 { return p.m.PAlive(x, tx, T) }
func (p plainModel) ConditionalExpected(t, x, tx, T float64) float64 {
	return p.m.ConditionalExpected(t, x, tx, T)
}
func (p plainModel) Expected(t float64) float64 { return p.m.Expected(t) }

func TestPAliveEdgeCases(t *testing.T) {
	bg := BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	mbg := MBGNBD(bg)
	if got := bg.PAlive(0, 0, 39); got != 1 {
		t.Errorf("BG/NBD P(alive | x=0) = %v, want 1", got)
	}
	if got := mbg.PAlive(0, 0, 39); !(got > 0 && got < 1) {
		t.Errorf("MBG/NBD P(alive | x=0) = %v, want in (0,1)", got)
	}
	// Buying at the end of the period means the customer is alive with
	// probability b+x−1 over a+b+x−1.
	if got, want := bg.PAlive(3, 20, 20), (bg.B+2)/(bg.A+bg.B+2); math.Abs(got-want) > 1e-15 {
		t.Errorf("P(alive | t_x = T) = %v, want %v", got, want)
	}
	// A long silence after frequent buying: gone, but finite.
	if got := bg.PAlive(1e6, 1, 1e6); !(got >= 0 && got < 1e-300) {
		t.Errorf("P(alive) after a huge silence = %v", got)
	}
	// More recent purchase: more alive.
	if bg.PAlive(5, 30, 39) <= bg.PAlive(5, 10, 39) {
		t.Error("P(alive) not increasing in recency")
	}
}

func TestScoreCDNOWMatchesLifetimes(t *testing.T) {
	// lifetimes' documentation example: BG/NBD and Gamma-Gamma fitted to the
	// CDNOW summary, customer_lifetime_value(time=12, discount_rate=0.01)
	// with its default freq="D", i.e. months of 30 time units.
	cs := Customers(cdnow(t))
	m, _ := FitBGNBD(Group(cs), FitOptions{})
	g, _ := FitGammaGamma(cs, FitOptions{})
	sc := ScoreCustomers(m, g, cs[:10], ScoreOptions{Unit: Day, MonthlyDiscount: 0.01, Months: 12})
	want := map[int]float64{0: 140.096211, 1: 18.943467, 2: 38.180574, 5: 1003.868107, 6: 28.109683}
	for i, w := range want {
		if got := sc[i].CLV; math.Abs(got-w) > 2e-3*w {
			t.Errorf("customer %s CLV = %.4f, lifetimes %.4f", cs[i].ID, got, w)
		}
	}
}

func TestScoreNextPurchase(t *testing.T) {
	m := BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	cs := []Customer{
		{ID: "frequent", X: 20, Tx: 38, T: 39, Monetary: 30},
		{ID: "gone", X: 20, Tx: 2, T: 39, Monetary: 30},
		{ID: "new", X: 0, Tx: 0, T: 0.5},
	}
	sc := ScoreCustomers(m, GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}, cs, ScoreOptions{})
	np := sc[0].NextPurchase
	if !(np > 0 && np < 4) {
		t.Fatalf("frequent buyer's next purchase in %v weeks", np)
	}
	if ce := m.ConditionalExpected(np, 20, 38, 39); math.Abs(ce-1) > 0.01 {
		t.Errorf("E[Y(next purchase)] = %v, want 1", ce)
	}
	if !math.IsInf(sc[1].NextPurchase, 1) {
		t.Errorf("gone customer's next purchase = %v, want never", sc[1].NextPurchase)
	}
	for i, s := range sc {
		if s.CLV < 0 || math.IsNaN(s.CLV) || s.AverageValue <= 0 {
			t.Errorf("customer %d: %+v", i, s)
		}
	}
	if sc[0].CLV <= sc[1].CLV {
		t.Errorf("active customer's CLV %.2f <= gone customer's %.2f", sc[0].CLV, sc[1].CLV)
	}
}

// The analytic gradient and Hessian of the Gamma-Gamma likelihood against
// central differences.
func TestGammaGammaDerivatives(t *testing.T) {
	cs, _ := SimulateBGNBD(BGNBD{R: 1, Alpha: 3, A: 0.5, B: 3}, SimOptions{N: 400, TMin: 20, TMax: 40, Seed: 12})
	SimulateSpend(GammaGamma{P: 3, Q: 4, Gamma: 10}, cs, 13)
	s := prepareSpend(cs)
	par := []float64{2.5, 3.5, 12}
	g, h := make([]float64, 3), make([]float64, 9)
	s.logLik(par, g, h)
	for j := range par {
		step := 1e-6 * par[j]
		up := append([]float64(nil), par...)
		dn := append([]float64(nil), par...)
		up[j] += step
		dn[j] -= step
		gu, gd := make([]float64, 3), make([]float64, 3)
		fu, fd := s.logLik(up, gu, nil), s.logLik(dn, gd, nil)
		if num := (fu - fd) / (2 * step); math.Abs(num-g[j]) > 1e-5*math.Max(1, math.Abs(g[j])) {
			t.Errorf("dLL/d%s = %.8g, numerically %.8g", GammaGammaNames[j], g[j], num)
		}
		for i := range par {
			if num := (gu[i] - gd[i]) / (2 * step); math.Abs(num-h[i*3+j]) > 1e-5*math.Max(1, math.Abs(h[i*3+j])) {
				t.Errorf("H[%s,%s] = %.8g, numerically %.8g", GammaGammaNames[i], GammaGammaNames[j], h[i*3+j], num)
			}
		}
	}
}

// Degenerate data: no customers, or nobody ever came back. The fits must
// say so rather than report a converged optimum, and never return NaN.
func TestFitDegenerateData(t *testing.T) {
	empty := Group(nil)
	if _, res := FitBGNBD(empty, FitOptions{}); res.Converged || res.Status == "" {
		t.Errorf("BG/NBD on no data: %+v", res)
	}
	if _, res := FitMBGNBD(empty, FitOptions{}); res.Converged || res.Status == "" {
		t.Errorf("MBG/NBD on no data: %+v", res)
	}
	if _, res := FitGammaGamma(nil, FitOptions{}); res.Converged || res.Status == "" {
		t.Errorf("Gamma-Gamma on no data: %+v", res)
	}
	// Nobody repeats: the BG/NBD likelihood keeps rising as r/alpha -> 0.
	var cs []Customer
	for i := 0; i < 100; i++ {
		cs = append(cs, Customer{T: float64(10 + i%30)})
	}
	m, res := FitBGNBD(Group(cs), FitOptions{})
	t.Logf("%+v %+v", m, res)
	if math.IsNaN(res.LogLik) || math.IsNaN(m.R) {
		t.Errorf("NaN fit: %+v", res)
	}
	if res.StdErr != nil || res.Status == "" {
		t.Errorf("degenerate fit without a warning: %+v", res)
	}
	if res.Converged && m.R/m.Alpha > 1e-3 {
		t.Errorf("converged to a purchase rate %v for customers who never came back", m.R/m.Alpha)
	}
	// Bad user-supplied starts are skipped, falling back to the defaults.
	if _, res := FitBGNBD(Group(Customers(cdnow(t))), FitOptions{Starts: [][]float64{{-1, 1, 1, 1}, {1, 2}}}); !res.Converged {
		t.Errorf("fit with invalid starts: %+v", res)
	}
}
