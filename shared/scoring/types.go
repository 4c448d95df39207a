// Package scoring is the pure domain of the nightly scoring job: from a
// shop's customer summaries as of a day to each customer's scores
// (P(alive), churn risk and band, expected purchases, expected order
// value, CLV, next order date, RFM scores and segment, spend tier) and the
// shop's daily KPIs. It takes values and returns values; the nightly
// functions read summaries, hand values between the stages and store the
// results.
//
// The flow at any scale is map → fit → score → report:
//
//	per shard:  in, ok := InputOf(summary, asOf, loc); stats.Add(in)
//	per shop:   all.Merge(shard stats...); m, err := Fit(all, cfg)
//	per shard:  sc := Score(m, in); partial.Add(in, sc); write sc if Changed(stored, sc)
//	per shop:   total.Merge(shard partials...); day := Report(total, m)
//
// Stats and Partial are compact, JSON-serialisable and mergeable in any
// order with bit-identical results, so each stage can be retried and its
// outputs combined however the shards arrive. The rules are written down
// in RULES.md.
package scoring

import (
	"errors"

	"github.com/winback/winback/shared/clv"
)

// Band is a churn-risk band: low, medium or high (see Config.LowRiskBelow
// and Config.HighRiskFrom).
type Band string

// The churn-risk bands.
const (
	BandLow    Band = "low"
	BandMedium Band = "medium"
	BandHigh   Band = "high"
)

// Segment is one of Shopify's CustomerRfmGroup groups, in snake_case.
type Segment string

// The 11 RFM segments (the grid is in RULES.md and Segments).
const (
	SegmentChampions       Segment = "champions"
	SegmentLoyal           Segment = "loyal"
	SegmentActive          Segment = "active"
	SegmentPromising       Segment = "promising"
	SegmentNew             Segment = "new"
	SegmentNeedsAttention  Segment = "needs_attention"
	SegmentAlmostLost      Segment = "almost_lost"
	SegmentAtRisk          Segment = "at_risk"
	SegmentPreviouslyLoyal Segment = "previously_loyal"
	SegmentDormant         Segment = "dormant"
	SegmentProspects       Segment = "prospects"
)

// AllSegments lists the segments in the order reports show them.
var AllSegments = []Segment{
	SegmentChampions, SegmentLoyal, SegmentActive, SegmentPromising, SegmentNew,
	SegmentNeedsAttention, SegmentAlmostLost, SegmentAtRisk, SegmentPreviouslyLoyal,
	SegmentDormant, SegmentProspects,
}

// Tier is a predicted-spend tier: high, medium or low, by predicted CLV.
type Tier string

// The spend tiers.
const (
	TierHigh   Tier = "high"
	TierMedium Tier = "medium"
	TierLow    Tier = "low"
)

// The model names Model.Name and CustomerScore.Model take.
const (
	ModelBGNBD     = "bgnbd"
	ModelMBGNBD    = "mbgnbd"
	ModelParetoNBD = "paretonbd"
	ModelEmpirical = "empirical"
)

// Errors of Fit.
var (
	// ErrNoCustomers: the statistics hold no customer.
	ErrNoCustomers = errors.New("no customers to fit")
	// ErrMixedAsOf: statistics of different as-of days were merged.
	ErrMixedAsOf = errors.New("statistics of different as-of days were merged")
	// ErrInvalidConfig: a Config field is out of range.
	ErrInvalidConfig = errors.New("invalid scoring config")
)

// Input is one customer as of the scoring day, in whole days of the shop's
// time zone (see InputOf). X, Tx and T are the BTYD inputs exactly as
// clv.Summarize computes them with Unit Day.
type Input struct {
	CustomerID string `json:"customer_id"`
	// AsOf is the scoring day, YYYY-MM-DD in the shop's time zone.
	AsOf string `json:"as_of"`
	// X is the number of repeat purchase days: distinct purchase days
	// after the first.
	X int `json:"x"`
	// Tx is the number of days from the first to the last purchase day.
	Tx int `json:"t_x"`
	// T is the number of days from the first purchase day to AsOf.
	T int `json:"t"`
	// RecencyDays is AsOf minus the last purchase day, in days (T − Tx).
	RecencyDays int `json:"recency_days"`
	// RepeatSpend is the net spend on repeat purchase days, minor units.
	RepeatSpend int64 `json:"repeat_spend"`
	// PaidOrders is the number of paid orders (several may share a day).
	PaidOrders int `json:"paid_orders"`
	// TotalSpend is the net spend of all paid orders, minor units.
	TotalSpend int64 `json:"total_spend"`
	// FirstDay and LastDay are the first and last purchase days.
	FirstDay string `json:"first_day"`
	LastDay  string `json:"last_day"`
}

// Config is a shop's scoring settings. Start from DefaultConfig; Fit
// refuses out-of-range values with ErrInvalidConfig.
type Config struct {
	// Months is the CLV horizon in months of 30 days (default 12).
	Months int `json:"clv_months"`
	// MonthlyDiscount is the CLV's discount rate per month (default 0.01).
	MonthlyDiscount float64 `json:"monthly_discount"`
	// LowRiskBelow and HighRiskFrom bound the churn-risk bands: risk <
	// LowRiskBelow is low, risk >= HighRiskFrom is high, the rest medium
	// (defaults 0.3 and 0.7).
	LowRiskBelow float64 `json:"low_risk_below"`
	HighRiskFrom float64 `json:"high_risk_from"`
	// ActiveThreshold is the P(alive) from which a customer counts as
	// active in the KPIs' active_customers_count (default 0.5).
	ActiveThreshold float64 `json:"active_threshold"`
	// MinRepeatCustomers and MinHistoryDays make a shop young: with fewer
	// repeat customers, or fewer days from its first purchase to the as-of
	// day, it is scored by the empirical model (defaults 300 and 90).
	MinRepeatCustomers int `json:"min_repeat_customers"`
	MinHistoryDays     int `json:"min_history_days"`
	// MinSpendCustomers is the least number of repeat customers with a
	// positive repeat spend for a Gamma-Gamma fit (default 50); below it
	// the fixed spend fallback is used.
	MinSpendCustomers int `json:"min_spend_customers"`
	// NextPurchaseCap is how many days ahead the next order date is looked
	// for (default 365).
	NextPurchaseCap int `json:"next_purchase_cap_days"`
	// EmpiricalPriorGaps is k in the empirical model's rate
	// (x + k)/(t_x + k·gap_shop): how many of the shop's mean gaps a
	// customer's own history is shrunk with (default 1).
	EmpiricalPriorGaps float64 `json:"empirical_prior_gaps"`
	// HighTierShare and MediumTierShare are the shares of customers, by
	// predicted CLV, in the high and medium spend tiers (defaults 0.2 and
	// 0.3; the rest are low).
	HighTierShare   float64 `json:"high_tier_share"`
	MediumTierShare float64 `json:"medium_tier_share"`
	// Models are the transaction models Fit tries (default bgnbd, mbgnbd,
	// paretonbd).
	Models []string `json:"models"`
}

// RFMCuts are the shop-wide cut points of the RFM quintile scores (see
// RULES.md). A score s in 2..5 is reached when
//
//	R: recency days <= Recency[s−2]   (Recency is non-increasing)
//	F: purchase days >= Frequency[s−2] (non-decreasing)
//	M: total spend  >= Monetary[s−2]  (non-decreasing)
//
// and the score is 1 + the number of cut points reached. A cut point no
// customer reaches is −1 for Recency and math.MaxInt64 for the others.
type RFMCuts struct {
	Recency   [4]int64 `json:"recency_days"`
	Frequency [4]int64 `json:"frequency"`
	Monetary  [4]int64 `json:"monetary"`
}

// TierCuts are the predicted-CLV thresholds of the spend tiers, minor
// units: clv >= High is high, clv >= Medium is medium, else low.
type TierCuts struct {
	High   float64 `json:"high"`
	Medium float64 `json:"medium"`
}

// Model is what Fit chose for a shop and day, with its diagnostics: it is
// stored per shop and night, read by every scoring shard, and shown in the
// report.
type Model struct {
	// AsOf is the scoring day.
	AsOf string `json:"as_of"`
	// Name is the transaction model scores come from: bgnbd, mbgnbd,
	// paretonbd or empirical.
	Name string `json:"name"`
	// Reason says why: the criterion, fallbacks taken, a young shop.
	Reason string `json:"reason"`
	// Params are the chosen model's parameters (r, alpha, a, b; r, alpha,
	// s, beta; for empirical: gap_days, k).
	Params map[string]float64 `json:"params"`
	// Candidates are the transaction-model fits tried, best first is not
	// implied: in Config.Models order. Timings are zeroed so that a re-run
	// stores the same model.
	Candidates []clv.FitResult `json:"candidates"`
	// Spend is the Gamma-Gamma fit (Model "gammagamma"), or the fixed
	// fallback (Model "fixed": p=1, q=2, gamma=the shop's mean repeat-day
	// spend) with SpendReason saying why.
	Spend       clv.FitResult `json:"spend_model"`
	SpendReason string        `json:"spend_reason"`
	// Customers and RepeatCustomers are the counts behind the fit;
	// HistoryDays is the days from the shop's first purchase to AsOf.
	Customers       int64 `json:"customers"`
	RepeatCustomers int64 `json:"repeat_customers"`
	HistoryDays     int64 `json:"history_days"`
	// RFM are the quintile cut points, Tiers the spend-tier thresholds.
	RFM   RFMCuts  `json:"rfm"`
	Tiers TierCuts `json:"tiers"`
	// Config is the configuration the model was fitted and scores with.
	Config Config `json:"config"`
}

// CustomerScore is one customer's scores. The JSON field names are the
// export's column names.
type CustomerScore struct {
	CustomerID string `json:"customer_id"`
	AsOf       string `json:"as_of"`
	// Model is the transaction model's name (Model.Name).
	Model string `json:"model"`
	// PAlive is the probability the customer is still active; ChurnRisk is
	// 1 − PAlive, ChurnBand its band.
	PAlive    float64 `json:"p_alive"`
	ChurnRisk float64 `json:"churn_risk"`
	ChurnBand Band    `json:"churn_band"`
	// Active is PAlive >= Config.ActiveThreshold.
	Active bool `json:"active"`
	// ExpectedPurchases* are the expected purchase days in the next 30, 90
	// and 365 days.
	ExpectedPurchases30d  float64 `json:"expected_purchases_30d"`
	ExpectedPurchases90d  float64 `json:"expected_purchases_90d"`
	ExpectedPurchases365d float64 `json:"expected_purchases_365d"`
	// ExpectedOrderValue is the expected spend of a future purchase day,
	// minor units.
	ExpectedOrderValue float64 `json:"expected_order_value"`
	// CLV is the discounted expected spend over Config.Months, minor units.
	CLV float64 `json:"clv"`
	// NextOrderDate is the day by which one purchase is expected,
	// YYYY-MM-DD; "" when not expected within Config.NextPurchaseCap days.
	NextOrderDate string `json:"next_order_date"`
	// Recency, Frequency and Monetary are the RFM quintile scores, 1..5 (0
	// for prospects).
	Recency   int `json:"r_score"`
	Frequency int `json:"f_score"`
	Monetary  int `json:"m_score"`
	// Segment is the named RFM group, SpendTier the predicted-spend tier
	// ("" for prospects).
	Segment   Segment `json:"segment"`
	SpendTier Tier    `json:"spend_tier"`
}

// Bin is one bar of a histogram in a Day: values in [Lo, Hi), Count of
// them. Hi is +Inf-free: the top bin's Hi is its upper edge.
type Bin struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Count int64   `json:"count"`
}

// Day is a shop's KPIs for one as-of day, kept as a history. The
// definitions are in RULES.md.
type Day struct {
	AsOf string `json:"as_of"`
	// Customers have a paid order by AsOf; Prospects do not.
	Customers int64 `json:"customers"`
	Prospects int64 `json:"prospects"`
	// ActiveCustomers is the expected number of active customers, Σ
	// P(alive); ActiveCustomersCount counts P(alive) >= the threshold.
	ActiveCustomers      float64 `json:"active_customers"`
	ActiveCustomersCount int64   `json:"active_customers_count"`
	ChurnRate            float64 `json:"churn_rate"`
	RepeatPurchaseRate   float64 `json:"repeat_purchase_rate"`
	RepeatCustomers      int64   `json:"repeat_customers"`
	PaidOrders           int64   `json:"paid_orders"`
	// AverageOrderValue is minor units per paid order.
	AverageOrderValue float64 `json:"average_order_value"`
	PurchaseFrequency float64 `json:"purchase_frequency"`
	// HistoricCLVTotal is the net spend to date, PredictedCLVTotal Σ clv,
	// both minor units.
	HistoricCLVTotal  int64   `json:"historic_clv_total"`
	PredictedCLVTotal float64 `json:"predicted_clv_total"`
	// Top20RevenueShare is the share of net spend from the 20% of
	// customers who spent most, within ± Top20RevenueShareError.
	Top20RevenueShare      float64           `json:"top20_revenue_share"`
	Top20RevenueShareError float64           `json:"top20_revenue_share_error"`
	Segments               map[Segment]int64 `json:"segments"`
	Bands                  map[Band]int64    `json:"bands"`
	Tiers                  map[Tier]int64    `json:"tiers"`
	Model                  Model             `json:"model"`
	// CLVDistribution is the customers by predicted CLV (minor units, log
	// bins, the first bin [0, 1)); ChurnRiskDistribution by churn risk in
	// 20 bins of 0.05.
	CLVDistribution       []Bin `json:"clv_distribution"`
	ChurnRiskDistribution []Bin `json:"churn_risk_distribution"`
}
