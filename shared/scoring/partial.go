package scoring

import (
	"math"
	"slices"
)

// Partial is one shard's KPI aggregates, built with Add while scoring and
// combined with Merge in any order. Every figure is an integer, so Merge
// is exactly commutative and associative and a re-run reports the same
// day: P(alive) is summed in units of 1e-9, CLV in whole minor units
// (rounded per customer). The zero value is empty and ready to use.
type Partial struct {
	AsOf            string `json:"as_of"`
	Customers       int64  `json:"customers"`
	Prospects       int64  `json:"prospects"`
	RepeatCustomers int64  `json:"repeat_customers"`
	PaidOrders      int64  `json:"paid_orders"`
	TotalSpend      int64  `json:"total_spend"`
	// PAliveNano is Σ round(p_alive·1e9).
	PAliveNano int64 `json:"p_alive_sum_nano"`
	// ActiveCount counts customers with Active scores.
	ActiveCount int64 `json:"active_count"`
	// CLVSum is Σ round(clv), minor units.
	CLVSum   int64             `json:"clv_sum"`
	Segments map[Segment]int64 `json:"segments"`
	Bands    map[Band]int64    `json:"bands"`
	Tiers    map[Tier]int64    `json:"tiers"`
	// Revenue is the customers and their total spend by SpendBin of the
	// total spend.
	Revenue map[int64]RevenueBin `json:"revenue"`
	// CLV counts customers by SpendBin of their CLV.
	CLV map[int64]int64 `json:"clv"`
	// ChurnRisk counts customers by churn risk in 20 bins of 0.05 (the
	// last includes 1).
	ChurnRisk [20]int64 `json:"churn_risk"`
}

// RevenueBin is one log bin of customers by total spend.
type RevenueBin struct {
	Customers int64 `json:"n"`
	Spend     int64 `json:"spend"`
}

func (p *Partial) init() {
	if p.Segments == nil {
		p.Segments = map[Segment]int64{}
		p.Bands = map[Band]int64{}
		p.Tiers = map[Tier]int64{}
		p.Revenue = map[int64]RevenueBin{}
		p.CLV = map[int64]int64{}
	}
}

// maxCLVSum bounds one customer's contribution to CLVSum (minor units).
const maxCLVSum = 1e15

// Add adds one scored customer (sc = Score(m, in)), or a prospect (sc =
// Prospect(m, id), in ignored).
func (p *Partial) Add(in Input, sc CustomerScore) {
	p.init()
	p.AsOf = max(p.AsOf, sc.AsOf)
	p.Segments[sc.Segment]++
	if sc.Segment == SegmentProspects {
		p.Prospects++
		return
	}
	p.Customers++
	if in.X > 0 {
		p.RepeatCustomers++
	}
	p.PaidOrders += int64(in.PaidOrders)
	p.TotalSpend += in.TotalSpend
	p.PAliveNano += int64(math.Round(clamp01(sc.PAlive) * 1e9))
	if sc.Active {
		p.ActiveCount++
	}
	p.CLVSum += int64(math.Round(min(max(finite(sc.CLV), 0), maxCLVSum)))
	p.Bands[sc.ChurnBand]++
	p.Tiers[sc.SpendTier]++
	rb := p.Revenue[SpendBin(float64(in.TotalSpend))]
	rb.Customers++
	rb.Spend += in.TotalSpend
	p.Revenue[SpendBin(float64(in.TotalSpend))] = rb
	p.CLV[SpendBin(sc.CLV)]++
	p.ChurnRisk[min(19, int(math.Floor(clamp01(sc.ChurnRisk)*20)))]++
}

// Merge adds o's customers to p.
func (p *Partial) Merge(o Partial) {
	p.init()
	p.AsOf = max(p.AsOf, o.AsOf)
	p.Customers += o.Customers
	p.Prospects += o.Prospects
	p.RepeatCustomers += o.RepeatCustomers
	p.PaidOrders += o.PaidOrders
	p.TotalSpend += o.TotalSpend
	p.PAliveNano += o.PAliveNano
	p.ActiveCount += o.ActiveCount
	p.CLVSum += o.CLVSum
	addCounts(p.Segments, o.Segments)
	addCounts(p.Bands, o.Bands)
	addCounts(p.Tiers, o.Tiers)
	for k, v := range o.Revenue {
		rb := p.Revenue[k]
		rb.Customers += v.Customers
		rb.Spend += v.Spend
		p.Revenue[k] = rb
	}
	addCounts(p.CLV, o.CLV)
	for i, v := range o.ChurnRisk {
		p.ChurnRisk[i] += v
	}
}

// Report is the shop's day from its merged partial and model (the
// definitions are in RULES.md):
//
//   - active_customers = Σ P(alive); active_customers_count = #{P(alive) >= threshold}
//   - churn_rate = 1 − Σ P(alive)/customers: the expected share of the
//     customer base that has churned
//   - repeat_purchase_rate = customers with ≥ 2 purchase days / customers
//   - average_order_value = total net spend / paid orders (minor units)
//   - purchase_frequency = paid orders / customers
//   - historic_clv_total = total net spend; predicted_clv_total = Σ clv
//   - top20_revenue_share: the net spend of the 20% of customers who spent
//     most over the total, from the revenue histogram, interpolating in
//     the bin where the 20% boundary falls as if its customers all spent
//     the bin's mean; the true share is within top20_revenue_share_error
//     ((10^(1/50) − 1) ≈ 4.7% of that bin's share of the revenue).
//
// Ratios with a zero denominator are 0.
func Report(p Partial, m Model) Day {
	p.init()
	d := Day{
		AsOf: m.AsOf, Customers: p.Customers, Prospects: p.Prospects,
		ActiveCustomers: float64(p.PAliveNano) / 1e9, ActiveCustomersCount: p.ActiveCount,
		RepeatCustomers: p.RepeatCustomers, PaidOrders: p.PaidOrders,
		HistoricCLVTotal: p.TotalSpend, PredictedCLVTotal: float64(p.CLVSum),
		Segments: map[Segment]int64{}, Bands: map[Band]int64{}, Tiers: map[Tier]int64{},
		Model: m,
	}
	if d.AsOf == "" {
		d.AsOf = p.AsOf
	}
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	n := float64(p.Customers)
	if n > 0 {
		d.ChurnRate = 1 - d.ActiveCustomers/n
	}
	d.RepeatPurchaseRate = ratio(float64(p.RepeatCustomers), n)
	d.AverageOrderValue = ratio(float64(p.TotalSpend), float64(p.PaidOrders))
	d.PurchaseFrequency = ratio(float64(p.PaidOrders), n)
	d.Top20RevenueShare, d.Top20RevenueShareError = top20(p)
	for _, s := range AllSegments {
		d.Segments[s] = p.Segments[s]
	}
	for _, b := range []Band{BandLow, BandMedium, BandHigh} {
		d.Bands[b] = p.Bands[b]
	}
	for _, t := range []Tier{TierHigh, TierMedium, TierLow} {
		d.Tiers[t] = p.Tiers[t]
	}
	keys := make([]int64, 0, len(p.CLV))
	for k := range p.CLV {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		d.CLVDistribution = append(d.CLVDistribution, Bin{Lo: binLo(k), Hi: binLo(k + 1), Count: p.CLV[k]})
	}
	for i, c := range p.ChurnRisk {
		d.ChurnRiskDistribution = append(d.ChurnRiskDistribution, Bin{Lo: float64(i) / 20, Hi: float64(i+1) / 20, Count: c})
	}
	return d
}

// top20 is the revenue share of the top 20% of customers by spend and its
// error bound (see Report).
func top20(p Partial) (share, bound float64) {
	if p.Customers == 0 || p.TotalSpend <= 0 {
		return 0, 0
	}
	keys := make([]int64, 0, len(p.Revenue))
	for k := range p.Revenue {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.Reverse(keys)
	want := 0.2 * float64(p.Customers)
	var took, sum float64
	for _, k := range keys {
		b := p.Revenue[k]
		c := float64(b.Customers)
		if took+c < want {
			took += c
			sum += float64(b.Spend)
			continue
		}
		f := (want - took) / c
		sum += f * float64(b.Spend)
		bound = (math.Pow(10, 1.0/SpendBinsPerDecade) - 1) * math.Abs(float64(b.Spend)) / float64(p.TotalSpend)
		break
	}
	return sum / float64(p.TotalSpend), bound
}
