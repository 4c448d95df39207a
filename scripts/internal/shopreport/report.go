// Package shopreport builds a shop's retention report — its KPIs and their
// history, segments, distributions, acquisition cohorts, repeat-purchase
// curve, model fit and campaign results — as data (Report, written as
// report.json) and as one self-contained HTML page (RenderHTML) whose
// charts are drawn by gonum.org/v1/plot as inline SVG.
//
// It is support code for the demo and the dev server: it links the model
// code and the plotting library, so no Lambda function may import it.
package shopreport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/scoring"
	"github.com/winback/winback/shared/shop"
)

// Store is what Build reads: the shop, its KPI history (newest first), its
// campaigns (newest first) and its customer summaries shard by shard.
// *store.Store and *memstore.Store satisfy it.
type Store interface {
	Shop(ctx context.Context, id string) (shop.Shop, error)
	Days(ctx context.Context, sh shop.Shop, n int) ([]scores.Day, error)
	Campaigns(ctx context.Context, shopID string, limit int) ([]campaign.Campaign, error)
	// SendingStop is the safety valve's stop of the shop's sending
	// (campaign.ErrNotFound: never stopped).
	SendingStop(ctx context.Context, shopID string) (campaign.Stop, error)
	ScanShard(ctx context.Context, sh shop.Shop, n int, onSummary func(customer.Summary) error, onScore func(scores.Score) error) (capacity.Usage, error)
}

// ErrNoReport means the shop has no scored day yet: the nightly job has not
// run for it.
var ErrNoReport = errors.New("no report yet: the nightly job has not scored this shop")

// Limits of what a report reads.
const (
	// HistoryDays is how many scored days the history holds at most.
	HistoryDays = 366
	// MaxCampaigns is how many campaigns (dry runs included) are read.
	MaxCampaigns = 100
	// CurveDays is the last day of the repeat-purchase curve.
	CurveDays = 365
)

// Report is a shop's retention report, the document behind report.json.
// Money is in integer minor units of Shop.Currency (cents for EUR; see
// Shop.CurrencyExponent); rates and shares are fractions (0.25 is 25%).
type Report struct {
	Shop ShopInfo `json:"shop"`
	// GeneratedAt is when the report was built.
	GeneratedAt time.Time `json:"generated_at"`
	// AsOf is the latest scored day (YYYY-MM-DD in the shop's zone): every
	// figure is as of the end of that day.
	AsOf string `json:"as_of"`
	// KPIs are AsOf's KPIs with their change since the history's first day.
	KPIs KPIs `json:"kpis"`
	// History is one entry per scored day, oldest first.
	History []DayKPIs `json:"history"`
	// Segments, Bands and Tiers count AsOf's customers per RFM segment
	// (prospects included), churn-risk band and predicted-spend tier.
	Segments []Count `json:"segments"`
	Bands    []Count `json:"bands"`
	Tiers    []Count `json:"tiers"`
	// CLVDistribution counts customers by predicted 12-month CLV (minor
	// units, log bins of 4.7%, the first [0, 1)); ChurnRiskDistribution by
	// churn risk (20 bins of 0.05).
	CLVDistribution       []Bin `json:"clv_distribution"`
	ChurnRiskDistribution []Bin `json:"churn_risk_distribution"`
	// Cohorts are the monthly acquisition cohorts and who of them bought
	// again in each following month.
	Cohorts Cohorts `json:"cohorts"`
	// RepeatPurchaseCurve is the share of customers who made a second
	// purchase within d days of their first, d = 0..365.
	RepeatPurchaseCurve []RepeatPoint `json:"repeat_purchase_curve"`
	// ModelFit compares the repeat purchases the chosen model predicts
	// with those that happened.
	ModelFit ModelFit `json:"model_fit"`
	// Campaigns are the shop's campaigns, newest first, without dry runs.
	Campaigns []CampaignResult `json:"campaigns"`
	// CampaignTotals adds up the measured campaigns.
	CampaignTotals CampaignTotals `json:"campaign_totals"`
	// SendingStopped is the safety valve's stop of the shop's sending while
	// it is in force (absent otherwise): which campaign's bounce or
	// complaint rate reached SES's review level, the figures, and why.
	SendingStopped *campaign.Stop `json:"sending_stopped,omitempty"`
}

// ShopInfo says whose report it is and how to read its money and days.
type ShopInfo struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Currency string `json:"currency"`
	// CurrencyExponent is the currency's ISO 4217 minor-unit exponent:
	// divide money by 10^exponent for currency units (EUR 2, JPY 0).
	CurrencyExponent int    `json:"currency_exponent"`
	Timezone         string `json:"timezone"`
}

// KPI is one KPI on the latest day, with its change since the first day of
// the history.
type KPI struct {
	Value float64 `json:"value"`
	// First is the value on the history's first day (KPIs.Since).
	First float64 `json:"first"`
	// Change is Value − First.
	Change float64 `json:"change"`
	// RelativeChange is Change / |First|; null when First is 0.
	RelativeChange *float64 `json:"relative_change"`
}

// KPIs are the latest day's KPIs (definitions in shared/scoring/RULES.md).
type KPIs struct {
	// Since is the first day of the history, the day changes are measured
	// from (AsOf itself when only one day is scored).
	Since                string `json:"since"`
	Customers            KPI    `json:"customers"`
	Prospects            KPI    `json:"prospects"`
	ActiveCustomers      KPI    `json:"active_customers"`
	ActiveCustomersCount KPI    `json:"active_customers_count"`
	ChurnRate            KPI    `json:"churn_rate"`
	RepeatPurchaseRate   KPI    `json:"repeat_purchase_rate"`
	RepeatCustomers      KPI    `json:"repeat_customers"`
	PaidOrders           KPI    `json:"paid_orders"`
	// AverageOrderValue, HistoricCLVTotal and PredictedCLVTotal are money,
	// minor units.
	AverageOrderValue KPI `json:"average_order_value"`
	PurchaseFrequency KPI `json:"purchase_frequency"`
	HistoricCLVTotal  KPI `json:"historic_clv_total"`
	PredictedCLVTotal KPI `json:"predicted_clv_total"`
	Top20RevenueShare KPI `json:"top20_revenue_share"`
	// Top20RevenueShareError bounds the error of Top20RevenueShare.Value.
	Top20RevenueShareError float64 `json:"top20_revenue_share_error"`
}

// DayKPIs are one scored day's KPIs.
type DayKPIs struct {
	AsOf                 string  `json:"as_of"`
	Model                string  `json:"model"`
	Customers            int64   `json:"customers"`
	Prospects            int64   `json:"prospects"`
	ActiveCustomers      float64 `json:"active_customers"`
	ActiveCustomersCount int64   `json:"active_customers_count"`
	ChurnRate            float64 `json:"churn_rate"`
	RepeatPurchaseRate   float64 `json:"repeat_purchase_rate"`
	RepeatCustomers      int64   `json:"repeat_customers"`
	PaidOrders           int64   `json:"paid_orders"`
	AverageOrderValue    float64 `json:"average_order_value"`
	PurchaseFrequency    float64 `json:"purchase_frequency"`
	HistoricCLVTotal     int64   `json:"historic_clv_total"`
	PredictedCLVTotal    float64 `json:"predicted_clv_total"`
	Top20RevenueShare    float64 `json:"top20_revenue_share"`
}

// Count is the customers of one segment, band or tier and their share of
// all the customers counted.
type Count struct {
	Name      string  `json:"name"`
	Customers int64   `json:"customers"`
	Share     float64 `json:"share"`
}

// Bin is one bar of a distribution: Count customers with values in [Lo, Hi).
type Bin struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Count int64   `json:"count"`
}

// Cohorts is the retention triangle.
type Cohorts struct {
	// Through is the last day counted (AsOf); LastMonthPartial says whether
	// the last month column ends before its month does.
	Through          string `json:"through"`
	LastMonthPartial bool   `json:"last_month_partial"`
	// Cohorts are oldest first; months without a new customer are left out.
	Cohorts []Cohort `json:"cohorts"`
}

// Cohort is the customers whose first purchase fell in one month.
type Cohort struct {
	// Month is YYYY-MM in the shop's time zone.
	Month     string `json:"month"`
	Customers int64  `json:"customers"`
	// Active[k] counts the cohort's customers with a paid order in the k-th
	// month after Month (0 is Month itself, so Active[0] = Customers), up
	// to AsOf's month; Retention[k] is Active[k] / Customers.
	Active    []int64   `json:"active"`
	Retention []float64 `json:"retention"`
}

// RepeatPoint is one point of the repeat-purchase curve.
type RepeatPoint struct {
	Days int `json:"days"`
	// Customers are those whose first purchase was at least Days days
	// before AsOf (younger ones could not have shown it yet); Repeated of
	// them made a second purchase (on another day) within Days days of
	// their first; Share is Repeated / Customers.
	Customers int64   `json:"customers"`
	Repeated  int64   `json:"repeated"`
	Share     float64 `json:"share"`
}

// ModelFit is the tracking picture of the BTYD papers: repeat purchases per
// period, as they happened and as the chosen model expects them from each
// customer's first purchase day on (E[X(t)], unconditional). The model is
// fitted on the same history, so this is an in-sample check.
type ModelFit struct {
	// Model, Reason and Params are the latest day's model: its name
	// (bgnbd, mbgnbd, paretonbd, empirical), why it was chosen, and its
	// parameters (per day); StdErr and LogLikelihood come from its fit
	// (absent for the empirical model).
	Model         string             `json:"model"`
	Reason        string             `json:"reason"`
	Params        map[string]float64 `json:"params"`
	StdErr        map[string]float64 `json:"std_err,omitempty"`
	LogLikelihood *float64           `json:"log_likelihood,omitempty"`
	// Omitted says why there is no tracking (the empirical model makes no
	// population forecast); "" when Periods are there.
	Omitted string `json:"omitted,omitempty"`
	// Period is "week" (7 days from the shop's first purchase day) or
	// "month" (calendar months, for histories over three years).
	Period string `json:"period,omitempty"`
	// Customers is the number of customers tracked; ActualTotal and
	// PredictedTotal are the repeat purchases over the whole history.
	Customers      int64       `json:"customers"`
	ActualTotal    int64       `json:"actual_total"`
	PredictedTotal float64     `json:"predicted_total"`
	Periods        []FitPeriod `json:"periods"`
}

// FitPeriod is one period of the tracking. A repeat purchase is a purchase
// day of a customer after their first (the models' x), counted on its day.
type FitPeriod struct {
	// Start and End are the period's first and last day (End <= AsOf).
	Start               string  `json:"start"`
	End                 string  `json:"end"`
	Actual              int64   `json:"actual"`
	Predicted           float64 `json:"predicted"`
	CumulativeActual    int64   `json:"cumulative_actual"`
	CumulativePredicted float64 `json:"cumulative_predicted"`
}

// CampaignResult is one campaign and its latest measurement.
type CampaignResult struct {
	CampaignID   string          `json:"campaign_id"`
	AsOf         string          `json:"as_of"`
	Status       campaign.Status `json:"status"`
	CreatedAt    time.Time       `json:"created_at"`
	PausedReason string          `json:"paused_reason,omitempty"`
	// Report is the stored measurement (GET /v1/campaigns/{id}'s report),
	// null until the campaign is measured.
	Report *campaign.Report `json:"report"`
}

// CampaignTotals sums the measured campaigns' reports. The groups' rates
// are those of the pooled counts.
type CampaignTotals struct {
	Campaigns          int                  `json:"campaigns"`
	Measured           int                  `json:"measured"`
	Selected           int                  `json:"selected"`
	Holdout            int                  `json:"holdout"`
	Mailed             int                  `json:"mailed"`
	Delivered          int                  `json:"delivered"`
	Bounced            int                  `json:"bounced"`
	Complained         int                  `json:"complained"`
	Unsubscribed       int                  `json:"unsubscribed"`
	MailedGroup        campaign.GroupResult `json:"mailed_group"`
	HoldoutGroup       campaign.GroupResult `json:"holdout_group"`
	IncrementalRevenue int64                `json:"incremental_revenue"`
	DiscountCost       int64                `json:"discount_cost"`
}

// Build reads shop shopID's scored days, customer summaries and campaigns
// from st and builds its report as of the latest scored day; now is the
// report's generation time. A shop that was never scored is ErrNoReport.
func Build(ctx context.Context, st Store, shopID string, now time.Time) (*Report, error) {
	sh, err := st.Shop(ctx, shopID)
	if err != nil {
		return nil, fmt.Errorf("report of %s: %w", shopID, err)
	}
	raw, err := st.Days(ctx, sh, HistoryDays)
	if err != nil {
		return nil, fmt.Errorf("report of %s: %w", shopID, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("report of %s: %w", shopID, ErrNoReport)
	}
	days := make([]scoring.Day, len(raw))
	for i, d := range raw {
		// The store lists newest first; the report reads oldest first.
		if err := json.Unmarshal(d.Data, &days[len(raw)-1-i]); err != nil {
			return nil, fmt.Errorf("report of %s: decode day %s: %w", shopID, d.AsOf, err)
		}
	}
	latest := days[len(days)-1]
	asOf, err := dayOf(latest.AsOf)
	if err != nil {
		return nil, fmt.Errorf("report of %s: day %q: %w", shopID, latest.AsOf, err)
	}

	acc := newAccumulator(asOf)
	loc := sh.Location()
	shards := sh.Shards
	if shards <= 0 {
		shards = shop.DefaultShards
	}
	for n := range shards {
		_, err := st.ScanShard(ctx, sh, n, func(s customer.Summary) error {
			acc.add(PurchaseDays(s, loc, asOf))
			return nil
		}, nil)
		if err != nil {
			return nil, fmt.Errorf("report of %s: %w", shopID, err)
		}
	}

	cs, err := st.Campaigns(ctx, sh.ID, MaxCampaigns)
	if err != nil {
		return nil, fmt.Errorf("report of %s: %w", shopID, err)
	}

	exp, ok := order.Exponent(sh.Currency)
	if !ok {
		exp = 2
	}
	r := &Report{
		Shop: ShopInfo{ID: sh.ID, Name: sh.Name, Currency: sh.Currency, CurrencyExponent: exp, Timezone: loc.String()},
		// JSON keeps the time's zone; the report is read anywhere.
		GeneratedAt:           now.UTC().Truncate(time.Second),
		AsOf:                  latest.AsOf,
		KPIs:                  kpisOf(days[0], latest),
		Segments:              counts(latest.Segments, scoring.AllSegments),
		Bands:                 counts(latest.Bands, []scoring.Band{scoring.BandLow, scoring.BandMedium, scoring.BandHigh}),
		Tiers:                 counts(latest.Tiers, []scoring.Tier{scoring.TierHigh, scoring.TierMedium, scoring.TierLow}),
		CLVDistribution:       bins(latest.CLVDistribution),
		ChurnRiskDistribution: bins(latest.ChurnRiskDistribution),
		Cohorts:               acc.cohorts(),
		RepeatPurchaseCurve:   acc.repeatCurve(CurveDays),
		ModelFit:              acc.modelFit(latest.Model),
	}
	for _, d := range days {
		r.History = append(r.History, dayKPIs(d))
	}
	r.Campaigns, r.CampaignTotals = campaignsOf(cs)
	switch stop, err := st.SendingStop(ctx, sh.ID); {
	case err == nil && stop.InForce():
		r.SendingStopped = &stop
	case err != nil && !errors.Is(err, campaign.ErrNotFound):
		return nil, fmt.Errorf("report of %s: %w", shopID, err)
	}
	return r, nil
}

// dayKPIs is a scored day's KPIs.
func dayKPIs(d scoring.Day) DayKPIs {
	return DayKPIs{
		AsOf: d.AsOf, Model: d.Model.Name, Customers: d.Customers, Prospects: d.Prospects,
		ActiveCustomers: d.ActiveCustomers, ActiveCustomersCount: d.ActiveCustomersCount,
		ChurnRate: d.ChurnRate, RepeatPurchaseRate: d.RepeatPurchaseRate, RepeatCustomers: d.RepeatCustomers,
		PaidOrders: d.PaidOrders, AverageOrderValue: d.AverageOrderValue, PurchaseFrequency: d.PurchaseFrequency,
		HistoricCLVTotal: d.HistoricCLVTotal, PredictedCLVTotal: d.PredictedCLVTotal, Top20RevenueShare: d.Top20RevenueShare,
	}
}

// kpisOf is last's KPIs with their change since first.
func kpisOf(first, last scoring.Day) KPIs {
	a, b := dayKPIs(first), dayKPIs(last)
	k := func(f func(DayKPIs) float64) KPI { return change(f(a), f(b)) }
	return KPIs{
		Since:                first.AsOf,
		Customers:            k(func(d DayKPIs) float64 { return float64(d.Customers) }),
		Prospects:            k(func(d DayKPIs) float64 { return float64(d.Prospects) }),
		ActiveCustomers:      k(func(d DayKPIs) float64 { return d.ActiveCustomers }),
		ActiveCustomersCount: k(func(d DayKPIs) float64 { return float64(d.ActiveCustomersCount) }),
		ChurnRate:            k(func(d DayKPIs) float64 { return d.ChurnRate }),
		RepeatPurchaseRate:   k(func(d DayKPIs) float64 { return d.RepeatPurchaseRate }),
		RepeatCustomers:      k(func(d DayKPIs) float64 { return float64(d.RepeatCustomers) }),
		PaidOrders:           k(func(d DayKPIs) float64 { return float64(d.PaidOrders) }),
		AverageOrderValue:    k(func(d DayKPIs) float64 { return d.AverageOrderValue }),
		PurchaseFrequency:    k(func(d DayKPIs) float64 { return d.PurchaseFrequency }),
		HistoricCLVTotal:     k(func(d DayKPIs) float64 { return float64(d.HistoricCLVTotal) }),
		PredictedCLVTotal:    k(func(d DayKPIs) float64 { return d.PredictedCLVTotal }),
		Top20RevenueShare:    k(func(d DayKPIs) float64 { return d.Top20RevenueShare }),

		Top20RevenueShareError: last.Top20RevenueShareError,
	}
}

// change is the KPI that went from first to value; the differences are
// rounded to 9 significant digits so that 0.3 − 0.2 reads 0.1.
func change(first, value float64) KPI {
	k := KPI{Value: value, First: first, Change: sig(value-first, 9)}
	if first != 0 {
		rel := sig((value-first)/math.Abs(first), 9)
		k.RelativeChange = &rel
	}
	return k
}

// sig rounds v to n significant digits.
func sig(v float64, n int) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	p := math.Pow10(n - 1 - int(math.Floor(math.Log10(math.Abs(v)))))
	if math.IsInf(p, 0) || p == 0 {
		return v
	}
	return math.Round(v*p) / p
}

// counts lists m's counts in the order of names, then any other names m has
// (sorted), with their shares of the total.
func counts[K ~string](m map[K]int64, names []K) []Count {
	var total int64
	for _, n := range m {
		total += n
	}
	out := []Count{}
	add := func(k K) {
		c := Count{Name: string(k), Customers: m[k]}
		if total > 0 {
			c.Share = float64(c.Customers) / float64(total)
		}
		out = append(out, c)
	}
	for _, k := range names {
		add(k)
	}
	var rest []K
	for k := range m {
		if !slices.Contains(names, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		add(k)
	}
	return out
}

func bins(bs []scoring.Bin) []Bin {
	out := make([]Bin, len(bs))
	for i, b := range bs {
		out[i] = Bin{Lo: b.Lo, Hi: b.Hi, Count: b.Count}
	}
	return out
}

// campaignsOf lists the real campaigns (newest first, as the store lists
// them) and adds up their measurements.
func campaignsOf(cs []campaign.Campaign) ([]CampaignResult, CampaignTotals) {
	out := []CampaignResult{}
	var t CampaignTotals
	for _, c := range cs {
		if c.DryRun {
			continue
		}
		out = append(out, CampaignResult{CampaignID: c.ID, AsOf: c.AsOf, Status: c.Status, CreatedAt: c.CreatedAt,
			PausedReason: c.PausedReason, Report: c.Report})
		t.Campaigns++
		r := c.Report
		if r == nil {
			continue
		}
		t.Measured++
		t.Selected += r.Selected
		t.Holdout += r.Holdout
		t.Mailed += r.Mailed
		t.Delivered += r.Delivered
		t.Bounced += r.Bounced
		t.Complained += r.Complained
		t.Unsubscribed += r.Unsubscribed
		addGroup(&t.MailedGroup, r.MailedGroup)
		addGroup(&t.HoldoutGroup, r.HoldoutGroup)
		t.IncrementalRevenue += r.IncrementalRevenue
		t.DiscountCost += r.DiscountCost
	}
	for _, g := range []*campaign.GroupResult{&t.MailedGroup, &t.HoldoutGroup} {
		if g.Customers > 0 {
			g.ConversionRate = float64(g.Converted) / float64(g.Customers)
			g.RevenuePerCustomer = float64(g.Revenue) / float64(g.Customers)
		}
	}
	return out, t
}

func addGroup(t *campaign.GroupResult, g campaign.GroupResult) {
	t.Customers += g.Customers
	t.Converted += g.Converted
	t.Orders += g.Orders
	t.Revenue += g.Revenue
	t.Redeemed += g.Redeemed
	t.DiscountCost += g.DiscountCost
}
