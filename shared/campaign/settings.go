package campaign

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
)

// ErrInvalid means settings (or another input) break a rule; a
// *ValidationError matches it with errors.Is.
var ErrInvalid = errors.New("invalid campaign settings")

// ErrNoSender means the shop has no sender address yet: nothing may be
// sent until it is configured.
var ErrNoSender = errors.New("no sender address configured")

// FieldError is one problem with one settings field, named by its JSON name.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// ValidationError lists every field error found, in field order.
type ValidationError struct {
	Fields []FieldError
}

// Error summarises the field errors on one line.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Detail
	}
	return ErrInvalid.Error() + ": " + strings.Join(parts, "; ")
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Value bases for the value floor (Settings.ValueBasis).
const (
	// BasisPredicted compares the predicted CLV (scores.Score.CLV).
	BasisPredicted = "predicted"
	// BasisHistoric compares the customer's net spend so far
	// (Candidate.HistoricValue).
	BasisHistoric = "historic"
	// BasisEither passes a customer when either value reaches the floor.
	BasisEither = "either"
)

// Churn bands, as the nightly scoring names them (scoring.Band).
const (
	BandLow    = "low"
	BandMedium = "medium"
	BandHigh   = "high"
)

// Limits of the settings.
const (
	// MaxTiers is the most offer tiers a shop may configure.
	MaxTiers = 10
	// MaxPercent is the largest discount a tier may offer, in percent.
	MaxPercent = 90
	// MaxDays bounds every setting given in days.
	MaxDays = 365
)

// Tier is one step of the offer ladder: customers whose predicted CLV is
// at least MinValue (minor units) get Percent off, and the offer is
// assumed to raise their chance of ordering within the attribution window
// by Uplift (an absolute probability, 0.03 = 3 points). Uplift is an
// assumption the shop can calibrate against measured campaign uplift.
type Tier struct {
	MinValue int64   `json:"min_value"`
	Percent  int     `json:"percent"`
	Uplift   float64 `json:"uplift"`
}

// Settings are a shop's campaign settings. Money is in integer minor
// units of the shop's currency; durations are whole days.
type Settings struct {
	// From is the sender, e.g. "Shop <news@shop.example>": an RFC 5322
	// address (net/mail). Required before anything is sent (Sender).
	From string `json:"from"`

	// RiskBands are the churn bands that count as at risk (default
	// ["high"]); PAliveBelow adds every customer whose P(alive) is below
	// it (default 0: off). A customer is at risk when either holds.
	RiskBands   []string `json:"risk_bands"`
	PAliveBelow float64  `json:"p_alive_below"`

	// ValueFloor is the least value (minor units) a customer must have to
	// be mailed, measured on ValueBasis (predicted, historic or either;
	// default predicted). Default 0: no floor.
	ValueFloor int64  `json:"value_floor"`
	ValueBasis string `json:"value_basis"`

	// FrequencyCapDays: nobody is mailed twice within this many days,
	// across all campaigns (default 30).
	FrequencyCapDays int `json:"frequency_cap_days"`

	// HoldoutShare is the share of selected customers held out, recorded
	// and never mailed (default 0.10; 0 ≤ share < 1).
	HoldoutShare float64 `json:"holdout_share"`

	// ReplenishmentWindowDays: a customer whose expected next order date
	// is within this many days of today (either side) gets a
	// replenishment reminder (default 7; 0 turns reminders off).
	ReplenishmentWindowDays int `json:"replenishment_window_days"`

	// Tiers is the offer ladder by predicted CLV, ascending MinValue, the
	// first at 0 (default: none / 10% / 15% / 20% from 0 / 50.00 /
	// 150.00 / 500.00 in a two-decimal currency).
	Tiers []Tier `json:"offer_tiers"`

	// GrossMargin is the share of an order's revenue the shop keeps
	// before any discount (default 0.5); the offer cap uses it (Offer).
	GrossMargin float64 `json:"gross_margin"`

	// CouponExpiryDays is how long a coupon is valid after sending
	// (default 14).
	CouponExpiryDays int `json:"coupon_expiry_days"`

	// AttributionWindowDays: an order this many days after the e-mail (or
	// the holdout record) converts (default 14).
	AttributionWindowDays int `json:"attribution_window_days"`
}

// DefaultSettings are the documented defaults (RULES.md); From is empty.
func DefaultSettings() Settings {
	return Settings{
		RiskBands:               []string{BandHigh},
		PAliveBelow:             0,
		ValueFloor:              0,
		ValueBasis:              BasisPredicted,
		FrequencyCapDays:        30,
		HoldoutShare:            0.10,
		ReplenishmentWindowDays: 7,
		Tiers: []Tier{
			{MinValue: 0, Percent: 0, Uplift: 0},
			{MinValue: 5000, Percent: 10, Uplift: 0.03},
			{MinValue: 15000, Percent: 15, Uplift: 0.04},
			{MinValue: 50000, Percent: 20, Uplift: 0.05},
		},
		GrossMargin:           0.5,
		CouponExpiryDays:      14,
		AttributionWindowDays: 14,
	}
}

// Validate reports every field out of range as a *ValidationError
// (matching ErrInvalid). An empty From is valid here (settings may be
// stored before the sender is known); Sender requires it.
func (s Settings) Validate() error {
	var fs []FieldError
	bad := func(field, format string, args ...any) {
		fs = append(fs, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
	}
	if s.From != "" {
		if _, err := parseSender(s.From); err != nil {
			bad("from", "%v", err)
		}
	}
	for _, b := range s.RiskBands {
		if b != BandLow && b != BandMedium && b != BandHigh {
			bad("risk_bands", "unknown band %q (want low, medium or high)", b)
		}
	}
	if !(s.PAliveBelow >= 0 && s.PAliveBelow <= 1) {
		bad("p_alive_below", "%v is not in [0, 1]", s.PAliveBelow)
	}
	if len(s.RiskBands) == 0 && s.PAliveBelow == 0 && s.ReplenishmentWindowDays == 0 {
		bad("risk_bands", "no risk band, no p_alive_below and no replenishment window: nobody could be selected")
	}
	if s.ValueFloor < 0 {
		bad("value_floor", "%d is negative", s.ValueFloor)
	}
	if s.ValueBasis != BasisPredicted && s.ValueBasis != BasisHistoric && s.ValueBasis != BasisEither {
		bad("value_basis", "%q (want predicted, historic or either)", s.ValueBasis)
	}
	if s.FrequencyCapDays < 0 || s.FrequencyCapDays > MaxDays {
		bad("frequency_cap_days", "%d is not in [0, %d]", s.FrequencyCapDays, MaxDays)
	}
	if !(s.HoldoutShare >= 0 && s.HoldoutShare < 1) {
		bad("holdout_share", "%v is not in [0, 1)", s.HoldoutShare)
	}
	if s.ReplenishmentWindowDays < 0 || s.ReplenishmentWindowDays > MaxDays {
		bad("replenishment_window_days", "%d is not in [0, %d]", s.ReplenishmentWindowDays, MaxDays)
	}
	s.validateTiers(bad)
	if !(s.GrossMargin > 0 && s.GrossMargin <= 1) {
		bad("gross_margin", "%v is not in (0, 1]", s.GrossMargin)
	}
	if s.CouponExpiryDays < 1 || s.CouponExpiryDays > MaxDays {
		bad("coupon_expiry_days", "%d is not in [1, %d]", s.CouponExpiryDays, MaxDays)
	}
	if s.AttributionWindowDays < 1 || s.AttributionWindowDays > MaxDays {
		bad("attribution_window_days", "%d is not in [1, %d]", s.AttributionWindowDays, MaxDays)
	}
	if len(fs) > 0 {
		return &ValidationError{Fields: fs}
	}
	return nil
}

func (s Settings) validateTiers(bad func(field, format string, args ...any)) {
	switch {
	case len(s.Tiers) == 0:
		bad("offer_tiers", "at least one tier is needed (a single {min_value: 0, percent: 0} offers nothing)")
		return
	case len(s.Tiers) > MaxTiers:
		bad("offer_tiers", "%d tiers (at most %d)", len(s.Tiers), MaxTiers)
		return
	case s.Tiers[0].MinValue != 0:
		bad("offer_tiers", "the first tier must start at min_value 0, not %d", s.Tiers[0].MinValue)
	}
	for i, t := range s.Tiers {
		field := fmt.Sprintf("offer_tiers[%d]", i)
		if i > 0 && t.MinValue <= s.Tiers[i-1].MinValue {
			bad(field, "min_value %d does not exceed the previous tier's %d", t.MinValue, s.Tiers[i-1].MinValue)
		}
		if t.Percent < 0 || t.Percent > MaxPercent {
			bad(field, "percent %d is not in [0, %d]", t.Percent, MaxPercent)
		}
		if i > 0 && t.Percent < s.Tiers[i-1].Percent {
			bad(field, "percent %d is below the previous tier's %d", t.Percent, s.Tiers[i-1].Percent)
		}
		if !(t.Uplift >= 0 && t.Uplift <= 1) {
			bad(field, "uplift %v is not in [0, 1]", t.Uplift)
		}
		if t.Percent > 0 && t.Uplift == 0 {
			bad(field, "a discount with uplift 0 can never pay for itself")
		}
	}
}

// Sender is the parsed sender address: ErrNoSender when From is empty, an
// error matching ErrInvalid when it does not parse.
func (s Settings) Sender() (*mail.Address, error) {
	if strings.TrimSpace(s.From) == "" {
		return nil, ErrNoSender
	}
	a, err := parseSender(s.From)
	if err != nil {
		return nil, &ValidationError{Fields: []FieldError{{Field: "from", Detail: err.Error()}}}
	}
	return a, nil
}

// parseSender parses one RFC 5322 address whose domain has a dot.
func parseSender(from string) (*mail.Address, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("%q is not an e-mail address: %v", from, err)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at < 0 || !strings.Contains(a.Address[at+1:], ".") {
		return nil, fmt.Errorf("%q has no domain with a dot", a.Address)
	}
	return a, nil
}

// atRiskBand reports whether band is one of the settings' risk bands.
func (s Settings) atRiskBand(band string) bool { return slices.Contains(s.RiskBands, band) }
