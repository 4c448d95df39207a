package campaign

import "time"

// Report is a campaign's measurement: what happened to its recipients and
// what the e-mail did against the holdout. Money is in minor units of
// Currency. JSON field names are the API's (GET /v1/campaigns/{id}).
type Report struct {
	CampaignID string    `json:"campaign_id"`
	AsOf       string    `json:"as_of"`
	MeasuredAt time.Time `json:"measured_at"`
	Currency   string    `json:"currency"`
	// AttributionWindowDays is the window used (the campaign's setting).
	AttributionWindowDays int `json:"attribution_window_days"`

	// Selected counts every recorded recipient, Holdout those held out.
	Selected int `json:"selected"`
	Holdout  int `json:"holdout"`
	// States counts the mailed group's recipients by State (queued,
	// sending, sent, in_doubt, failed, skipped; dry_run for a dry run).
	States map[State]int `json:"states"`
	// Mailed counts e-mails SES accepted (sent) plus those in doubt;
	// Delivered, Bounced (for good), SoftBounced (only transiently),
	// Complained and Unsubscribed count recipients with that event.
	Mailed       int `json:"mailed"`
	InDoubt      int `json:"in_doubt"`
	Failed       int `json:"failed"`
	Skipped      int `json:"skipped"`
	Queued       int `json:"queued"`
	Delivered    int `json:"delivered"`
	Bounced      int `json:"bounced"`
	SoftBounced  int `json:"soft_bounced"`
	Complained   int `json:"complained"`
	Unsubscribed int `json:"unsubscribed"`
	// Kinds counts the selected by kind of e-mail (winback, replenishment).
	Kinds map[Kind]int `json:"kinds"`
	// Offers counts the mailed group's offers by percent ("0", "10", …).
	Offers map[string]int `json:"offers"`

	// MailedGroup and HoldoutGroup are the experiment's two sides as
	// assigned (intention to treat): every recipient of the mailed group,
	// whatever became of its e-mail, and every held-out one; both empty
	// for a dry run.
	MailedGroup  GroupResult `json:"mailed_group"`
	HoldoutGroup GroupResult `json:"holdout_group"`
	// Uplift is the mailed minus the holdout conversion rate with its 95%
	// interval (Newcombe's hybrid score method); undefined without a
	// holdout, without a mailed group or for a dry run.
	Uplift Interval `json:"uplift"`
	// IncrementalRevenue is the mailed group's revenue minus what it would
	// have spent at the holdout's revenue per customer (0 when undefined).
	IncrementalRevenue int64 `json:"incremental_revenue"`
	// DiscountCost is the discount the mailed group's redeemed coupons took.
	DiscountCost int64 `json:"discount_cost"`
}

// GroupResult is one side of the experiment.
type GroupResult struct {
	Customers      int     `json:"customers"`
	Converted      int     `json:"converted"`
	ConversionRate float64 `json:"conversion_rate"`
	Orders         int     `json:"orders"`
	Revenue        int64   `json:"revenue"`
	Redeemed       int     `json:"redeemed"`
	DiscountCost   int64   `json:"discount_cost"`
	// RevenuePerCustomer is Revenue / Customers (0 for none).
	RevenuePerCustomer float64 `json:"revenue_per_customer"`
}
