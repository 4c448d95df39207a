package clv

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// unitMap maps any float64 into [lo, hi] on a log scale (NaN and ±Inf
// included), so the fuzzer explores every order of magnitude.
func unitMap(v, lo, hi float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return hi
	}
	f := math.Abs(math.Mod(v, 1)) // [0, 1)
	if v != math.Trunc(v) || v == 0 {
		return lo * math.Pow(hi/lo, f)
	}
	// Integers: use their magnitude directly, clamped.
	return math.Min(hi, math.Max(lo, math.Abs(v)))
}

// FuzzModels checks that every model output is finite and in range for any
// valid history and parameters: x a non-negative integer up to 1e6,
// 0 <= t_x <= T <= 1e5, horizons up to 1e4 and parameters in [1e-3, 1e3]
// (a < 1, a = 1, T = 0, t_x = T and huge x included).
func FuzzModels(f *testing.F) {
	// x, tx/T fraction, T, t, r, alpha, a, b, monetary
	seeds := [][9]float64{
		{0, 0, 38.86, 39, 0.243, 4.414, 0.793, 2.426, 0},
		{2, 0.783, 38.86, 39, 0.243, 4.414, 0.793, 2.426, 22.35},
		{20, 1, 39, 52, 0.243, 4.414, 0.793, 2.426, 30},    // t_x = T
		{1e6, 1, 1e5, 1e4, 1000, 0.001, 0.001, 1000, 1e6},  // huge x and T
		{1e6, 0, 1e5, 1e4, 0.001, 1000, 1000, 0.001, 1e-3}, // long silence
		{3, 0.5, 0, 0, 1, 1, 1, 1, 1},                      // T = 0, t = 0
		{5, 0.5, 20, 100, 2, 3, 1, 4, 10},                  // a = 1 exactly
		{5, 0.5, 20, 100, 2, 3, 0.999999, 4, 10},           // a just below 1
		{0, 0, 0, 1e4, 0.001, 0.001, 0.5, 0.5, 0},          // horizon dwarfs alpha
		{7, 0.1, 1e5, 1e4, 1000, 1000, 1000, 1000, 5},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8])
	}
	f.Fuzz(func(t *testing.T, x, frac, T, horizon, r, alpha, a, b, mon float64) {
		x = math.Floor(unitMap(x, 1, 1e6))
		if x == 1 && frac < 0 {
			x = 0
		}
		T = unitMap(T, 1e-3, 1e5)
		if math.IsNaN(frac) || math.IsInf(frac, 0) {
			frac = 1
		}
		tx := T * math.Min(1, math.Abs(math.Mod(frac, 1.000001)))
		if x == 0 {
			tx = 0
		}
		horizon = unitMap(horizon, 1e-3, 1e4)
		r, alpha = unitMap(r, 1e-3, 1e3), unitMap(alpha, 1e-3, 1e3)
		a, b = unitMap(a, 1e-3, 1e3), unitMap(b, 1e-3, 1e3)
		mon = unitMap(mon, 1e-3, 1e6)

		bg := BGNBD{R: r, Alpha: alpha, A: a, B: b}
		models := []struct {
			name string
			m    TransactionModel
			ll   func(Data) float64
		}{
			{"bgnbd", bg, bg.LogLikelihood},
			{"mbgnbd", MBGNBD(bg), MBGNBD(bg).LogLikelihood},
		}
		d := Group([]Customer{{X: x, Tx: tx, T: T}})
		for _, c := range models {
			pa := c.m.PAlive(x, tx, T)
			if !(pa >= 0 && pa <= 1) {
				t.Fatalf("%s P(alive | %v, %v, %v) = %v with %+v", c.name, x, tx, T, pa, bg)
			}
			ce := c.m.ConditionalExpected(horizon, x, tx, T)
			if !(ce >= 0) || math.IsInf(ce, 0) {
				t.Fatalf("%s E[Y(%v) | %v, %v, %v] = %v with %+v", c.name, horizon, x, tx, T, ce, bg)
			}
			ex := c.m.Expected(horizon)
			if !(ex >= 0) || math.IsInf(ex, 0) {
				t.Fatalf("%s E[X(%v)] = %v with %+v", c.name, horizon, ex, bg)
			}
			ll := c.ll(d)
			if math.IsNaN(ll) || math.IsInf(ll, 0) { // a density in the purchase times: may be > 0
				t.Fatalf("%s log-likelihood of (%v, %v, %v) = %v with %+v", c.name, x, tx, T, ll, bg)
			}
		}
		gg := GammaGamma{P: r, Q: a, Gamma: b}
		v := gg.ExpectedAverageValue(x, mon)
		if !(v >= 0) || math.IsInf(v, 0) {
			t.Fatalf("E[M | %v, %v] = %v with %+v", x, mon, v, gg)
		}
		if x > 0 {
			ll := gg.LogLikelihood([]Customer{{X: x, Monetary: mon}})
			if math.IsNaN(ll) || math.IsInf(ll, 0) {
				t.Fatalf("Gamma-Gamma log-likelihood of (%v, %v) = %v with %+v", x, mon, ll, gg)
			}
		}
	})
}

// FuzzReadTransactions checks that any file either fails with a
// line-numbered ErrMalformed or yields valid transactions whose summaries
// are finite and consistent.
func FuzzReadTransactions(f *testing.F) {
	for _, s := range []string{
		"customer_id,date,amount\n1,1997-01-01,29.33\n1,1997-01-18,0\n2,1997-01-02,5\n",
		"amount,date,customer_id\n3,2024-02-29,a\n",
		"customer_id,date,amount\n1,2024-01-01,-1\n",
		"customer_id,date,amount\n\"1,2024-01-01,1\n",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		txs, err := ReadTransactions(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "line ") {
				t.Fatalf("error %q: want a line-numbered ErrMalformed", err)
			}
			return
		}
		for _, tx := range txs {
			if tx.CustomerID == "" || !(tx.Amount >= 0) || math.IsInf(tx.Amount, 0) || tx.Line < 2 {
				t.Fatalf("invalid transaction %+v", tx)
			}
		}
		for _, unit := range []Unit{Week, Day} {
			s, err := Summarize(txs, Period{Unit: unit})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range s {
				if !(c.X >= 0 && c.Tx >= 0 && c.Tx <= c.T && c.Monetary >= 0) || math.IsInf(c.Monetary, 0) || (c.X == 0 && c.Tx != 0) {
					t.Fatalf("invalid summary %+v", c)
				}
			}
		}
	})
}
