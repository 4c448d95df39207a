package campaign

import (
	"fmt"
	"time"
)

// The safety valve. Every shop sends through the one SES account of the
// deployment, and SES judges that account by its bounce and complaint
// rates: at ReviewBounceRate or ReviewComplaintRate it puts the account
// under review, at 10% and 0.5% it pauses sending for everybody. So one
// shop mailing a bad list must not be able to stop the others' mail: when
// a shop's last campaign reaches either review level, that shop's sending
// stops by itself (Stop) until an operator lifts it
// (winback shop resume-sending), and its reports say why.
//
// The rates are SES's: hard (permanent) bounces, and complaints, over the
// e-mails SES accepted. There is no minimum volume: with fewer than 1,000
// e-mails one complaint is already at the 0.1% level. That is on purpose:
// the account's rate is the sum of every shop's, and a small shop whose
// readers complain is the cheapest one to pause.
const (
	// ReviewBounceRate is SES's review level of the hard-bounce rate.
	ReviewBounceRate = 0.05
	// ReviewComplaintRate is SES's review level of the complaint rate.
	ReviewComplaintRate = 0.001
)

// Reputation is what a campaign's e-mails earned: how many SES accepted,
// how many bounced for good, how many readers complained.
type Reputation struct {
	Mailed     int `json:"mailed"`
	Bounced    int `json:"bounced"`
	Complained int `json:"complained"`
}

// BounceRate is Bounced over Mailed (0 with nothing mailed).
func (r Reputation) BounceRate() float64 { return rate(r.Bounced, r.Mailed) }

// ComplaintRate is Complained over Mailed (0 with nothing mailed).
func (r Reputation) ComplaintRate() float64 { return rate(r.Complained, r.Mailed) }

func rate(n, of int) float64 {
	if of <= 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// Trips reports whether the campaign's rates reach a review level, and
// says which in words for the shop ("" when it does not). The levels are
// compared in integers (n/of ≥ level exactly), so 5 of 100 trips and
// 49 of 1,000 does not, whatever floating point makes of 0.05.
func (r Reputation) Trips() (string, bool) {
	if r.Mailed <= 0 {
		return "", false
	}
	switch {
	case r.Bounced*20 >= r.Mailed && r.Bounced > 0:
		return fmt.Sprintf("%d of %d e-mails bounced for good (%.1f%%): at or above the %.0f%% at which SES reviews the account",
			r.Bounced, r.Mailed, 100*r.BounceRate(), 100*ReviewBounceRate), true
	case r.Complained*1000 >= r.Mailed && r.Complained > 0:
		return fmt.Sprintf("%d of %d readers complained (%.2f%%): at or above the %.1f%% at which SES reviews the account",
			r.Complained, r.Mailed, 100*r.ComplaintRate(), 100*ReviewComplaintRate), true
	}
	return "", false
}

// ReputationOf is a measured campaign's reputation: the e-mails SES
// accepted (sent and in doubt), their hard bounces and complaints.
func ReputationOf(r Report) Reputation {
	return Reputation{Mailed: r.Mailed, Bounced: r.Bounced, Complained: r.Complained}
}

// LiveReputation is what the valve reads while a campaign sends: its
// hard bounces and complaints so far (Feedback) over every e-mail it is
// to send (its mailed group as first measured). The rate is never above
// the final one (fewer e-mails may go out, never more), so a campaign it
// trips would trip the valve at the end anyway; it only trips earlier.
// False before the campaign's first measurement.
func LiveReputation(c Campaign) (Reputation, bool) {
	if c.Report == nil || c.Report.MailedGroup.Customers == 0 {
		return Reputation{}, false
	}
	return Reputation{Mailed: c.Report.MailedGroup.Customers, Bounced: c.Feedback.Bounced, Complained: c.Feedback.Complained}, true
}

// Stop is a shop's sending stopped by the safety valve: which campaign
// tripped it, when, with what figures, and why in words. An operator lifts
// it (LiftedAt); a lifted stop stays recorded, so that the campaign that
// tripped it, measured again on later nights, does not trip it again:
// only another campaign can.
type Stop struct {
	CampaignID string     `json:"campaign_id"`
	At         time.Time  `json:"stopped_at"`
	Reason     string     `json:"reason"`
	Reputation Reputation `json:"reputation"`
	LiftedAt   *time.Time `json:"lifted_at,omitempty"`
}

// InForce reports whether the stop still holds the shop's sending.
func (s Stop) InForce() bool { return s.CampaignID != "" && s.LiftedAt == nil }

// MetricSendingStopped is the log metric ("winback_metric") of a shop's
// sending stopped by the valve; an alarm watches it.
const MetricSendingStopped = "SendingStopped"

// PausedBySafetyValve prefixes the paused reason of a campaign the valve
// stopped.
const PausedBySafetyValve = "safety valve: "
