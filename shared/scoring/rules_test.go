package scoring

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
)

func TestSegmentGrid(t *testing.T) {
	tests := []struct {
		r, f, m int
		want    Segment
	}{
		{5, 5, 5, SegmentChampions}, {5, 4, 3, SegmentChampions}, // FM = round(3.5) = 4
		{4, 5, 5, SegmentLoyal}, {3, 4, 4, SegmentLoyal},
		{5, 3, 3, SegmentActive}, {4, 2, 3, SegmentActive}, // FM = round(2.5) = 3
		{5, 2, 2, SegmentPromising}, {4, 1, 1, SegmentPromising},
		{5, 1, 1, SegmentNew}, {5, 1, 2, SegmentPromising}, // FM = round(1.5) = 2
		{3, 3, 2, SegmentNeedsAttention}, {3, 2, 2, SegmentNeedsAttention},
		{3, 1, 1, SegmentAlmostLost}, {2, 2, 3, SegmentAlmostLost}, {1, 3, 3, SegmentAlmostLost},
		{2, 4, 4, SegmentAtRisk}, {1, 4, 3, SegmentAtRisk},
		{2, 5, 5, SegmentPreviouslyLoyal}, {1, 5, 4, SegmentPreviouslyLoyal},
		{1, 1, 1, SegmentDormant}, {1, 2, 2, SegmentDormant}, {2, 1, 1, SegmentDormant},
		{0, 0, 0, SegmentProspects}, {6, 1, 1, SegmentProspects},
	}
	for _, tt := range tests {
		if got := SegmentOf(tt.r, tt.f, tt.m); got != tt.want {
			t.Errorf("SegmentOf(%d, %d, %d) = %s; want %s", tt.r, tt.f, tt.m, got, tt.want)
		}
	}
	// Every named segment but prospects appears in the grid.
	seen := map[Segment]bool{}
	for _, row := range segmentGrid {
		for _, s := range row {
			seen[s] = true
		}
	}
	for _, s := range AllSegments {
		if !seen[s] && s != SegmentProspects {
			t.Errorf("segment %s is not in the grid", s)
		}
	}
}

func TestBands(t *testing.T) {
	cfg := DefaultConfig()
	for _, tt := range []struct {
		risk float64
		want Band
	}{{0, BandLow}, {0.2999, BandLow}, {0.3, BandMedium}, {0.6999, BandMedium}, {0.7, BandHigh}, {1, BandHigh}} {
		if got := BandOf(tt.risk, cfg); got != tt.want {
			t.Errorf("BandOf(%v) = %s; want %s", tt.risk, got, tt.want)
		}
	}
}

func TestTierOf(t *testing.T) {
	c := TierCuts{High: 1000, Medium: 200}
	for _, tt := range []struct {
		v    float64
		want Tier
	}{{5000, TierHigh}, {1000, TierHigh}, {999.9, TierMedium}, {200, TierMedium}, {0, TierLow}} {
		if got := c.TierOf(tt.v); got != tt.want {
			t.Errorf("TierOf(%v) = %s; want %s", tt.v, got, tt.want)
		}
	}
}

// TestQuintilesWithTies: mid-rank percentiles put ties in one score.
func TestQuintilesWithTies(t *testing.T) {
	tests := []struct {
		name   string
		h      [][2]int64
		higher bool
		want   []int
	}{
		{"ten distinct", [][2]int64{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}, {7, 1}, {8, 1}, {9, 1}, {10, 1}}, true, []int{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}},
		{"all tied", [][2]int64{{3, 7}}, true, []int{3}},
		// 60% one-time buyers: mid-rank 0.3 → 2; 2 days (30%): 0.75 → 4; 3 days: 0.95 → 5.
		{"one-time buyers", [][2]int64{{1, 6}, {2, 3}, {3, 1}}, true, []int{2, 4, 5}},
		// Recency: fewer days is better; 20 days: (1 worse + 2/2)/5 = 0.4 → 3.
		{"recency", [][2]int64{{0, 1}, {10, 1}, {20, 2}, {400, 1}}, false, []int{5, 4, 3, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quintiles(tt.h, tt.higher); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("quintiles = %v; want %v", got, tt.want)
			}
		})
	}
}

// smallShop is a hand-computable shop as of 2024-03-31.
func smallShop() []Input {
	return []Input{
		{CustomerID: "a", AsOf: "2024-03-31", X: 3, Tx: 80, T: 90, RecencyDays: 10, RepeatSpend: 9000, PaidOrders: 5, TotalSpend: 12000, FirstDay: "2024-01-01", LastDay: "2024-03-21"},
		{CustomerID: "b", AsOf: "2024-03-31", X: 1, Tx: 30, T: 60, RecencyDays: 30, RepeatSpend: 2000, PaidOrders: 2, TotalSpend: 5000, FirstDay: "2024-01-31", LastDay: "2024-03-01"},
		{CustomerID: "c", AsOf: "2024-03-31", X: 0, Tx: 0, T: 85, RecencyDays: 85, PaidOrders: 1, TotalSpend: 2000, FirstDay: "2024-01-06", LastDay: "2024-01-06"},
		{CustomerID: "d", AsOf: "2024-03-31", X: 0, Tx: 0, T: 5, RecencyDays: 5, PaidOrders: 2, TotalSpend: 1000, FirstDay: "2024-03-26", LastDay: "2024-03-26"},
		{CustomerID: "e", AsOf: "2024-03-31", X: 0, Tx: 0, T: 50, RecencyDays: 50, PaidOrders: 1, TotalSpend: 0, FirstDay: "2024-02-10", LastDay: "2024-02-10"},
	}
}

// TestSmallShop checks the empirical model, RFM scores and every KPI on
// a shop small enough to compute by hand.
func TestSmallShop(t *testing.T) {
	ins := smallShop()
	m, err := Fit(statsOf(ins), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	// Young shop: gap = Σt_x/Σx = 110/4 = 27.5 days.
	if m.Name != ModelEmpirical || m.Params["gap_days"] != 27.5 {
		t.Fatalf("model %s %v: %s", m.Name, m.Params, m.Reason)
	}
	// Fixed spend: 11000 repeat spend over 4 repeat days = 2750.
	if m.Spend.Model != "fixed" || m.Spend.Params["gamma"] != 2750 {
		t.Fatalf("spend %+v", m.Spend)
	}
	var p Partial
	scores := map[string]CustomerScore{}
	for _, in := range ins {
		sc := Score(m, in)
		scores[in.CustomerID] = sc
		p.Add(in, sc)
	}
	p.Add(Input{}, Prospect(m, "f"))

	// Customer a: rate (3+1)/(80+27.5) per day, P(alive) = exp(−rate·10).
	a := scores["a"]
	rate := 4 / 107.5
	if math.Abs(a.PAlive-math.Exp(-rate*10)) > 1e-12 || math.Abs(a.ExpectedPurchases30d-a.PAlive*rate*30) > 1e-12 {
		t.Errorf("a: %+v", a)
	}
	// Expected value (2750 + 3·3000)/4; next order within 1/(P·rate) days.
	if math.Abs(a.ExpectedOrderValue-(2750+9000)/4.0) > 1e-9 {
		t.Errorf("a: expected order value %v", a.ExpectedOrderValue)
	}
	if want := addDays("2024-03-31", int(math.Ceil(1/(a.PAlive*rate)))); a.NextOrderDate != want {
		t.Errorf("a: next order %s; want %s", a.NextOrderDate, want)
	}
	// RFM: recency 5,10,30,50,85 → R 5,4,3,2,1 for d,a,b,e,c. Frequency
	// (purchase days) 1,1,1,2,4: mid-ranks 0.3 → 2, 0.7 → 4, 0.9 → 5.
	// Monetary 0,1000,2000,5000,12000 → 1..5. e: R2, FM round(1.5) = 2.
	want := map[string][3]int{"a": {4, 5, 5}, "b": {3, 4, 4}, "c": {1, 2, 3}, "d": {5, 2, 2}, "e": {2, 2, 1}}
	wantSeg := map[string]Segment{"a": SegmentLoyal, "b": SegmentLoyal, "c": SegmentAlmostLost, "d": SegmentPromising, "e": SegmentAlmostLost}
	for id, w := range want {
		sc := scores[id]
		if got := [3]int{sc.Recency, sc.Frequency, sc.Monetary}; got != w || sc.Segment != wantSeg[id] {
			t.Errorf("%s: RFM %v %s; want %v %s", id, got, sc.Segment, w, wantSeg[id])
		}
	}

	d := Report(p, m)
	var sumP float64
	var active int64
	for _, sc := range scores {
		sumP += sc.PAlive
		if sc.PAlive >= 0.5 {
			active++
		}
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"customers", float64(d.Customers), 5},
		{"prospects", float64(d.Prospects), 1},
		{"active_customers", d.ActiveCustomers, sumP},
		{"active_customers_count", float64(d.ActiveCustomersCount), float64(active)},
		{"churn_rate", d.ChurnRate, 1 - sumP/5},
		{"repeat_purchase_rate", d.RepeatPurchaseRate, 2.0 / 5},
		{"average_order_value", d.AverageOrderValue, 20000.0 / 11},
		{"purchase_frequency", d.PurchaseFrequency, 11.0 / 5},
		{"historic_clv_total", float64(d.HistoricCLVTotal), 20000},
		// Top 20% = 1 customer (a): 12000 of 20000.
		{"top20_revenue_share", d.Top20RevenueShare, 0.6},
		{"segments[prospects]", float64(d.Segments[SegmentProspects]), 1},
		{"segments[loyal]", float64(d.Segments[SegmentLoyal]), 2},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-6 {
			t.Errorf("%s = %v; want %v", c.name, c.got, c.want)
		}
	}
	var sumCLV float64
	for _, sc := range scores {
		sumCLV += math.Round(sc.CLV)
	}
	if d.PredictedCLVTotal != sumCLV || d.Bands[BandLow]+d.Bands[BandMedium]+d.Bands[BandHigh] != 5 ||
		d.Tiers[TierHigh]+d.Tiers[TierMedium]+d.Tiers[TierLow] != 5 || len(d.ChurnRiskDistribution) != 20 {
		t.Errorf("day %+v", d)
	}
}

func TestTop20Interpolation(t *testing.T) {
	// 10 customers in one bin: the top 2 are taken as 2/10 of its spend.
	var p Partial
	p.init()
	p.Customers, p.TotalSpend = 10, 10000
	p.Revenue[SpendBin(1000)] = RevenueBin{Customers: 10, Spend: 10000}
	share, bound := top20(p)
	if math.Abs(share-0.2) > 1e-12 || math.Abs(bound-(math.Pow(10, 0.02)-1)) > 1e-12 {
		t.Errorf("top20 = %v ± %v", share, bound)
	}
}

func TestChanged(t *testing.T) {
	base := CustomerScore{CustomerID: "a", AsOf: "2024-03-31", Model: "bgnbd", PAlive: 0.8, ChurnRisk: 0.2, ChurnBand: BandLow, Active: true,
		ExpectedPurchases30d: 0.5, ExpectedPurchases90d: 1.2, ExpectedPurchases365d: 3, ExpectedOrderValue: 4000, CLV: 11000,
		NextOrderDate: "2024-04-20", Recency: 5, Frequency: 4, Monetary: 4, Segment: SegmentChampions, SpendTier: TierHigh}
	tests := []struct {
		name string
		mod  func(*CustomerScore)
		want bool
	}{
		{"same", func(*CustomerScore) {}, false},
		{"only the day", func(s *CustomerScore) { s.AsOf = "2024-04-01" }, false},
		{"p_alive within 0.02", func(s *CustomerScore) { s.PAlive, s.ChurnRisk = 0.819, 0.181 }, false},
		{"p_alive beyond 0.02", func(s *CustomerScore) { s.PAlive, s.ChurnRisk = 0.821, 0.179 }, true},
		{"clv within 5%", func(s *CustomerScore) { s.CLV = 11500 }, false},
		{"clv beyond 5%", func(s *CustomerScore) { s.CLV = 11600 }, true},
		{"tiny expectation", func(s *CustomerScore) { s.ExpectedPurchases30d = 0.5009 }, false},
		{"expectation within 5%", func(s *CustomerScore) { s.ExpectedPurchases365d = 3.14 }, false},
		{"expectation beyond 5%", func(s *CustomerScore) { s.ExpectedPurchases365d = 3.16 }, true},
		{"small money below a minor unit", func(s *CustomerScore) { s.CLV = 0.4; base := s; _ = base }, true},
		{"band", func(s *CustomerScore) { s.ChurnBand = BandMedium }, true},
		{"segment", func(s *CustomerScore) { s.Segment = SegmentLoyal }, true},
		{"tier", func(s *CustomerScore) { s.SpendTier = TierMedium }, true},
		{"next date within 3 days", func(s *CustomerScore) { s.NextOrderDate = "2024-04-17" }, false},
		{"next date beyond 3 days", func(s *CustomerScore) { s.NextOrderDate = "2024-04-24" }, true},
		{"next date gone", func(s *CustomerScore) { s.NextOrderDate = "" }, true},
		{"model", func(s *CustomerScore) { s.Model = "paretonbd" }, true},
		{"r score", func(s *CustomerScore) { s.Recency = 4 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := base
			tt.mod(&n)
			if got := Changed(base, n); got != tt.want {
				t.Errorf("Changed = %v; want %v", got, tt.want)
			}
		})
	}
	// Below a minor unit, whatever the relative move.
	a, b := base, base
	a.CLV, b.CLV = 0.2, 0.9
	if Changed(a, b) {
		t.Error("a move of 0.7 minor units counts as a change")
	}
}

// TestJSONRoundTrips: Stats, Model, Partial and Day survive JSON.
func TestJSONRoundTrips(t *testing.T) {
	ins := bgShop(2000, 21)
	st := statsOf(ins)
	m, err := Fit(st, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var p Partial
	for _, in := range ins {
		p.Add(in, Score(m, in))
	}
	d := Report(p, m)
	roundTrip := func(name string, v, back any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := json.Unmarshal(b, back); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b2, _ := json.Marshal(back)
		if !bytes.Equal(b, b2) {
			t.Errorf("%s changed in a JSON round trip", name)
		}
	}
	var st2 Stats
	roundTrip("Stats", st, &st2)
	if !reflect.DeepEqual(st, st2) {
		t.Error("Stats differ after a JSON round trip")
	}
	var m2 Model
	roundTrip("Model", m, &m2)
	var p2 Partial
	roundTrip("Partial", p, &p2)
	if !reflect.DeepEqual(p, p2) {
		t.Error("Partial differs after a JSON round trip")
	}
	var d2 Day
	roundTrip("Day", d, &d2)
	// The model read back scores alike.
	for _, in := range ins[:200] {
		if a, b := Score(m, in), Score(m2, in); a != b {
			t.Fatalf("score with the model read back %+v; want %+v", b, a)
		}
	}
	// The export's column names.
	b, _ := json.Marshal(Score(m, ins[0]))
	var cols map[string]any
	_ = json.Unmarshal(b, &cols)
	for _, c := range []string{"customer_id", "model", "p_alive", "expected_purchases_30d", "expected_purchases_90d", "expected_purchases_365d", "expected_order_value", "clv", "next_order_date", "segment", "churn_band"} {
		if _, ok := cols[c]; !ok {
			t.Errorf("score JSON lacks %s", c)
		}
	}
	b, _ = json.Marshal(d)
	_ = json.Unmarshal(b, &cols)
	for _, c := range []string{"churn_rate", "repeat_purchase_rate", "model"} {
		if _, ok := cols[c]; !ok {
			t.Errorf("day JSON lacks %s", c)
		}
	}
}

// TestPartialMergeOrderIndependent: shards' partials merge to the whole.
func TestPartialMergeOrderIndependent(t *testing.T) {
	ins := bgShop(2000, 31)
	m, err := Fit(statsOf(ins), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var whole Partial
	shards := make([]Partial, 5)
	for i, in := range ins {
		sc := Score(m, in)
		whole.Add(in, sc)
		shards[(i*7)%5].Add(in, sc)
	}
	var fwd, back Partial
	for i := range shards {
		fwd.Merge(shards[i])
		back.Merge(shards[len(shards)-1-i])
	}
	a, _ := json.Marshal(Report(whole, m))
	b, _ := json.Marshal(Report(fwd, m))
	c, _ := json.Marshal(Report(back, m))
	if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
		t.Error("reports differ with the merge order")
	}
}

// TestTiersShares: on a fitted shop the tiers hold about 20/30/50%.
func TestTiersShares(t *testing.T) {
	ins := bgShop(4000, 41)
	m, err := Fit(statsOf(ins), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	n := map[Tier]float64{}
	for _, sc := range ScoreAll(m, ins, 1) {
		n[sc.SpendTier]++
	}
	total := float64(len(ins))
	t.Logf("%s; tiers %v, thresholds %+v", m.Name, n, m.Tiers)
	if math.Abs(n[TierHigh]/total-0.2) > 0.03 || math.Abs((n[TierHigh]+n[TierMedium])/total-0.5) > 0.05 {
		t.Errorf("tier shares %v of %v", n, total)
	}
}

func TestScoreAllEqualsScore(t *testing.T) {
	ins := bgShop(500, 51)
	m, err := Fit(statsOf(ins), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	all := ScoreAll(m, ins, 0)
	for i, in := range ins {
		if s := Score(m, in); s != all[i] {
			t.Fatalf("ScoreAll %+v; Score %+v", all[i], s)
		}
	}
}

// TestInputOfAsOf: only orders by the end of the as-of day in the shop's
// zone count; later days are not yet purchases.
func TestInputOfAsOf(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, tokyo)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	mk := func(id string, when time.Time, total int64, st order.Status) order.Order {
		return order.Order{ID: id, Customer: order.Customer{ID: "c1"}, CreatedAt: when, Currency: "JPY", Total: total, Status: st}
	}
	orders := []order.Order{
		mk("o1", at("2024-01-01 10:00"), 1000, order.StatusPaid),
		mk("o2", at("2024-01-01 22:00"), 500, order.StatusPaid), // same day
		mk("o3", at("2024-01-15 23:59"), 2000, order.StatusPaid),
		mk("o4", at("2024-01-20 09:00"), 9999, order.StatusPending), // not paid
		mk("o5", at("2024-01-31 00:00"), 3000, order.StatusPaid),    // the day after
	}
	s := customer.Recompute(orders, tokyo)
	tests := []struct {
		asOf string
		ok   bool
		want Input
	}{
		{"2023-12-31", false, Input{}},
		{"2024-01-01", true, Input{CustomerID: "c1", AsOf: "2024-01-01", PaidOrders: 2, TotalSpend: 1500, FirstDay: "2024-01-01", LastDay: "2024-01-01"}},
		{"2024-01-30", true, Input{CustomerID: "c1", AsOf: "2024-01-30", X: 1, Tx: 14, T: 29, RecencyDays: 15, RepeatSpend: 2000, PaidOrders: 3, TotalSpend: 3500, FirstDay: "2024-01-01", LastDay: "2024-01-15"}},
		{"2024-01-31", true, Input{CustomerID: "c1", AsOf: "2024-01-31", X: 2, Tx: 30, T: 30, RecencyDays: 0, RepeatSpend: 5000, PaidOrders: 4, TotalSpend: 6500, FirstDay: "2024-01-01", LastDay: "2024-01-31"}},
		{"bad", false, Input{}},
	}
	for _, tt := range tests {
		got, ok := InputOf(s, tt.asOf, tokyo)
		if ok != tt.ok || got != tt.want {
			t.Errorf("InputOf(%s) = %+v, %v; want %+v, %v", tt.asOf, got, ok, tt.want, tt.ok)
		}
	}
	// In UTC, o5 (00:00 Tokyo on the 31st) is on the 30th; o3 still on the 15th.
	if got, _ := InputOf(s, "2024-01-30", time.UTC); got.X != 2 || got.Tx != 29 || got.RecencyDays != 0 {
		t.Errorf("in UTC: %+v", got)
	}
}
