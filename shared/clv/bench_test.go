package clv

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// benchParams are CDNOW-like BG/NBD parameters (FHL 2005), in weeks.
var benchParams = BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}

// BenchSimOptions is the simulated customer base of the benchmarks: a
// CDNOW-like cohort acquired over 12 weeks and observed to week 39, at day
// resolution.
func BenchSimOptions(n int, seed uint64) SimOptions {
	return SimOptions{N: n, TMin: 27, TMax: 39, Resolution: 1.0 / 7, Seed: seed}
}

var (
	benchMu   sync.Mutex
	benchSets = map[int][]Customer{}
)

// benchCustomers returns n simulated customers (with Gamma-Gamma spend),
// cached across benchmarks.
func benchCustomers(n int) []Customer {
	benchMu.Lock()
	defer benchMu.Unlock()
	if cs, ok := benchSets[n]; ok {
		return cs
	}
	cs, _ := SimulateBGNBD(benchParams, BenchSimOptions(n, uint64(n)))
	SimulateSpend(GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}, cs, uint64(n)+1)
	benchSets[n] = cs
	return cs
}

type benchSet struct {
	name string
	cs   func(testing.TB) []Customer
}

func benchSets3() []benchSet {
	return []benchSet{
		{"cdnow", func(tb testing.TB) []Customer { return Customers(cdnow(tb)) }},
		{"sim23570", func(testing.TB) []Customer { return benchCustomers(23570) }},
		{"sim1M", func(testing.TB) []Customer { return benchCustomers(1_000_000) }},
	}
}

// The fit benchmarks include grouping the customers into triples.
func BenchmarkFitBGNBD(b *testing.B) {
	for _, s := range benchSets3() {
		b.Run(s.name, func(b *testing.B) {
			cs := s.cs(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, res := FitBGNBD(Group(cs), FitOptions{}); !res.Converged {
					b.Fatal(res.Status)
				}
			}
		})
	}
}

func BenchmarkFitMBGNBD(b *testing.B) {
	for _, s := range benchSets3() {
		b.Run(s.name, func(b *testing.B) {
			cs := s.cs(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, res := FitMBGNBD(Group(cs), FitOptions{}); !res.Converged {
					b.Fatal(res.Status)
				}
			}
		})
	}
}

func BenchmarkFitGammaGamma(b *testing.B) {
	for _, s := range benchSets3() {
		b.Run(s.name, func(b *testing.B) {
			cs := s.cs(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, res := FitGammaGamma(cs, FitOptions{}); !res.Converged {
					b.Fatal(res.Status)
				}
			}
		})
	}
}

// BenchmarkPredict measures P(alive) plus the conditional expectation over
// 39 weeks per customer, on one core and on all cores; it reports
// customers/s.
func BenchmarkPredict(b *testing.B) {
	for _, s := range benchSets3() {
		for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(fmt.Sprintf("%s/workers=%d", s.name, workers), func(b *testing.B) {
				cs := s.cs(b)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					Predict(benchParams, cs, 39, workers)
				}
				b.ReportMetric(float64(len(cs))*float64(b.N)/b.Elapsed().Seconds(), "customers/s")
			})
		}
	}
}

func BenchmarkGroup1M(b *testing.B) {
	cs := benchCustomers(1_000_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Group(cs)
	}
}

func BenchmarkPAlive(b *testing.B) {
	var s float64
	for i := 0; i < b.N; i++ {
		s += benchParams.PAlive(float64(i%20), 20, 38)
	}
	_ = s
}

func BenchmarkConditionalExpected(b *testing.B) {
	var s float64
	for i := 0; i < b.N; i++ {
		s += benchParams.ConditionalExpected(39, float64(i%20), 20, 38)
	}
	_ = s
}
