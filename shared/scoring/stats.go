package scoring

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strconv"
)

// Stats are a set of customers' sufficient statistics for Fit: everything
// the model fits, the RFM cut points and the spend tiers need, and nothing
// per customer. They are built per shard with Add, combined with Merge in
// any order, and serialised as JSON between the stages. Every figure is an
// integer or a key, so Merge is exactly commutative and associative and
// Fit's result does not depend on how the customers were split or merged.
//
// Contents: the distinct (x, t_x, T) triples with counts (the transaction
// models' likelihoods depend on nothing else); the Gamma-Gamma inputs as
// distinct (x, mean repeat-day spend rounded to 4 significant digits)
// pairs with counts (see RoundSpend); histograms of recency days, purchase
// days and total spend (log bins, SpendBin) for the RFM cut points; counts
// and sums; the shop's first purchase day.
//
// The zero value is empty and ready to use.
type Stats struct {
	asOf     string
	mixed    bool   // inputs of different as-of days were added or merged
	firstDay string // the shop's first purchase day
	n        statCounts

	triples   map[triple]int64
	spend     map[spendKey]int64 // x > 0 only; m = 0 for a non-positive repeat spend
	recency   map[int64]int64    // recency days → customers
	frequency map[int64]int64    // purchase days → customers
	monetary  map[int64]int64    // SpendBin(total spend) → customers
}

type statCounts struct {
	Customers       int64 `json:"customers"`
	RepeatCustomers int64 `json:"repeat_customers"`
	SumX            int64 `json:"sum_x"`
	SumTx           int64 `json:"sum_tx"`
	MaxT            int64 `json:"max_t"`
	PaidOrders      int64 `json:"paid_orders"`
	TotalSpend      int64 `json:"total_spend"`
	RepeatSpend     int64 `json:"repeat_spend"`
}

type triple struct{ x, tx, t int64 }

type spendKey struct {
	x int64
	m float64
}

// RoundSpend rounds a mean repeat-day spend (minor units) to 4
// significant digits (ties to even): the Gamma-Gamma fit sees at most 9,000 distinct
// values per decade and per x, which keeps Stats compact whatever the
// shop's size. The relative change of any value is at most 5e-4 (half a
// unit in the 4th digit), which moves the fitted parameters and the
// expected order values by far less than their standard errors; scoring
// uses each customer's exact mean.
func RoundSpend(m float64) float64 {
	if !(m > 0) || math.IsInf(m, 0) {
		return 0
	}
	v, _ := strconv.ParseFloat(strconv.FormatFloat(m, 'g', 4, 64), 64)
	return v
}

// SpendBinsPerDecade is the resolution of the log-spaced spend and CLV
// histograms: bins are 10^(1/50) ≈ 4.7% wide.
const SpendBinsPerDecade = 50

// SpendBin is the log-spaced bin of an amount in minor units: 0 for
// amounts below 1, else 1 + floor(50·log10(v)).
func SpendBin(v float64) int64 {
	if !(v >= 1) {
		return 0
	}
	if math.IsInf(v, 1) {
		v = math.MaxFloat64
	}
	return 1 + int64(math.Floor(SpendBinsPerDecade*math.Log10(v)))
}

// binLo is the lower edge of bin k (0 for bin 0).
func binLo(k int64) float64 {
	if k <= 0 {
		return 0
	}
	return math.Pow(10, float64(k-1)/SpendBinsPerDecade)
}

// spendBinLo is the least integer amount in bin k or above.
func spendBinLo(k int64) int64 {
	if k <= 0 {
		return math.MinInt64
	}
	lo, hi := int64(1), int64(math.MaxInt64)
	for lo < hi { // least v with SpendBin(v) >= k
		mid := lo + (hi-lo)/2
		if SpendBin(float64(mid)) >= k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func (s *Stats) init() {
	if s.triples == nil {
		s.triples = map[triple]int64{}
		s.spend = map[spendKey]int64{}
		s.recency = map[int64]int64{}
		s.frequency = map[int64]int64{}
		s.monetary = map[int64]int64{}
	}
}

// setAsOf records a as the statistics' as-of day; a second, different
// day marks them mixed (Fit then fails) and keeps the later day, so that
// the outcome does not depend on the order of the calls.
func (s *Stats) setAsOf(a string, mixed bool) {
	s.mixed = s.mixed || mixed
	switch {
	case a == "" || a == s.asOf:
	case s.asOf == "":
		s.asOf = a
	default:
		s.mixed = true
		s.asOf = max(s.asOf, a)
	}
}

func minDay(a, b string) string {
	if a == "" || (b != "" && b < a) {
		return b
	}
	return a
}

// Add adds one customer.
func (s *Stats) Add(in Input) {
	s.init()
	s.setAsOf(in.AsOf, false)
	s.firstDay = minDay(s.firstDay, in.FirstDay)
	x, tx, t := int64(in.X), int64(in.Tx), int64(in.T)
	s.n.Customers++
	s.n.SumX += x
	s.n.SumTx += tx
	s.n.MaxT = max(s.n.MaxT, t)
	s.n.PaidOrders += int64(in.PaidOrders)
	s.n.TotalSpend += in.TotalSpend
	s.triples[triple{x, tx, t}]++
	if x > 0 {
		s.n.RepeatCustomers++
		s.n.RepeatSpend += in.RepeatSpend
		s.spend[spendKey{x, RoundSpend(in.monetary())}]++
	}
	s.recency[int64(in.RecencyDays)]++
	s.frequency[x+1]++
	s.monetary[SpendBin(float64(in.TotalSpend))]++
}

// monetary is the mean repeat-day spend, minor units (0 without repeats).
func (in Input) monetary() float64 {
	if in.X <= 0 {
		return 0
	}
	return float64(in.RepeatSpend) / float64(in.X)
}

// Merge adds o's customers to s.
func (s *Stats) Merge(o Stats) {
	s.init()
	s.setAsOf(o.asOf, o.mixed)
	s.firstDay = minDay(s.firstDay, o.firstDay)
	s.n.Customers += o.n.Customers
	s.n.RepeatCustomers += o.n.RepeatCustomers
	s.n.SumX += o.n.SumX
	s.n.SumTx += o.n.SumTx
	s.n.MaxT = max(s.n.MaxT, o.n.MaxT)
	s.n.PaidOrders += o.n.PaidOrders
	s.n.TotalSpend += o.n.TotalSpend
	s.n.RepeatSpend += o.n.RepeatSpend
	addCounts(s.triples, o.triples)
	addCounts(s.spend, o.spend)
	addCounts(s.recency, o.recency)
	addCounts(s.frequency, o.frequency)
	addCounts(s.monetary, o.monetary)
}

// Customers is the number of customers added.
func (s Stats) Customers() int64 { return s.n.Customers }

// AsOf is the as-of day of the customers added ("" when empty).
func (s Stats) AsOf() string { return s.asOf }

// statsJSON is the serialised form: sorted arrays, so that equal Stats
// serialise to equal bytes.
type statsJSON struct {
	AsOf      string     `json:"as_of"`
	Mixed     bool       `json:"mixed_as_of,omitempty"`
	FirstDay  string     `json:"first_day"`
	Counts    statCounts `json:"counts"`
	Triples   [][4]int64 `json:"triples"`   // x, t_x, T, customers
	Spend     []spendRow `json:"spend"`     // x, rounded mean repeat spend, customers
	Recency   [][2]int64 `json:"recency"`   // days, customers
	Frequency [][2]int64 `json:"frequency"` // purchase days, customers
	Monetary  [][2]int64 `json:"monetary"`  // SpendBin, customers
}

type spendRow struct {
	X     int64   `json:"x"`
	M     float64 `json:"m"`
	Count int64   `json:"n"`
}

func sortedPairs(m map[int64]int64) [][2]int64 {
	out := make([][2]int64, 0, len(m))
	for k, v := range m {
		out = append(out, [2]int64{k, v})
	}
	slices.SortFunc(out, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	return out
}

// sortedTriples returns the triples ordered by x, t_x, T.
func (s Stats) sortedTriples() [][4]int64 {
	out := make([][4]int64, 0, len(s.triples))
	for k, v := range s.triples {
		out = append(out, [4]int64{k.x, k.tx, k.t, v})
	}
	slices.SortFunc(out, func(a, b [4]int64) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]), cmp.Compare(a[2], b[2]))
	})
	return out
}

// sortedSpend returns the spend pairs ordered by x, m.
func (s Stats) sortedSpend() []spendRow {
	out := make([]spendRow, 0, len(s.spend))
	for k, v := range s.spend {
		out = append(out, spendRow{k.x, k.m, v})
	}
	slices.SortFunc(out, func(a, b spendRow) int { return cmp.Or(cmp.Compare(a.X, b.X), cmp.Compare(a.M, b.M)) })
	return out
}

// MarshalJSON writes the statistics as sorted arrays.
func (s Stats) MarshalJSON() ([]byte, error) {
	return json.Marshal(statsJSON{
		AsOf: s.asOf, Mixed: s.mixed, FirstDay: s.firstDay, Counts: s.n,
		Triples: s.sortedTriples(), Spend: s.sortedSpend(),
		Recency: sortedPairs(s.recency), Frequency: sortedPairs(s.frequency), Monetary: sortedPairs(s.monetary),
	})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (s *Stats) UnmarshalJSON(b []byte) error {
	var j statsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Stats{asOf: j.AsOf, mixed: j.Mixed, firstDay: j.FirstDay, n: j.Counts}
	s.init()
	for _, t := range j.Triples {
		s.triples[triple{t[0], t[1], t[2]}] += t[3]
	}
	for _, r := range j.Spend {
		s.spend[spendKey{r.X, r.M}] += r.Count
	}
	for _, p := range j.Recency {
		s.recency[p[0]] += p[1]
	}
	for _, p := range j.Frequency {
		s.frequency[p[0]] += p[1]
	}
	for _, p := range j.Monetary {
		s.monetary[p[0]] += p[1]
	}
	return nil
}

// addCounts adds src's counts into dst, key by key: the merge of every
// mergeable histogram and count map.
func addCounts[K comparable](dst, src map[K]int64) {
	for k, v := range src {
		dst[k] += v
	}
}
