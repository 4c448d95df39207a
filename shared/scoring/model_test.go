package scoring

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/winback/winback/shared/clv"
)

// simInputs turns simulated customers (days, integer at Resolution 1)
// into Inputs as of 2024-12-31, with the Gamma-Gamma spend of gg (in minor
// units) and a first-day spend of 2,500.
func simInputs(cs []clv.Customer, gg clv.GammaGamma, seed uint64) []Input {
	clv.SimulateSpend(gg, cs, seed)
	ins := make([]Input, len(cs))
	for i, c := range cs {
		x, tx, T := int(c.X), int(c.Tx), int(c.T)
		rep := int64(math.Round(c.Monetary * c.X))
		ins[i] = Input{
			CustomerID: fmt.Sprintf("c%05d", i), AsOf: "2024-12-31",
			X: x, Tx: tx, T: T, RecencyDays: T - tx, RepeatSpend: rep,
			PaidOrders: x + 1 + i%2, TotalSpend: rep + 2500,
			FirstDay: addDays("2024-12-31", -T), LastDay: addDays("2024-12-31", -(T - tx)),
		}
	}
	return ins
}

var (
	trueBG = clv.BGNBD{R: 0.25, Alpha: 28, A: 0.8, B: 2.5} // CDNOW-like, days
	trueGG = clv.GammaGamma{P: 6, Q: 4, Gamma: 1500}
)

func bgShop(n int, seed uint64) []Input {
	cs, _ := clv.SimulateBGNBD(trueBG, clv.SimOptions{N: n, TMin: 120, TMax: 730, Resolution: 1, Seed: seed})
	return simInputs(cs, trueGG, seed+1)
}

func statsOf(ins []Input) Stats {
	var s Stats
	for _, in := range ins {
		s.Add(in)
	}
	return s
}

// TestStatsMergeOrderIndependent splits a shop into random shards, merges
// their statistics in different orders (and through JSON) and checks that
// Fit gives bit-identical models.
func TestStatsMergeOrderIndependent(t *testing.T) {
	ins := bgShop(3000, 7)
	want, err := Fit(statsOf(ins), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 3 {
		shards := make([]Stats, 2+trial*3)
		for _, in := range ins {
			shards[rng.IntN(len(shards))].Add(in)
		}
		rng.Shuffle(len(shards), func(i, j int) { shards[i], shards[j] = shards[j], shards[i] })
		var all Stats
		if trial == 1 { // a tree of merges, through JSON
			var left, right Stats
			for i, s := range shards {
				b, err := json.Marshal(s)
				if err != nil {
					t.Fatal(err)
				}
				var back Stats
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatal(err)
				}
				if i%2 == 0 {
					left.Merge(back)
				} else {
					right.Merge(back)
				}
			}
			right.Merge(left)
			all = right
		} else {
			for _, s := range shards {
				all.Merge(s)
			}
		}
		a, _ := json.Marshal(all)
		b, _ := json.Marshal(statsOf(ins))
		if !bytes.Equal(a, b) {
			t.Fatalf("trial %d: merged statistics differ from the whole shop's", trial)
		}
		got, err := Fit(all, DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		gotJSON, _ := json.Marshal(got)
		if !bytes.Equal(gotJSON, wantJSON) {
			t.Fatalf("trial %d: model differs:\n%s\nwant\n%s", trial, gotJSON, wantJSON)
		}
	}
}

// TestFitRecoversBGNBD fits simulated BG/NBD customers: each parameter
// within 3 standard errors of the truth, the chosen model from the BG/NBD
// family, Gamma-Gamma's population mean within 5%.
func TestFitRecoversBGNBD(t *testing.T) {
	if testing.Short() {
		t.Skip("fits 6,000 customers")
	}
	ins := bgShop(6000, 11)
	cfg := DefaultConfig()
	m, err := Fit(statsOf(ins), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chose %s: %s", m.Name, m.Reason)
	if m.Name != ModelBGNBD && m.Name != ModelMBGNBD {
		t.Errorf("chose %s on BG/NBD data", m.Name)
	}
	var bg clv.FitResult
	for _, c := range m.Candidates {
		if c.Model == ModelBGNBD {
			bg = c
		}
	}
	truth := map[string]float64{"r": trueBG.R, "alpha": trueBG.Alpha, "a": trueBG.A, "b": trueBG.B}
	for k, v := range truth {
		got, se := bg.Params[k], bg.StdErr[k]
		if !(se > 0) || math.Abs(got-v) > 3*se {
			t.Errorf("%s = %.4g ± %.2g; true %.4g", k, got, se, v)
		}
	}
	gg := m.spendModel()
	if m.Spend.Model != "gammagamma" || math.Abs(gg.PopulationMean()/trueGG.PopulationMean()-1) > 0.05 {
		t.Errorf("spend %s %v: population mean %.1f; true %.1f", m.Spend.Model, m.Spend.Params, gg.PopulationMean(), trueGG.PopulationMean())
	}
}

// TestFitPicksParetoNBD: on Pareto/NBD data the highest likelihood is
// Pareto/NBD's.
func TestFitPicksParetoNBD(t *testing.T) {
	if testing.Short() {
		t.Skip("fits 6,000 customers")
	}
	cs, _ := clv.SimulateParetoNBD(0.8, 40, 1.5, 300, clv.SimOptions{N: 6000, TMin: 120, TMax: 730, Resolution: 1, Seed: 5})
	m, err := Fit(statsOf(simInputs(cs, trueGG, 6)), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chose %s: %s", m.Name, m.Reason)
	if m.Name != ModelParetoNBD {
		t.Errorf("chose %s on Pareto/NBD data: %s", m.Name, m.Reason)
	}
}

func TestChooseModel(t *testing.T) {
	fit := func(name string, ll float64, conv bool) clv.FitResult {
		r := clv.FitResult{Model: name, LogLik: ll, Converged: conv, Params: map[string]float64{"r": 1}, StdErr: map[string]float64{"r": 0.1}}
		if !conv {
			r.Status = "optimizer stopped"
		}
		return r
	}
	tests := []struct {
		name  string
		cands []clv.FitResult
		want  int
		in    string
	}{
		{"highest LL", []clv.FitResult{fit("bgnbd", -100, true), fit("mbgnbd", -99, true), fit("paretonbd", -101, true)}, 1, "mbgnbd: highest log-likelihood"},
		{"non-converged skipped", []clv.FitResult{fit("bgnbd", -100, true), fit("mbgnbd", -99, false), fit("paretonbd", -101, true)}, 0, "mbgnbd did not converge"},
		{"tie: first", []clv.FitResult{fit("bgnbd", -100, true), fit("mbgnbd", -100, true)}, 0, "bgnbd: highest"},
		{"none converged", []clv.FitResult{fit("bgnbd", -100, false), fit("paretonbd", -90, false)}, -1, "no transaction model converged"},
		{"no parameters", []clv.FitResult{{Model: "bgnbd", Converged: true}}, -1, "no parameters"},
		{"no standard errors", []clv.FitResult{{Model: "bgnbd", Converged: true, Params: map[string]float64{"r": 1}, Status: "observed information not positive definite"}}, -1, "not positive definite"},
		{"none configured", nil, -1, "no transaction model configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := chooseModel(tt.cands)
			if got != tt.want || !strings.Contains(reason, tt.in) {
				t.Errorf("chooseModel = %d, %q; want %d, containing %q", got, reason, tt.want, tt.in)
			}
		})
	}
}

func TestYoungShopIsEmpirical(t *testing.T) {
	tests := []struct {
		name   string
		ins    []Input
		reason string
	}{
		{"few repeat customers", bgShop(400, 3), "repeat customers (fewer than 300)"},
		{"short history", func() []Input {
			cs, _ := clv.SimulateBGNBD(trueBG, clv.SimOptions{N: 3000, TMin: 0, TMax: 60, Resolution: 1, Seed: 9})
			return simInputs(cs, trueGG, 10)
		}(), "days of history (fewer than 90)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Fit(statsOf(tt.ins), DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if m.Name != ModelEmpirical || !strings.HasPrefix(m.Reason, "young shop: ") || !strings.Contains(m.Reason, tt.reason) {
				t.Fatalf("model %s: %q", m.Name, m.Reason)
			}
			if len(m.Candidates) != 0 || !(m.Params["gap_days"] > 0) || m.Params["k"] != 1 {
				t.Errorf("empirical model %+v", m)
			}
			for _, in := range tt.ins[:50] {
				sc := Score(m, in)
				if sc.Model != ModelEmpirical || !(sc.PAlive > 0 && sc.PAlive <= 1) {
					t.Fatalf("score %+v", sc)
				}
			}
		})
	}
}

// TestNoConvergenceFallsBack: a shop where no model is identified
// (nobody bought twice: every fit runs to the edge of the parameter
// space, without standard errors) is scored empirically.
func TestNoConvergenceFallsBack(t *testing.T) {
	var s Stats
	for i := range 50 {
		s.Add(Input{CustomerID: fmt.Sprint(i), AsOf: "2024-12-31", T: 100 + i, RecencyDays: 100 + i, PaidOrders: 1, TotalSpend: 1000, FirstDay: "2024-01-01", LastDay: "2024-01-01"})
	}
	cfg := DefaultConfig()
	cfg.MinRepeatCustomers, cfg.MinHistoryDays = 0, 0
	m, err := Fit(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != ModelEmpirical || len(m.Candidates) != 3 {
		t.Fatalf("model %s with %d candidates: %s", m.Name, len(m.Candidates), m.Reason)
	}
	if !strings.HasPrefix(m.Reason, "no transaction model converged") {
		t.Errorf("reason %q", m.Reason)
	}
	if m.Spend.Model != "fixed" || m.Spend.Params["gamma"] != 1000 || !strings.Contains(m.SpendReason, "0 repeat customers") {
		t.Errorf("spend %+v: %s", m.Spend, m.SpendReason)
	}
	if _, err := json.Marshal(m); err != nil {
		t.Errorf("model not serialisable: %v", err)
	}
}

func TestFitErrors(t *testing.T) {
	var mixed Stats
	mixed.Add(Input{AsOf: "2024-01-01"})
	mixed.Add(Input{AsOf: "2024-01-02"})
	bad := DefaultConfig()
	bad.HighRiskFrom = 0.1
	tests := []struct {
		name string
		s    Stats
		cfg  Config
		want error
	}{
		{"empty", Stats{}, DefaultConfig(), ErrNoCustomers},
		{"mixed as-of days", mixed, DefaultConfig(), ErrMixedAsOf},
		{"bands out of order", statsOf(bgShop(10, 1)), bad, ErrInvalidConfig},
		{"zero config", statsOf(bgShop(10, 1)), Config{}, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Fit(tt.s, tt.cfg); !errorsIs(err, tt.want) {
				t.Errorf("Fit error %v; want %v", err, tt.want)
			}
		})
	}
}

// TestWeightedGammaGamma: the weighted likelihood on (x, m) pairs equals
// clv's on the customers they stand for.
func TestWeightedGammaGamma(t *testing.T) {
	cs := []clv.Customer{{X: 1, Monetary: 20}, {X: 1, Monetary: 20}, {X: 3, Monetary: 35.5}, {X: 2, Monetary: 12}, {X: 3, Monetary: 35.5}, {X: 7, Monetary: 80}}
	rows := []spendRow{{1, 20, 2}, {2, 12, 1}, {3, 35.5, 2}, {7, 80, 1}}
	for _, g := range []clv.GammaGamma{{P: 2, Q: 3, Gamma: 15}, {P: 0.5, Q: 1.5, Gamma: 200}} {
		got := ggLogLik(rows, []float64{g.P, g.Q, g.Gamma}, nil, nil)
		want := g.LogLikelihood(cs)
		if math.Abs(got-want) > 1e-9*math.Abs(want) {
			t.Errorf("%+v: weighted LL %v; clv %v", g, got, want)
		}
	}
	// Gradient and Hessian against central differences.
	par := []float64{2, 3, 15}
	grad, hess := make([]float64, 3), make([]float64, 9)
	ggLogLik(rows, par, grad, hess)
	for i := range 3 {
		h := 1e-5 * par[i]
		up, dn := slices.Clone(par), slices.Clone(par)
		up[i] += h
		dn[i] -= h
		gu, gd := make([]float64, 3), make([]float64, 3)
		num := (ggLogLik(rows, up, gu, nil) - ggLogLik(rows, dn, gd, nil)) / (2 * h)
		if math.Abs(num-grad[i]) > 1e-5*math.Max(1, math.Abs(grad[i])) {
			t.Errorf("grad[%d] = %v; numerically %v", i, grad[i], num)
		}
		for j := range 3 {
			nh := (gu[j] - gd[j]) / (2 * h)
			if math.Abs(nh-hess[i*3+j]) > 1e-4*math.Max(1, math.Abs(nh)) {
				t.Errorf("hess[%d][%d] = %v; numerically %v", i, j, hess[i*3+j], nh)
			}
		}
	}
}

func TestRoundSpend(t *testing.T) {
	for _, tt := range []struct{ in, want float64 }{
		{2216.5, 2216}, {2217.5, 2218}, {12345.6, 12350}, {0.123456, 0.1235}, {0, 0}, {-3, 0}, {math.NaN(), 0}, {99999, 1e5},
	} {
		if got := RoundSpend(tt.in); got != tt.want {
			t.Errorf("RoundSpend(%v) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func errorsIs(err, target error) bool {
	return err != nil && strings.Contains(err.Error(), target.Error())
}
