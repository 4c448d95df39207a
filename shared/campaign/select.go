package campaign

import (
	"math"
	"time"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/scores"
)

// Kind is the kind of e-mail a selected customer gets.
type Kind string

// The kinds of e-mail.
const (
	// KindWinback: the customer is slipping away; the e-mail may carry a
	// discount (Offer).
	KindWinback Kind = "winback"
	// KindReplenishment: the customer's expected next order is near; the
	// e-mail reminds them of their last items, with no discount.
	KindReplenishment Kind = "replenishment"
)

// Reason says why a customer is not mailed.
type Reason string

// The reasons, in the order Select checks them.
const (
	ReasonNoConsent          Reason = "no_consent"
	ReasonNoEmail            Reason = "no_email"
	ReasonSuppressed         Reason = "suppressed"
	ReasonNotScored          Reason = "not_scored"
	ReasonInvalidInput       Reason = "invalid_input"
	ReasonOrderedSinceScored Reason = "ordered_since_scored"
	ReasonFrequencyCap       Reason = "frequency_cap"
	ReasonNotAtRisk          Reason = "not_at_risk"
	ReasonBelowValueFloor    Reason = "below_value_floor"
)

// Reasons lists every reason, in the order Select checks them.
var Reasons = []Reason{
	ReasonNoConsent, ReasonNoEmail, ReasonSuppressed, ReasonNotScored, ReasonInvalidInput,
	ReasonOrderedSinceScored, ReasonFrequencyCap, ReasonNotAtRisk, ReasonBelowValueFloor,
}

// Candidate is what selection needs to know about one customer.
type Candidate struct {
	// Score is the customer's latest stored scores; Score.AsOf is the
	// scored day, Score.NextOrderDate the expected next order date.
	Score scores.Score
	// AcceptsMarketing is the customer's consent (accepts_marketing).
	AcceptsMarketing bool
	// HasEmail: the customer has an e-mail address.
	HasEmail bool
	// Suppressed is why the address must not be mailed (unsubscribe,
	// bounce, complaint, erasure); "" when it may be.
	Suppressed string
	// LastContactedAt is when any campaign last mailed the customer (zero:
	// never).
	LastContactedAt time.Time
	// LastOrderDay is the day of the customer's latest paid order,
	// YYYY-MM-DD in the shop's time zone ("" for none).
	LastOrderDay string
	// HistoricValue is the customer's net spend so far, minor units.
	HistoricValue int64
	// CycleDueDay is when the customer's own purchase cycle says they will
	// order next: their last purchase day plus their mean gap between
	// purchase days, YYYY-MM-DD ("" with fewer than two purchase days). The
	// tea that runs out every six weeks is due six weeks after it was
	// bought; the models' next order date (Score.NextOrderDate) is when one
	// more purchase is expected from the scored day on, which discounts
	// for churn and so always lies ahead.
	CycleDueDay string
	// FirstName and LastItems personalise the e-mail; a replenishment
	// reminder needs LastItems.
	FirstName string
	LastItems []order.LineItem
}

// CandidateOf gathers a candidate from the customer's summary and scores,
// the suppression reason of their address ("" for none) and when they
// were last mailed.
func CandidateOf(sum customer.Summary, sc scores.Score, suppressed string, lastContacted time.Time) Candidate {
	return Candidate{
		Score:            sc,
		AcceptsMarketing: sum.AcceptsMarketing,
		HasEmail:         sum.Email != "",
		Suppressed:       suppressed,
		LastContactedAt:  lastContacted,
		LastOrderDay:     sum.LastDay,
		CycleDueDay:      cycleDue(sum),
		HistoricValue:    sum.TotalSpend,
		FirstName:        sum.FirstName,
		LastItems:        sum.LastItems,
	}
}

// Decision is what Select decided for one customer: a Kind, or a Reason
// not to mail them. A win-back decision carries its Offer.
type Decision struct {
	Kind   Kind          `json:"kind,omitempty"`
	Reason Reason        `json:"reason,omitempty"`
	Offer  OfferDecision `json:"offer"`
}

// Selected reports whether the customer is to get an e-mail (or be held
// out: the holdout is drawn among the selected).
func (d Decision) Selected() bool { return d.Kind != "" }

func skip(r Reason) Decision { return Decision{Reason: r} }

// Select decides whether a candidate gets an e-mail of this campaign and
// of which kind. The checks run in this order; the first that fails is
// the reason:
//
//  1. no_consent: the customer does not accept marketing.
//  2. no_email: there is no address.
//  3. suppressed: the address is suppressed for the shop.
//  4. not_scored: the customer has no scores (Score.AsOf is empty).
//  5. invalid_input: a day (as-of, last order, next order) is not YYYY-MM-DD.
//  6. ordered_since_scored: the last order day is after the scored day.
//  7. frequency_cap: any campaign mailed them less than
//     FrequencyCapDays (default 30) × 24 h before now (a contact in the
//     future counts as recent).
//  8. The kind: replenishment when ReplenishmentWindowDays > 0, the
//     customer has last items and today is within that many days (7 by
//     default) of their due day, either side: CycleDueDay, their own
//     purchase cycle, or, with fewer than two purchase days,
//     Score.NextOrderDate; otherwise winback when the
//     customer is at risk: Score.ChurnBand is one of RiskBands (default
//     high) or Score.PAlive < PAliveBelow (default 0, off); otherwise
//     not_at_risk.
//  9. below_value_floor: the value on ValueBasis is below ValueFloor
//     (predicted: Score.CLV; historic: HistoricValue; either: the larger).
//
// Today is now's calendar day in now's location: pass now in the shop's
// time zone. A winback decision carries Offer(in.Score, s). Select is a
// pure function of its arguments.
func Select(in Candidate, s Settings, now time.Time) Decision {
	switch {
	case !in.AcceptsMarketing:
		return skip(ReasonNoConsent)
	case !in.HasEmail:
		return skip(ReasonNoEmail)
	case in.Suppressed != "":
		return skip(ReasonSuppressed)
	case in.Score.AsOf == "":
		return skip(ReasonNotScored)
	}
	asOf, ok := parseDay(in.Score.AsOf)
	if !ok {
		return skip(ReasonInvalidInput)
	}
	if in.LastOrderDay != "" {
		last, ok := parseDay(in.LastOrderDay)
		if !ok {
			return skip(ReasonInvalidInput)
		}
		if last.After(asOf) {
			return skip(ReasonOrderedSinceScored)
		}
	}
	var next time.Time
	due := in.CycleDueDay
	if due == "" {
		due = in.Score.NextOrderDate
	}
	if due != "" {
		if next, ok = parseDay(due); !ok {
			return skip(ReasonInvalidInput)
		}
	}
	if capDays := s.FrequencyCapDays; capDays > 0 && !in.LastContactedAt.IsZero() &&
		now.Before(in.LastContactedAt.Add(time.Duration(capDays)*24*time.Hour)) {
		return skip(ReasonFrequencyCap)
	}
	var kind Kind
	today, _ := parseDay(now.Format(time.DateOnly))
	switch w := s.ReplenishmentWindowDays; {
	case w > 0 && !next.IsZero() && len(in.LastItems) > 0 && absDays(today, next) <= w:
		kind = KindReplenishment
	case s.atRiskBand(in.Score.ChurnBand) || in.Score.PAlive < s.PAliveBelow:
		kind = KindWinback
	default:
		return skip(ReasonNotAtRisk)
	}
	if !s.meetsFloor(in) {
		return skip(ReasonBelowValueFloor)
	}
	d := Decision{Kind: kind}
	if kind == KindWinback {
		d.Offer = Offer(in.Score, s)
	}
	return d
}

// cycleDue is the day the customer's purchase cycle makes them due: the
// last purchase day plus the mean gap between their purchase days ("" with
// fewer than two).
func cycleDue(sum customer.Summary) string {
	first, ok1 := parseDay(sum.FirstDay)
	last, ok2 := parseDay(sum.LastDay)
	if !ok1 || !ok2 || sum.PurchaseDays < 2 || !last.After(first) {
		return ""
	}
	gap := last.Sub(first).Hours() / 24 / float64(sum.PurchaseDays-1)
	return last.AddDate(0, 0, int(math.Round(gap))).Format(time.DateOnly)
}

// meetsFloor reports whether the candidate's value on the settings' basis
// reaches the value floor.
func (s Settings) meetsFloor(in Candidate) bool {
	floor := float64(s.ValueFloor)
	predicted := in.Score.CLV >= floor // false for NaN
	historic := float64(in.HistoricValue) >= floor
	switch s.ValueBasis {
	case BasisHistoric:
		return historic
	case BasisEither:
		return predicted || historic
	default:
		return predicted
	}
}

// parseDay parses a YYYY-MM-DD day as midnight UTC.
func parseDay(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil
}

// absDays is the number of whole days between two days (midnights UTC).
func absDays(a, b time.Time) int {
	d := int(a.Sub(b).Hours() / 24)
	if d < 0 {
		return -d
	}
	return d
}
