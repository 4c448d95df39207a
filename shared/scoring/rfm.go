package scoring

import (
	"math"
	"slices"

	"github.com/winback/winback/shared/clv"
)

// quintiles maps each distinct value of a histogram (sorted ascending) to
// its quintile score by mid-rank percentile: with `below` customers
// strictly worse and c tied at the value, out of n,
//
//	score = min(5, 1 + floor(5·(below + c/2)/n)),
//
// computed in integers, so ties always share a score. higherBetter says
// whether larger values are better (F, M) or smaller (R).
func quintiles(h [][2]int64, higherBetter bool) []int {
	var n int64
	for _, p := range h {
		n += p[1]
	}
	scores := make([]int, len(h))
	var worse int64
	for k := range h {
		i := k
		if !higherBetter {
			i = len(h) - 1 - k
		}
		c := h[i][1]
		scores[i] = int(min(5, 1+5*(2*worse+c)/(2*n)))
		worse += c
	}
	return scores
}

// cuts turns per-value scores into cut points: for s = 2..5, the least
// value (higherBetter) or the greatest value (!higherBetter) scoring at
// least s; none is the value for a score nobody reaches.
func cuts(h [][2]int64, scores []int, higherBetter bool, value func(int64) int64, none int64) [4]int64 {
	var out [4]int64
	for s := 2; s <= 5; s++ {
		out[s-2] = none
		for k := range h {
			i := k
			if !higherBetter {
				i = len(h) - 1 - k
			}
			if scores[i] >= s {
				out[s-2] = value(h[i][0])
				break
			}
		}
	}
	return out
}

// rfmCuts computes the RFM cut points from the shop-wide histograms.
func rfmCuts(s Stats) RFMCuts {
	id := func(v int64) int64 { return v }
	r, f, m := sortedPairs(s.recency), sortedPairs(s.frequency), sortedPairs(s.monetary)
	return RFMCuts{
		Recency:   cuts(r, quintiles(r, false), false, id, -1),
		Frequency: cuts(f, quintiles(f, true), true, id, math.MaxInt64),
		Monetary:  cuts(m, quintiles(m, true), true, spendBinLo, math.MaxInt64),
	}
}

// Scores are a customer's R, F and M scores under the cut points:
// recency days, purchase days (x + 1) and total spend.
func (c RFMCuts) Scores(in Input) (r, f, m int) {
	r, f, m = 1, 1, 1
	for i := range 4 {
		if int64(in.RecencyDays) <= c.Recency[i] {
			r++
		}
		if int64(in.X+1) >= c.Frequency[i] {
			f++
		}
		if in.TotalSpend >= c.Monetary[i] {
			m++
		}
	}
	return r, f, m
}

// segmentGrid is the segment of each R (row, 5 first) and FM (column, 1
// first) score; RULES.md shows it as a table.
var segmentGrid = [5][5]Segment{
	/* R=5 */ {SegmentNew, SegmentPromising, SegmentActive, SegmentChampions, SegmentChampions},
	/* R=4 */ {SegmentPromising, SegmentPromising, SegmentActive, SegmentLoyal, SegmentLoyal},
	/* R=3 */ {SegmentAlmostLost, SegmentNeedsAttention, SegmentNeedsAttention, SegmentLoyal, SegmentLoyal},
	/* R=2 */ {SegmentDormant, SegmentAlmostLost, SegmentAlmostLost, SegmentAtRisk, SegmentPreviouslyLoyal},
	/* R=1 */ {SegmentDormant, SegmentDormant, SegmentAlmostLost, SegmentAtRisk, SegmentPreviouslyLoyal},
}

// SegmentOf is the named segment of R, F and M scores (1..5): the grid
// over R × FM with FM = round((F+M)/2), halves rounded up. Scores out of
// range (a prospect's 0s) give SegmentProspects.
func SegmentOf(r, f, m int) Segment {
	if r < 1 || r > 5 || f < 1 || f > 5 || m < 1 || m > 5 {
		return SegmentProspects
	}
	fm := (f + m + 1) / 2
	return segmentGrid[5-r][fm-1]
}

// BandOf is the churn-risk band of risk under cfg: low below
// LowRiskBelow, high from HighRiskFrom, medium between.
func BandOf(risk float64, cfg Config) Band {
	switch {
	case risk < cfg.LowRiskBelow:
		return BandLow
	case risk >= cfg.HighRiskFrom:
		return BandHigh
	}
	return BandMedium
}

// TierOf is the spend tier of a predicted CLV.
func (t TierCuts) TierOf(clvValue float64) Tier {
	switch {
	case clvValue >= t.High:
		return TierHigh
	case clvValue >= t.Medium:
		return TierMedium
	}
	return TierLow
}

// tierBinsPerDecade is the resolution of the CLV distribution Fit builds
// for the tier thresholds.
const tierBinsPerDecade = 100

func fineBin(v float64) int64 { return int64(math.Floor(tierBinsPerDecade * math.Log10(v))) }

// tierCuts places the spend-tier thresholds at the top HighTierShare and
// the next MediumTierShare of the predicted CLV distribution.
//
// A customer's CLV is D(x, t_x, T)·V(x, m): the discounted expected
// purchases over the horizon, a function of the triple, times the
// expected order value, a function of x and the mean repeat spend. The
// statistics hold the triples and the (x, m) pairs but not which goes
// with which; given x the two are taken as independent (the Gamma-Gamma
// model's own assumption), so for each x the CLV distribution is the
// product of the D and V distributions. Both are binned at 100 bins per
// decade and multiplied as sums of log bins, so a threshold is located
// within a factor 10^(2/100) ≈ 4.7% of the exact quantile of this
// distribution, and tier shares come out near 20/30/50 rather than exact;
// the report's tiers map counts the actual customers per tier.
func tierCuts(s Stats, m Model) TierCuts {
	tm, gg := m.transactionModel(), m.spendModel()
	d := s.data()
	cs := make([]clv.Customer, len(d.Triples))
	for i, t := range d.Triples {
		cs[i] = clv.Customer{X: t.X, Tx: t.Tx, T: t.T}
	}
	// With a unit spend model (E[value] = 1 for every customer) the CLV is D.
	unit := clv.GammaGamma{P: 1, Q: 2, Gamma: 1}
	ds := clv.ScoreCustomers(tm, unit, cs, clv.ScoreOptions{
		Horizon: 1, Months: m.Config.Months, MonthlyDiscount: m.Config.MonthlyDiscount,
		Unit: clv.Day, NextPurchaseCap: 1e-9,
	})
	type hist = map[int64]float64 // fine bin → customers; zero values under zeroKey
	const zeroKey = math.MinInt64
	key := func(v float64) int64 {
		if !(v > 0) || math.IsInf(v, 0) {
			return zeroKey
		}
		return fineBin(v)
	}
	dByX := map[int64]hist{}
	nByX := map[int64]float64{}
	for i, t := range d.Triples {
		x := int64(t.X)
		if dByX[x] == nil {
			dByX[x] = hist{}
		}
		dByX[x][key(ds[i].CLV)] += t.Count
		nByX[x] += t.Count
	}
	vByX := map[int64]hist{}
	for x, n := range nByX {
		vByX[x] = hist{}
		if x == 0 {
			vByX[x][key(gg.ExpectedAverageValue(0, 0))] = n
		}
	}
	for _, r := range s.sortedSpend() {
		vByX[r.X][key(gg.ExpectedAverageValue(float64(r.X), r.M))] += float64(r.Count)
	}
	// Sum in sorted order: the thresholds must not depend on map order.
	total := map[int64]float64{}
	var n float64
	for _, x := range sortedKeys(nByX) {
		nx, dh, vh := nByX[x], dByX[x], vByX[x]
		for _, i := range sortedKeys(dh) {
			for _, j := range sortedKeys(vh) {
				k := int64(zeroKey)
				if i != zeroKey && j != zeroKey {
					k = i + j
				}
				total[k] += dh[i] * vh[j] / nx
			}
		}
		n += nx
	}
	keys := sortedKeys(total)
	slices.Reverse(keys)
	at := func(share float64) float64 {
		if share <= 0 {
			return math.Inf(1)
		}
		var cum float64
		for _, k := range keys {
			cum += total[k]
			if cum >= share*n*(1-1e-12) {
				if k == zeroKey {
					return math.SmallestNonzeroFloat64
				}
				return math.Pow(10, float64(k)/tierBinsPerDecade)
			}
		}
		return math.SmallestNonzeroFloat64
	}
	hi := at(m.Config.HighTierShare)
	med := at(m.Config.HighTierShare + m.Config.MediumTierShare)
	if math.IsInf(hi, 1) {
		hi = math.MaxFloat64 // JSON has no infinity
	}
	if math.IsInf(med, 1) {
		med = math.MaxFloat64
	}
	return TierCuts{High: hi, Medium: min(med, hi)}
}

// sortedKeys returns m's keys in ascending order.
func sortedKeys(m map[int64]float64) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
