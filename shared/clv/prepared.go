package clv

import (
	"runtime"
	"sort"
	"sync"
)

// prepared is Data laid out for fast likelihood passes: the distinct x, T
// and t_x values are stored once, so per-evaluation terms that depend on
// only one of them (lgamma of r+x, log(alpha+T), ...) are computed once per
// distinct value, and each triple only indexes into those tables.
type prepared struct {
	xVals  []float64 // distinct x, ascending
	xCount []float64 // customers per distinct x
	tVals  []float64 // distinct T
	txVals []float64 // distinct t_x
	// Per triple.
	x             []float64
	xi, ti, txi   []int32
	w             []float64
	tW, tWX       []float64 // per distinct T: Σ weights, Σ weight·x
	firstPositive int       // index of the first triple with x > 0
	customers     int
	totalWeight   float64
	sumX, sumT    float64 // weighted sums, for default starting points
	repeatWeight  float64 // customers with x > 0
	maxX, maxTime float64
}

func prepare(d Data) *prepared {
	n := len(d.Triples)
	p := &prepared{
		x: make([]float64, n), xi: make([]int32, n), ti: make([]int32, n), txi: make([]int32, n),
		w: make([]float64, n), customers: d.Customers, firstPositive: n,
	}
	// Distinct T and t_x values in order of appearance, then sorted and
	// remapped; triples are sorted by x already, so x runs are contiguous.
	tIdx := map[float64]int32{}
	txIdx := map[float64]int32{}
	for i, tr := range d.Triples {
		j, ok := tIdx[tr.T]
		if !ok {
			j = int32(len(p.tVals))
			tIdx[tr.T] = j
			p.tVals = append(p.tVals, tr.T)
		}
		p.ti[i] = j
		j, ok = txIdx[tr.Tx]
		if !ok {
			j = int32(len(p.txVals))
			txIdx[tr.Tx] = j
			p.txVals = append(p.txVals, tr.Tx)
		}
		p.txi[i] = j
		if i == 0 || tr.X != d.Triples[i-1].X {
			p.xVals = append(p.xVals, tr.X)
			p.xCount = append(p.xCount, 0)
		}
		k := len(p.xVals) - 1
		p.xi[i] = int32(k)
		p.xCount[k] += tr.Count
		p.x[i] = tr.X
		p.w[i] = tr.Count
		if tr.X > 0 && i < p.firstPositive {
			p.firstPositive = i
		}
		p.totalWeight += tr.Count
		p.sumX += tr.Count * tr.X
		p.sumT += tr.Count * tr.T
		if tr.X > 0 {
			p.repeatWeight += tr.Count
		}
		p.maxX = max(p.maxX, tr.X)
		p.maxTime = max(p.maxTime, tr.T)
	}
	p.tVals = sortRemap(p.tVals, p.ti)
	p.txVals = sortRemap(p.txVals, p.txi)
	p.tW = make([]float64, len(p.tVals))
	p.tWX = make([]float64, len(p.tVals))
	for i := range p.w {
		p.tW[p.ti[i]] += p.w[i]
		p.tWX[p.ti[i]] += p.w[i] * p.x[i]
	}
	if p.customers == 0 {
		p.customers = int(p.totalWeight + 0.5)
	}
	return p
}

// sortRemap sorts vals and rewrites the indices in idx to match.
func sortRemap(vals []float64, idx []int32) []float64 {
	order := make([]int32, len(vals))
	for i := range order {
		order[i] = int32(i)
	}
	sort.Slice(order, func(i, j int) bool { return vals[order[i]] < vals[order[j]] })
	remap := make([]int32, len(vals))
	sorted := make([]float64, len(vals))
	for newI, oldI := range order {
		remap[oldI] = int32(newI)
		sorted[newI] = vals[oldI]
	}
	for i, j := range idx {
		idx[i] = remap[j]
	}
	return sorted
}

// rateGuess is a rough purchase rate per time unit, for starting points.
func (p *prepared) rateGuess() float64 {
	if p.sumX > 0 && p.sumT > 0 {
		return p.sumX / p.sumT
	}
	return 1
}

// parallelMin is the number of triples from which likelihood passes are
// split over goroutines.
const parallelMin = 1 << 13

// sumChunks runs f over [0, n) in contiguous chunks, in parallel when n is
// large, and adds up the k partial sums each chunk returns in acc. The sum
// is taken in chunk order, so results are deterministic for a given
// GOMAXPROCS.
func sumChunks(n, k int, f func(lo, hi int, acc []float64)) []float64 {
	workers := runtime.GOMAXPROCS(0)
	if n < parallelMin || workers < 2 {
		acc := make([]float64, k)
		f(0, n, acc)
		return acc
	}
	parts := make([][]float64, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := n*w/workers, n*(w+1)/workers
		parts[w] = make([]float64, k)
		wg.Add(1)
		go func(acc []float64) {
			defer wg.Done()
			f(lo, hi, acc)
		}(parts[w])
	}
	wg.Wait()
	acc := parts[0]
	for _, p := range parts[1:] {
		for i := range acc {
			acc[i] += p[i]
		}
	}
	return acc
}
