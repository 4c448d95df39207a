package shopreport

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/clv"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/scoring"
	"github.com/winback/winback/shared/store/memstore"
)

var now = time.Date(2026, 4, 1, 9, 30, 0, 0, time.UTC)

// handShop is a small shop in Berlin whose every figure is worked out by
// hand below. Berlin is UTC+1 until 2026-03-29, UTC+2 after.
//
//	A  2026-01-05, 2026-01-20, 2026-03-02              first Jan 5, T 85, 2nd after 15 days
//	B  2026-01-10                                      first Jan 10, T 80
//	C  2026-02-01 00:30 (Jan 31 23:30 UTC) and 12:00,  first Feb 1, T 58, same day: one purchase
//	   a refunded order on 2026-02-15 (not counted)
//	D  2026-02-10, 2026-02-13                          first Feb 10, T 49, 2nd after 3 days
//	E  2026-03-30; a pending order on 2026-03-31       first Mar 30, T 1
//	F  2026-03-31, and 2026-04-02 (after the as-of day) first Mar 31, T 0
//	G  only a cancelled order                          a prospect
func handShop(t *testing.T) (*memstore.Store, string) {
	t.Helper()
	st, sh, _ := newShop(t, "EUR", "Europe/Berlin")
	berlin := sh.Location()
	at := func(day string, hour int) time.Time {
		d, err := time.ParseInLocation(time.DateOnly, day, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return d.Add(time.Duration(hour) * time.Hour)
	}
	refunded := paid("C", "c3", at("2026-02-15", 10), 900)
	refunded.Status, refunded.Refunded = order.StatusRefunded, 900
	pending := paid("E", "e2", at("2026-03-31", 10), 900)
	pending.Status = order.StatusPending
	cancelled := paid("G", "g1", at("2026-02-01", 10), 900)
	cancelled.Status = order.StatusCancelled
	putOrders(t, st, sh, []order.Order{
		paid("A", "a1", at("2026-01-05", 10), 1000), paid("A", "a2", at("2026-01-20", 10), 2000), paid("A", "a3", at("2026-03-02", 10), 3000),
		paid("B", "b1", at("2026-01-10", 10), 1500),
		paid("C", "c1", time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC), 500), paid("C", "c2", at("2026-02-01", 12), 700), refunded,
		paid("D", "d1", at("2026-02-10", 10), 1200), paid("D", "d2", at("2026-02-13", 10), 800),
		paid("E", "e1", at("2026-03-30", 10), 2500), pending,
		paid("F", "f1", at("2026-03-31", 12), 4000), paid("F", "f2", at("2026-04-02", 12), 4000),
		cancelled,
	})
	model := scoring.Model{AsOf: "2026-03-31", Name: scoring.ModelBGNBD, Reason: "highest log-likelihood",
		Params: map[string]float64{"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4},
		Candidates: []clv.FitResult{
			{Model: "bgnbd", Params: map[string]float64{"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4},
				StdErr: map[string]float64{"r": 0.01, "alpha": 0.3, "a": 0.1, "b": 0.4}, LogLik: -123.45, Converged: true},
			{Model: "paretonbd", LogLik: -130},
		}}
	first := scoring.Day{AsOf: "2026-03-01", Customers: 4, ChurnRate: 0.2, RepeatPurchaseRate: 0.25, AverageOrderValue: 1000,
		HistoricCLVTotal: 5000, PredictedCLVTotal: 100, Model: model}
	last := scoring.Day{AsOf: "2026-03-31", Customers: 6, Prospects: 1, ChurnRate: 0.3, RepeatPurchaseRate: 2.0 / 6,
		AverageOrderValue: 1850, HistoricCLVTotal: 18700, PredictedCLVTotal: 4321.4, Top20RevenueShare: 0.4, Top20RevenueShareError: 0.02,
		Segments:              map[scoring.Segment]int64{scoring.SegmentChampions: 2, scoring.SegmentNew: 2, scoring.SegmentDormant: 2, scoring.SegmentProspects: 1},
		Bands:                 map[scoring.Band]int64{scoring.BandLow: 3, scoring.BandHigh: 3},
		Tiers:                 map[scoring.Tier]int64{scoring.TierHigh: 1, scoring.TierMedium: 2, scoring.TierLow: 3},
		CLVDistribution:       []scoring.Bin{{Lo: 0, Hi: 1, Count: 1}, {Lo: 1000, Hi: 1047.1, Count: 3}, {Lo: 50000, Hi: 52350, Count: 2}},
		ChurnRiskDistribution: []scoring.Bin{{Lo: 0, Hi: 0.05, Count: 3}, {Lo: 0.95, Hi: 1, Count: 3}},
		Model:                 model}
	putDay(t, st, sh, last) // stored out of order on purpose
	putDay(t, st, sh, first)
	return st, sh.ID
}

func TestBuildHandChecked(t *testing.T) {
	s, id := handShop(t)
	r, err := Build(context.Background(), s, id, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.AsOf != "2026-03-31" || r.Shop.Name != "Tea & Co." || r.Shop.Currency != "EUR" || r.Shop.CurrencyExponent != 2 ||
		r.Shop.Timezone != "Europe/Berlin" || !r.GeneratedAt.Equal(now) {
		t.Fatalf("header: %+v as of %s at %s", r.Shop, r.AsOf, r.GeneratedAt)
	}

	// KPIs and their change since the first day.
	if got := r.History; len(got) != 2 || got[0].AsOf != "2026-03-01" || got[1].AsOf != "2026-03-31" || got[1].Model != "bgnbd" {
		t.Fatalf("history %+v", got)
	}
	k := r.KPIs
	if k.Since != "2026-03-01" || k.Customers.Value != 6 || k.Customers.First != 4 || k.Customers.Change != 2 || *k.Customers.RelativeChange != 0.5 {
		t.Fatalf("customers %+v since %s", k.Customers, k.Since)
	}
	if k.ChurnRate.Change != 0.1 || *k.ChurnRate.RelativeChange != 0.5 {
		t.Fatalf("churn rate %+v (want change 0.1, +50%%)", k.ChurnRate)
	}
	if k.Prospects.RelativeChange != nil || k.Prospects.Change != 1 {
		t.Fatalf("prospects %+v: relative change from 0 must be null", k.Prospects)
	}
	if k.Top20RevenueShareError != 0.02 || k.PredictedCLVTotal.Value != 4321.4 {
		t.Fatalf("kpis %+v", k)
	}
	if r.Segments[0].Name != "champions" || r.Segments[0].Customers != 2 || !near(r.Segments[0].Share, 2.0/7, 1e-12) ||
		len(r.Segments) != len(scoring.AllSegments) || r.Segments[len(r.Segments)-1].Name != "prospects" {
		t.Fatalf("segments %+v", r.Segments)
	}
	if names(r.Bands) != "low medium high" || names(r.Tiers) != "high medium low" || r.Bands[2].Customers != 3 {
		t.Fatalf("bands %+v tiers %+v", r.Bands, r.Tiers)
	}
	if len(r.CLVDistribution) != 3 || r.CLVDistribution[2].Count != 2 || len(r.ChurnRiskDistribution) != 2 {
		t.Fatalf("distributions %+v %+v", r.CLVDistribution, r.ChurnRiskDistribution)
	}

	// Cohorts: January (A, B), February (C, D), March (E, F).
	want := Cohorts{Through: "2026-03-31", LastMonthPartial: false, Cohorts: []Cohort{
		{Month: "2026-01", Customers: 2, Active: []int64{2, 0, 1}, Retention: []float64{1, 0, 0.5}},
		{Month: "2026-02", Customers: 2, Active: []int64{2, 0}, Retention: []float64{1, 0}},
		{Month: "2026-03", Customers: 2, Active: []int64{2}, Retention: []float64{1}},
	}}
	if g, w := js(t, r.Cohorts), js(t, want); g != w {
		t.Fatalf("cohorts\n got %s\nwant %s", g, w)
	}

	// Repeat-purchase curve: ages 85, 80, 58, 49, 1, 0; second purchases
	// after 15 (A) and 3 (D) days.
	curve := r.RepeatPurchaseCurve
	if len(curve) != 86 || curve[85].Days != 85 {
		t.Fatalf("curve has %d points, want 0..85", len(curve))
	}
	for _, c := range []RepeatPoint{
		{0, 6, 0, 0}, {1, 5, 0, 0}, {2, 4, 0, 0}, {3, 4, 1, 0.25}, {14, 4, 1, 0.25}, {15, 4, 2, 0.5},
		{49, 4, 2, 0.5}, {50, 3, 1, 1.0 / 3}, {58, 3, 1, 1.0 / 3}, {59, 2, 1, 0.5}, {81, 1, 1, 1}, {85, 1, 1, 1},
	} {
		if curve[c.Days] != c {
			t.Errorf("curve at %d days: %+v, want %+v", c.Days, curve[c.Days], c)
		}
	}

	// Model fit: weeks from Jan 5; repeat purchases on Jan 20 (week 2),
	// Feb 13 (week 5), Mar 2 (week 8); the last week is Mar 30–31.
	f := r.ModelFit
	if f.Model != "bgnbd" || f.Period != "week" || f.Omitted != "" || f.LogLikelihood == nil || *f.LogLikelihood != -123.45 ||
		f.StdErr["alpha"] != 0.3 || f.Params["b"] != 2.4 || f.Customers != 6 {
		t.Fatalf("model fit header %+v", f)
	}
	if len(f.Periods) != 13 || f.Periods[0].Start != "2026-01-05" || f.Periods[0].End != "2026-01-11" ||
		f.Periods[12].Start != "2026-03-30" || f.Periods[12].End != "2026-03-31" {
		t.Fatalf("periods %+v", f.Periods)
	}
	m := clv.BGNBD{R: 0.25, Alpha: 4.4, A: 0.8, B: 2.4}
	firsts := []string{"2026-01-05", "2026-01-10", "2026-02-01", "2026-02-10", "2026-03-30", "2026-03-31"}
	var prev float64
	for i, p := range f.Periods {
		wantActual := int64(0)
		if i == 2 || i == 5 || i == 8 {
			wantActual = 1
		}
		end := mustDay(t, p.End)
		var cum float64
		for _, fd := range firsts {
			if d := mustDay(t, fd); d <= end {
				cum += m.Expected(float64(end - d))
			}
		}
		if p.Actual != wantActual || !near(p.CumulativePredicted, cum, 1e-9) || !near(p.Predicted, cum-prev, 1e-9) {
			t.Errorf("period %d %+v: want actual %d, cumulative predicted %g", i, p, wantActual, cum)
		}
		prev = cum
	}
	if f.ActualTotal != 3 || f.Periods[12].CumulativeActual != 3 || !near(f.PredictedTotal, prev, 1e-9) {
		t.Fatalf("totals %d %g", f.ActualTotal, f.PredictedTotal)
	}
	if len(r.Campaigns) != 0 || r.CampaignTotals.Campaigns != 0 {
		t.Fatalf("campaigns %+v", r.Campaigns)
	}
}

func TestBuildWithoutADay(t *testing.T) {
	st, sh, _ := newShop(t, "EUR", "UTC")
	if _, err := Build(context.Background(), st, sh.ID, now); !errors.Is(err, ErrNoReport) {
		t.Fatalf("err %v, want ErrNoReport", err)
	}
	if _, err := Build(context.Background(), st, "shop_nope", now); err == nil {
		t.Fatal("an unknown shop built a report")
	}
}

// TestAfterNights scores a simulated BG/NBD shop on two nights as the
// nightly job does, adds campaigns, and checks the report against the
// orders and the model the night chose; then renders it.
func TestAfterNights(t *testing.T) {
	st, sh, _ := newShop(t, "EUR", "Europe/Berlin")
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	end := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	orders := simulatedOrders(7, 2500, 300, start, end)
	putOrders(t, st, sh, orders)
	night(t, st, sh, "2026-02-15")
	day := night(t, st, sh, "2026-02-28")
	if day.Model.Name == scoring.ModelEmpirical {
		t.Fatalf("the simulated shop got the empirical model: %s", day.Model.Reason)
	}

	mailed := campaign.GroupResult{Customers: 90, Converted: 12, ConversionRate: 12.0 / 90, Orders: 13, Revenue: 65000, Redeemed: 8, DiscountCost: 5200}
	holdout := campaign.GroupResult{Customers: 10, Converted: 1, ConversionRate: 0.1, Orders: 1, Revenue: 4000}
	rep := campaign.Report{CampaignID: "2026-02-15", AsOf: "2026-02-15", MeasuredAt: now, Currency: "EUR", AttributionWindowDays: 14,
		Selected: 100, Holdout: 10, Mailed: 88, Delivered: 86, Bounced: 2, Unsubscribed: 1,
		MailedGroup: mailed, HoldoutGroup: holdout, Uplift: campaign.Interval{Estimate: 0.0333, Lower: -0.12, Upper: 0.11, Defined: true},
		IncrementalRevenue: 29000, DiscountCost: 5200}
	beginCampaign(t, st, sh, "2026-02-15", false, &rep)
	dry := rep
	dry.CampaignID = "2026-02-28-dry"
	beginCampaign(t, st, sh, "2026-02-28-dry", true, &dry)
	beginCampaign(t, st, sh, "2026-02-28", false, nil)

	r, err := Build(context.Background(), st, sh.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.AsOf != "2026-02-28" || len(r.History) != 2 || r.KPIs.Since != "2026-02-15" {
		t.Fatalf("as of %s, history %d, since %s", r.AsOf, len(r.History), r.KPIs.Since)
	}

	// The model fit counts exactly the customers' repeat purchase days
	// as the scoring does (Σ x), and the chosen model's parameters.
	var customers, repeats int64
	var firstDays []int64
	loc := sh.Location()
	for n := range sh.Shards {
		if err := st.Customers(context.Background(), sh, n, func(s customer.Summary) error {
			if in, ok := scoring.InputOf(s, "2026-02-28", loc); ok {
				customers++
				repeats += int64(in.X)
				firstDays = append(firstDays, mustDay(t, in.FirstDay))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	f := r.ModelFit
	if f.Model != day.Model.Name || f.Params["r"] != day.Model.Params["r"] || f.LogLikelihood == nil || f.Omitted != "" {
		t.Fatalf("model fit %s %v, the night chose %s %v", f.Model, f.Params, day.Model.Name, day.Model.Params)
	}
	if f.Customers != customers || f.Customers != day.Customers || f.ActualTotal != repeats {
		t.Fatalf("tracked %d customers and %d repeat purchases, want %d (day: %d) and %d", f.Customers, f.ActualTotal, customers, day.Customers, repeats)
	}
	var sum int64
	for _, p := range f.Periods {
		sum += p.Actual
	}
	if sum != repeats || f.Periods[len(f.Periods)-1].End != "2026-02-28" || f.Period != "week" {
		t.Fatalf("periods add up to %d, want %d; last %+v", sum, repeats, f.Periods[len(f.Periods)-1])
	}
	// The same forecast computed customer by customer with shared/clv.
	tm, _ := transactionModel(day.Model)
	asOf := mustDay(t, "2026-02-28")
	var want float64
	for _, d := range firstDays {
		want += tm.Expected(float64(asOf - d))
	}
	if !near(f.PredictedTotal, want, 1e-6*want) {
		t.Fatalf("predicted %g, want %g", f.PredictedTotal, want)
	}
	// Fitted on this history, the model tracks it.
	if rel := (f.PredictedTotal - float64(repeats)) / float64(repeats); rel < -0.15 || rel > 0.15 {
		t.Errorf("predicted %0.f repeat purchases, actual %d (%.1f%%)", f.PredictedTotal, repeats, 100*rel)
	}

	// Cohorts and the curve cover every customer.
	var inCohorts int64
	for _, c := range r.Cohorts.Cohorts {
		inCohorts += c.Customers
		if c.Active[0] != c.Customers || c.Retention[0] != 1 {
			t.Fatalf("cohort %s: month 0 %d of %d", c.Month, c.Active[0], c.Customers)
		}
	}
	if inCohorts != customers || r.RepeatPurchaseCurve[0].Customers != customers || r.Cohorts.LastMonthPartial {
		t.Fatalf("cohorts hold %d, the curve %d, want %d", inCohorts, r.RepeatPurchaseCurve[0].Customers, customers)
	}
	if len(r.RepeatPurchaseCurve) != CurveDays+1 {
		t.Fatalf("curve %d points", len(r.RepeatPurchaseCurve))
	}
	for i := 1; i < len(r.RepeatPurchaseCurve); i++ {
		if p := r.RepeatPurchaseCurve[i]; p.Customers > r.RepeatPurchaseCurve[i-1].Customers || p.Share < 0 || p.Share > 1 {
			t.Fatalf("curve at %d: %+v", i, p)
		}
	}

	// Campaigns: newest first, no dry run, the totals of the measured.
	if len(r.Campaigns) != 2 || r.Campaigns[0].CampaignID != "2026-02-28" || r.Campaigns[0].Report != nil ||
		r.Campaigns[1].CampaignID != "2026-02-15" || r.Campaigns[1].Report == nil || r.Campaigns[1].Report.Uplift != rep.Uplift {
		t.Fatalf("campaigns %s", js(t, r.Campaigns))
	}
	tot := r.CampaignTotals
	if tot.Campaigns != 2 || tot.Measured != 1 || tot.Selected != 100 || tot.Mailed != 88 || tot.MailedGroup.Revenue != 65000 ||
		!near(tot.MailedGroup.ConversionRate, 12.0/90, 1e-12) || tot.HoldoutGroup.RevenuePerCustomer != 400 || tot.IncrementalRevenue != 29000 {
		t.Fatalf("totals %+v", tot)
	}

	page, err := RenderHTML(r)
	if err != nil {
		t.Fatal(err)
	}
	got := checkPage(t, page)
	wantCharts := []string{"kpi_history", "segments", "churn_risk_distribution", "clv_distribution", "cohort_retention",
		"repeat_purchase_curve", "model_fit_cumulative", "model_fit_incremental", "campaign_conversion", "campaign_uplift", "campaign_money"}
	if !slices.Equal(got, wantCharts) {
		t.Fatalf("charts %v, want %v", got, wantCharts)
	}
	for _, s := range []string{"€650.00", "13.3% (12 of 90)", "+3.3 pp [−12.0, +11.0]", "not measured yet", "All 1 measured", "Tea & Co. · retention report"} {
		if !strings.Contains(html.UnescapeString(string(page)), s) {
			t.Errorf("the page does not show %q", s)
		}
	}
	if os.Getenv("SHOPREPORT_OUT") != "" { // look at it: SHOPREPORT_OUT=/tmp/r go test -run TestAfterNights
		if err := WriteFiles(os.Getenv("SHOPREPORT_OUT"), r); err != nil {
			t.Fatal(err)
		}
	}
}

// TestYoungShop renders a shop with one scored day and the empirical
// model: no tracking (with the reason), no campaigns, every chart drawn
// still has data.
func TestYoungShop(t *testing.T) {
	st, sh, _ := newShop(t, "JPY", "Asia/Tokyo")
	at := time.Date(2026, 3, 10, 3, 0, 0, 0, time.UTC)
	putOrders(t, st, sh, []order.Order{
		paid("a", "1", at, 1500), paid("a", "2", at.AddDate(0, 0, 4), 2500), paid("b", "3", at.AddDate(0, 0, 2), 999),
	})
	day := night(t, st, sh, "2026-03-20")
	if day.Model.Name != scoring.ModelEmpirical {
		t.Fatalf("model %s", day.Model.Name)
	}
	r, err := Build(context.Background(), st, sh.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.ModelFit.Omitted == "" || len(r.ModelFit.Periods) != 0 || r.ModelFit.Model != "empirical" || r.ModelFit.Reason == "" {
		t.Fatalf("model fit %+v", r.ModelFit)
	}
	if r.KPIs.Customers.Change != 0 || *r.KPIs.Customers.RelativeChange != 0 || r.Shop.CurrencyExponent != 0 {
		t.Fatalf("one day: %+v", r.KPIs.Customers)
	}
	page, err := RenderHTML(r)
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("SHOPREPORT_OUT"); dir != "" {
		if err := WriteFiles(filepath.Join(dir, "young"), r); err != nil {
			t.Fatal(err)
		}
	}
	got := checkPage(t, page)
	// One cohort, in its first month: no retention curve yet.
	if want := []string{"kpi_history", "segments", "churn_risk_distribution", "clv_distribution", "repeat_purchase_curve"}; !slices.Equal(got, want) {
		t.Fatalf("charts %v, want %v", got, want)
	}
	for _, s := range []string{"No model-fit chart: the empirical model", "No campaigns yet", "first scored day", "¥4,999"} {
		if !strings.Contains(html.UnescapeString(string(page)), s) {
			t.Errorf("the page does not show %q", s)
		}
	}
}

func TestWriteFiles(t *testing.T) {
	s, id := handShop(t)
	r, err := Build(context.Background(), s, id, now)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out", "demo")
	if err := WriteFiles(dir, r); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if js(t, back) != js(t, r) || !strings.HasPrefix(string(b), "{\n  \"shop\": {") {
		t.Fatalf("report.json does not round-trip:\n%.300s", b)
	}
	// The contract's field names.
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if got := strings.Join(keys, " "); got != "as_of bands campaign_totals campaigns churn_risk_distribution clv_distribution cohorts generated_at history kpis model_fit repeat_purchase_curve segments shop tiers" {
		t.Fatalf("top-level fields: %s", got)
	}
	h, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, h)
}

func TestFormatMoney(t *testing.T) {
	for _, c := range []struct {
		minor    float64
		currency string
		want     string
	}{
		{123456, "EUR", "€1,234.56"},
		{0, "EUR", "€0.00"},
		{5, "USD", "$0.05"},
		{-5, "USD", "−$0.05"},
		{-123456789, "GBP", "−£1,234,567.89"},
		{1500, "JPY", "¥1,500"},
		{1234567, "KWD", "KWD\u00a01,234.567"},
		{100000000, "CHF", "CHF\u00a01,000,000.00"},
		{12345, "CLF", "CLF\u00a01.2345"},
		{4321.4, "EUR", "€43.21"},
		{4321.5, "EUR", "€43.22"},
		{999999.5, "EUR", "€10,000.00"},
		{1234, "XYZ", "XYZ\u00a012.34"},
		{99, "SEK", "SEK\u00a00.99"},
		{250000, "INR", "₹2,500.00"},
	} {
		if got := FormatMoney(c.minor, c.currency); got != c.want {
			t.Errorf("FormatMoney(%v, %s) = %q, want %q", c.minor, c.currency, got, c.want)
		}
	}
}

func TestFormatNumbers(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{FormatInt(0), "0"}, {FormatInt(999), "999"}, {FormatInt(1000), "1,000"}, {FormatInt(1234567), "1,234,567"},
		{FormatInt(-1234567), "−1,234,567"},
		{FormatNumber(1234.5678, 2), "1,234.57"}, {FormatNumber(-0.001, 2), "0.00"}, {FormatNumber(-1234.5, 1), "−1,234.5"},
		{FormatPercent(0.1234), "12.3%"}, {FormatPercent(1), "100.0%"}, {FormatPercent(0), "0.0%"},
		{FormatPercent(0.0005), "0.05%"}, {FormatPercent(-0.25), "−25.0%"},
		{FormatMoneyWhole(54266925, "EUR"), "€542,669"}, {FormatMoneyWhole(-150, "EUR"), "−€2"}, {FormatMoneyWhole(1234567, "JPY"), "¥1,234,567"},
		{FormatMoneyWhole(49, "USD"), "$0"},
		{FormatMoneyShort(1200, "EUR"), "€1.2k"}, {FormatMoneyShort(15, "USD"), "$15"}, {FormatMoneyShort(0.5, "EUR"), "€0.5"},
		{FormatMoneyShort(3e6, "CHF"), "CHF\u00a03M"}, {FormatMoneyShort(-2000, "GBP"), "−£2k"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// checkPage checks that page is one well-formed, self-contained HTML
// document whose every chart is an inline, responsive SVG with data, and
// returns the charts' names in page order.
func checkPage(t *testing.T, page []byte) []string {
	t.Helper()
	s := string(page)
	if !strings.HasPrefix(s, "<!DOCTYPE html>") || !strings.Contains(s, `<meta name="viewport" content="width=device-width, initial-scale=1">`) {
		t.Fatal("not an HTML5 page with a viewport")
	}
	checkBalanced(t, s)

	// Nothing is fetched: no external URL, no src, no stylesheet link, no
	// @import or url(), no script.
	for _, bad := range []string{"http://", "https://", "src=", "@import", "url(", "<script", `rel="stylesheet"`, "<?xml", "<!--"} {
		if i := strings.Index(s, bad); i >= 0 {
			t.Fatalf("the page has %q: …%s…", bad, s[max(0, i-80):min(len(s), i+80)])
		}
	}
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(s, -1) {
		if !strings.HasPrefix(m[1], "data:") && !strings.HasPrefix(m[1], "#") {
			t.Fatalf("the page links %s", m[1])
		}
	}

	figure := regexp.MustCompile(`(?s)<figure class="chart" data-chart="([a-z_]+)" data-points="(\d+)">\s*(<svg viewBox="0 0 400 260" width="100%" role="img" aria-label="[^"]+">.*?</svg>)\s*<figcaption><strong>[^<]+</strong><span class="how">How to read this: [^<]+</span></figcaption>\s*</figure>`)
	var names []string
	for _, m := range figure.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(m[2])
		if n <= 0 {
			t.Errorf("chart %s has %d data points", m[1], n)
		}
		if !strings.Contains(m[3], "<path") || !strings.Contains(m[3], "<text") {
			t.Errorf("chart %s draws nothing", m[1])
		}
		names = append(names, m[1])
	}
	if all := strings.Count(s, `<figure class="chart"`); all != len(names) || all != strings.Count(s, "<svg") {
		t.Fatalf("%d charts, %d well-formed, %d SVGs", all, len(names), strings.Count(s, "<svg"))
	}
	return names
}

// voidElements have no end tag in HTML.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// checkBalanced checks that every element of an HTML page is closed, in
// order (a light well-formedness check: no optional end tags are used).
func checkBalanced(t *testing.T, s string) {
	t.Helper()
	tag := regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>`)
	var stack []string
	body := s[strings.Index(s, ">")+1:] // after the doctype
	pos := 0
	for _, m := range tag.FindAllStringSubmatchIndex(body, -1) {
		text := body[pos:m[0]]
		pos = m[1]
		if strings.ContainsAny(text, "<>") && (len(stack) == 0 || stack[len(stack)-1] != "style") {
			t.Fatalf("a stray < or > in the text %q", text)
		}
		closing, name, self := body[m[2]:m[3]] == "/", strings.ToLower(body[m[4]:m[5]]), body[m[8]:m[9]] == "/"
		if len(stack) > 0 && stack[len(stack)-1] == "style" && !(closing && name == "style") {
			continue
		}
		switch {
		case closing:
			if len(stack) == 0 || stack[len(stack)-1] != name {
				t.Fatalf("</%s> closes %v", name, stack)
			}
			stack = stack[:len(stack)-1]
		case self || voidElements[name]:
		default:
			stack = append(stack, name)
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements %v", stack)
	}
}

func names(cs []Count) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return strings.Join(out, " ")
}

func js(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustDay(t *testing.T, s string) int64 {
	t.Helper()
	d, err := dayOf(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestSendingStopped: while the safety valve holds the shop's sending,
// report.json carries the stop and the page says why at the campaigns; a
// lifted stop shows in neither.
func TestSendingStopped(t *testing.T) {
	ctx := context.Background()
	st, id := handShop(t)
	stop := campaign.Stop{CampaignID: "2025-03-01", At: now.Add(-time.Hour), Reason: "6 of 100 e-mails bounced for good (6.0%)",
		Reputation: campaign.Reputation{Mailed: 100, Bounced: 6}}
	if _, _, err := st.StopSending(ctx, id, stop); err != nil {
		t.Fatal(err)
	}
	r, err := Build(ctx, st, id, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.SendingStopped == nil || r.SendingStopped.CampaignID != stop.CampaignID || r.SendingStopped.Reputation != stop.Reputation {
		t.Fatalf("sending_stopped = %+v, want %+v", r.SendingStopped, stop)
	}
	h, err := RenderHTML(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Sending is stopped", "6 of 100 e-mails bounced for good (6.0%)", "2025-03-01", "winback shop resume-sending"} {
		if !strings.Contains(string(h), want) {
			t.Errorf("the page does not say %q", want)
		}
	}
	checkPage(t, h)
	if _, err := st.LiftSendingStop(ctx, id, now); err != nil {
		t.Fatal(err)
	}
	r, err = Build(ctx, st, id, now)
	if err != nil {
		t.Fatal(err)
	}
	h, _ = RenderHTML(r)
	if r.SendingStopped != nil || strings.Contains(string(h), "Sending is stopped") {
		t.Errorf("a lifted stop still shows: %+v", r.SendingStopped)
	}
}
