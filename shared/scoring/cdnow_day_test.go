package scoring

import (
	"math"
	"testing"
	"time"

	"github.com/winback/winback/shared/clv"
)

// TestCDNOWDaysMatchCLV is the proof the export relies on: the CDNOW
// sample ingested as orders, turned into Inputs as of 1998-06-30 in days,
// fitted and scored here, equals `winback clv score --unit day --model X`
// (clv.Summarize, clv.FitX, clv.FitGammaGamma, clv.ScoreCustomers with
// Unit Day) on the same transactions, for each transaction model.
//
// Tolerances: parameters, log-likelihood, p_alive, expected purchases and
// the next order date are equal (1e-9 relative; the fits see identical
// triples). The expected order value and CLV differ by the Gamma-Gamma
// fit on spends rounded to 4 significant digits (RoundSpend): within
// 1e-3 relative.
func TestCDNOWDaysMatchCLV(t *testing.T) {
	end := time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC)
	sums, _ := cdnow(t, end)
	direct := cdnowDays(t, end)
	ins := make([]Input, 0, len(sums))
	var st Stats
	for _, s := range sums {
		in, ok := InputOf(s, "1998-06-30", time.UTC)
		if !ok {
			t.Fatalf("customer %s: no input", s.CustomerID)
		}
		ins = append(ins, in)
		st.Add(in)
	}
	for i, w := range direct {
		g := ins[i]
		if g.CustomerID != w.ID || float64(g.X) != w.X || float64(g.Tx) != w.Tx || float64(g.T) != w.T ||
			math.Abs(g.monetary()/100-w.Monetary) > 1e-9*math.Max(1, w.Monetary) {
			t.Fatalf("customer %s: input %+v, clv.Summarize %+v", w.ID, g, w)
		}
	}
	gg, ggRes := clv.FitGammaGamma(direct, clv.FitOptions{})
	if !ggRes.Converged {
		t.Fatalf("direct gammagamma: %s", ggRes.Status)
	}
	closeRel := func(a, b, tol float64) bool {
		return a == b || math.Abs(a-b) <= tol*math.Max(1e-12, math.Max(math.Abs(a), math.Abs(b)))
	}
	for _, name := range []string{ModelBGNBD, ModelMBGNBD, ModelParetoNBD} {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Models = []string{name}
			m, err := Fit(st, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if m.Name != name {
				t.Fatalf("model %s (%s); want %s", m.Name, m.Reason, name)
			}
			want := fitDirect(t, name, direct)
			for k, v := range want.Params {
				if !closeRel(m.Params[k], v, 1e-9) {
					t.Errorf("%s = %v; clv directly %v", k, m.Params[k], v)
				}
			}
			if !closeRel(m.Candidates[0].LogLik, want.LogLik, 1e-9) {
				t.Errorf("LL = %v; clv directly %v", m.Candidates[0].LogLik, want.LogLik)
			}
			if m.Spend.Model != "gammagamma" {
				t.Fatalf("spend model %s: %s", m.Spend.Model, m.SpendReason)
			}
			for k, v := range ggRes.Params {
				scale := 1.0
				if k == "gamma" {
					scale = 100 // cents
				}
				if !closeRel(m.Spend.Params[k], v*scale, 1e-3) {
					t.Errorf("gammagamma %s = %v; clv directly %v", k, m.Spend.Params[k], v*scale)
				}
			}
			wantScores := clv.ScoreCustomers(m.transactionModel(), gg, direct, clv.ScoreOptions{
				Horizon: 365, Months: 12, MonthlyDiscount: 0.01, Unit: clv.Day, NextPurchaseCap: 365,
			})
			var worstCLV float64
			for i, w := range wantScores {
				g := Score(m, ins[i])
				next := ""
				if !math.IsInf(w.NextPurchase, 1) {
					next = end.AddDate(0, 0, int(math.Ceil(w.NextPurchase-1e-9))).Format(time.DateOnly)
				}
				if g.PAlive != w.PAlive || g.ExpectedPurchases365d != w.Expected || g.NextOrderDate != next {
					t.Fatalf("customer %s: scored %+v; clv directly %+v (next %q)", direct[i].ID, g, w, next)
				}
				if !closeRel(g.ExpectedOrderValue, 100*w.AverageValue, 1e-3) || !closeRel(g.CLV, 100*w.CLV, 1e-3) {
					t.Fatalf("customer %s: value %v clv %v; clv directly %v, %v (cents)", direct[i].ID, g.ExpectedOrderValue, g.CLV, 100*w.AverageValue, 100*w.CLV)
				}
				if w.CLV > 0 {
					worstCLV = math.Max(worstCLV, math.Abs(g.CLV/(100*w.CLV)-1))
				}
			}
			t.Logf("%s: LL %.3f; largest relative CLV difference from the unrounded dollar fit %.2e", name, m.Candidates[0].LogLik, worstCLV)
		})
	}
}

// cdnowDays summarises the CDNOW log in days, as `clv score --unit day`.
func cdnowDays(t *testing.T, end time.Time) []clv.Customer {
	t.Helper()
	_, _ = cdnow(t, end) // checks the file
	txs := readCDNOW(t)
	s, err := clv.Summarize(txs, clv.Period{ObservationEnd: end, Unit: clv.Day})
	if err != nil {
		t.Fatal(err)
	}
	return clv.Customers(s)
}

func fitDirect(t *testing.T, name string, cs []clv.Customer) clv.FitResult {
	d := clv.Group(cs)
	var res clv.FitResult
	switch name {
	case ModelBGNBD:
		_, res = clv.FitBGNBD(d, clv.FitOptions{})
	case ModelMBGNBD:
		_, res = clv.FitMBGNBD(d, clv.FitOptions{})
	default:
		_, res = clv.FitParetoNBD(d, clv.FitOptions{})
	}
	if !res.Converged {
		t.Fatalf("%s directly: %s", name, res.Status)
	}
	return res
}
