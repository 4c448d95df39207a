package scoring

import (
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

var (
	fuzzOnce   sync.Once
	fuzzModels []Model
)

// modelsForFuzz are one fitted model of each kind and the empirical one.
func modelsForFuzz(t testing.TB) []Model {
	fuzzOnce.Do(func() {
		st := statsOf(bgShop(3000, 61))
		for _, name := range []string{ModelBGNBD, ModelMBGNBD, ModelParetoNBD} {
			cfg := DefaultConfig()
			cfg.Models = []string{name}
			m, err := Fit(st, cfg)
			if err != nil || m.Name != name {
				panic(fmt.Sprintf("fit %s: %v %s", name, err, m.Reason))
			}
			fuzzModels = append(fuzzModels, m)
		}
		m, _ := Fit(statsOf(smallShop()), DefaultConfig())
		fuzzModels = append(fuzzModels, m)
	})
	return fuzzModels
}

// validInput maps arbitrary numbers onto a valid Input: 0 <= x <= t_x <= T
// (x repeat days need x distinct days after the first), t_x = 0 when x = 0.
func validInput(x, tx, T uint32, rep, total int64) Input {
	T %= 40000 // a century and more of days
	tx %= T + 1
	x %= tx + 1
	if x == 0 {
		tx = 0
	}
	return Input{
		CustomerID: "f", AsOf: "2024-12-31", X: int(x), Tx: int(tx), T: int(T), RecencyDays: int(T - tx),
		RepeatSpend: rep, PaidOrders: int(x) + 1, TotalSpend: total,
	}
}

// FuzzScore: Score never returns NaN or ±Inf, probabilities stay in
// [0, 1], and the result is JSON-serialisable.
func FuzzScore(f *testing.F) {
	f.Add(uint32(0), uint32(0), uint32(0), int64(0), int64(0))
	f.Add(uint32(3), uint32(80), uint32(90), int64(9000), int64(12000))
	f.Add(uint32(500), uint32(700), uint32(39999), int64(math.MaxInt64/2), int64(math.MaxInt64))
	f.Add(uint32(1), uint32(1), uint32(1), int64(-500), int64(-100))
	models := modelsForFuzz(f)
	f.Fuzz(func(t *testing.T, x, tx, T uint32, rep, total int64) {
		in := validInput(x, tx, T, rep, total)
		for _, m := range models {
			sc := Score(m, in)
			for _, v := range []float64{sc.PAlive, sc.ChurnRisk, sc.ExpectedPurchases30d, sc.ExpectedPurchases90d, sc.ExpectedPurchases365d, sc.ExpectedOrderValue, sc.CLV} {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s, %+v: %+v", m.Name, in, sc)
				}
			}
			if sc.PAlive < 0 || sc.PAlive > 1 || sc.Segment == "" || sc.ChurnBand == "" || sc.SpendTier == "" {
				t.Fatalf("%s, %+v: %+v", m.Name, in, sc)
			}
			if _, err := json.Marshal(sc); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestScoreFiniteGrid runs the fuzz property over a grid in ordinary tests.
func TestScoreFiniteGrid(t *testing.T) {
	models := modelsForFuzz(t)
	for _, T := range []uint32{0, 1, 30, 365, 3000, 39999} {
		for _, tx := range []uint32{0, 1, 29, 364, 2999} {
			for _, x := range []uint32{0, 1, 5, 50, 2000} {
				in := validInput(x, tx, T, 1e6, 2e6)
				for _, m := range models {
					sc := Score(m, in)
					for _, v := range []float64{sc.PAlive, sc.ExpectedPurchases365d, sc.ExpectedOrderValue, sc.CLV} {
						if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
							t.Fatalf("%s, %+v: %+v", m.Name, in, sc)
						}
					}
				}
			}
		}
	}
}

// BenchmarkModelMath is the "model math alone" figure: Stats.Add and
// Score per customer, for each transaction model, on a simulated shop
// (customers/s reported).
func BenchmarkModelMath(b *testing.B) {
	ins := bgShop(20000, 71)
	models := modelsForFuzz(b)
	for _, m := range models {
		b.Run(m.Name, func(b *testing.B) {
			var st Stats
			var sink float64
			start := time.Now()
			n := 0
			for b.Loop() {
				in := ins[n%len(ins)]
				st.Add(in)
				sink += Score(m, in).CLV
				n++
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "customers/s")
			_ = sink
		})
	}
	b.Run("ScoreAll-bgnbd-1worker", func(b *testing.B) {
		start := time.Now()
		n := 0
		for b.Loop() {
			_ = ScoreAll(models[0], ins, 1)
			n += len(ins)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "customers/s")
	})
	b.Run("Fit-bgnbd-20000", func(b *testing.B) {
		st := statsOf(ins)
		cfg := DefaultConfig()
		for b.Loop() {
			if _, err := Fit(st, cfg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
