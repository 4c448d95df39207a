package campaign

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// A campaign is one shop's win-back run of one day: its id is the as-of
// day of the scores it selects from ("2026-12-01"), so a run started
// twice, or killed and started again, finds the same campaign and resumes
// it. A dry run is recorded apart, under the id with DrySuffix, and never
// mails, reserves a contact, or counts for the frequency cap; it draws its
// holdout with the real campaign's id, so it shows what the real run will
// do.

// DrySuffix ends the id of a dry run's campaign.
const DrySuffix = "-dry"

// ID is the id of the campaign of an as-of day (a dry run's when dry).
func ID(asOf string, dry bool) string {
	if dry {
		return asOf + DrySuffix
	}
	return asOf
}

// Errors of the campaign stores.
var (
	// ErrNotFound: no such campaign or recipient.
	ErrNotFound = errors.New("campaign not found")
	// ErrStateChanged: a recipient (or campaign) was not in the state a
	// conditional change required; the store returns the current one.
	ErrStateChanged = errors.New("campaign state changed")
	// ErrCouponTaken: the coupon code is already the shop's for another
	// customer or campaign; draw another.
	ErrCouponTaken = errors.New("coupon code taken")
	// ErrContacted: the customer was contacted by another campaign within
	// the frequency cap (found when recording them).
	ErrContacted = errors.New("contacted within the frequency cap")
)

// Status is a campaign's state.
type Status string

// The campaign states.
const (
	// StatusSelecting: recipients are being chosen and recorded.
	StatusSelecting Status = "selecting"
	// StatusSending: every recipient is recorded; the queued ones are
	// (being) handed to the sender.
	StatusSending Status = "sending"
	// StatusPaused: SES refused to send for the account
	// (SendingPausedException, AccountSuspendedException) or the shop's
	// safety valve tripped; queued recipients stay queued until a run
	// resumes the campaign.
	StatusPaused Status = "paused"
	// StatusDone: dry run recorded (a dry run never sends).
	StatusDone Status = "done"
)

// Campaign is one campaign of one shop.
type Campaign struct {
	ShopID string `json:"shop_id"`
	ID     string `json:"campaign_id"`
	// AsOf is the scored day it selects from.
	AsOf      string    `json:"as_of"`
	DryRun    bool      `json:"dry_run"`
	CreatedAt time.Time `json:"created_at"`
	Status    Status    `json:"status"`
	// PausedReason says why a paused campaign stopped.
	PausedReason string `json:"paused_reason,omitempty"`
	// Settings are the shop's settings when the campaign began; a resumed
	// run keeps them.
	Settings Settings `json:"settings"`
	// Shards lists the customer shards whose selection is recorded in
	// full (a resumed run skips them).
	Shards []int `json:"selected_shards,omitempty"`
	// Report is the campaign's latest measurement (nil until measured).
	Report *Report `json:"report,omitempty"`
	// SplitBounces is true for every campaign begun since hard and soft
	// bounces are recorded apart (EventBounced, EventSoftBounced); an
	// earlier campaign's report counts soft bounces as bounced, so the
	// safety valve judges it on its complaints only.
	SplitBounces bool `json:"split_bounces,omitempty"`
	// Feedback counts SES's hard bounces and complaints as they arrive,
	// each recipient once: what the safety valve reads while the
	// campaign is still sending (LiveReputation).
	Feedback Feedback `json:"feedback"`
}

// Feedback counts a campaign's recipients with a hard bounce and with a
// complaint, as SES reports them.
type Feedback struct {
	Bounced    int `json:"bounced"`
	Complained int `json:"complained"`
}

// HoldoutKey is the id the holdout is drawn with: the real campaign's,
// for a dry run too.
func (c Campaign) HoldoutKey() string { return c.AsOf }

// ShardDone reports whether shard n's selection is recorded.
func (c Campaign) ShardDone(n int) bool {
	for _, s := range c.Shards {
		if s == n {
			return true
		}
	}
	return false
}

// State is where a recipient's e-mail is. The sender moves a recipient
//
//	queued → sending (claimed) → sent
//	                           → queued   (SES throttled or failed transiently: retried)
//	                           → failed   (SES rejected it, or it cannot be rendered: never retried)
//	                           → in_doubt (found still claimed after the claim's lease: SES may
//	                                       have it; never sent again, reconciled by SES events)
//	queued → skipped (consent withdrawn, address suppressed or gone since selection)
//
// A held-out recipient is held_out for good; a dry run's are dry_run.
type State string

// The recipient states.
const (
	StateHeldOut State = "held_out"
	StateDryRun  State = "dry_run"
	StateQueued  State = "queued"
	StateSending State = "sending"
	StateSent    State = "sent"
	StateInDoubt State = "in_doubt"
	StateFailed  State = "failed"
	StateSkipped State = "skipped"
)

// MaxSendDelay is the longest a recipient may wait between selection and
// sending; the sender skips an older one. A message redriven from the
// dead letters or a campaign resumed days later would otherwise mail an
// offer whose expiry was counted from the selection day, chosen on scores
// that no longer hold. Within 72 h a 14-day coupon keeps most of its
// validity (11 days at least) and the scores are at most three nights old.
const MaxSendDelay = 72 * time.Hour

// SendingWindow is how long after it began a campaign can still send: a
// run resumes it for up to 3 days, and no recipient is mailed more than
// MaxSendDelay after its selection; a day's margin on top.
const SendingWindow = 3*24*time.Hour + MaxSendDelay + 24*time.Hour

// ClaimLease is how long a claim is left alone: a recipient found still
// sending after it is in doubt. It exceeds the sender's invocation
// timeout, so a live sender is never overtaken.
const ClaimLease = 15 * time.Minute

// Mail events a recipient can have (from SES, through feedback).
const (
	EventSent      = "sent"
	EventDelivered = "delivered"
	// EventBounced is a hard (permanent) bounce, EventSoftBounced a
	// transient or undetermined one (the mailbox may take mail later).
	EventBounced      = "bounced"
	EventSoftBounced  = "soft_bounced"
	EventComplained   = "complained"
	EventUnsubscribed = "unsubscribed"
)

// Buckets is how many partitions hold one campaign's recipients.
const Buckets = 16

// SendID is the recipient's id in a campaign: 20 hex digits of
// SHA-256(campaign id, 0, customer id). It is deterministic (a resumed
// run finds the recipient it recorded), carries no customer id, and is
// valid as an SES tag value.
func SendID(campaignID, customerID string) string {
	h := sha256.New()
	h.Write([]byte(campaignID))
	h.Write([]byte{0})
	h.Write([]byte(customerID))
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// Bucket is the partition of a campaign that holds the recipient with
// this send id: its first hex digit.
func Bucket(sendID string) int {
	if sendID == "" {
		return 0
	}
	c := sendID[0]
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return 0
}

// ValidSendID reports whether s looks like a SendID.
func ValidSendID(s string) bool {
	if len(s) != 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Recipient is one selected customer of a campaign: mailed or held out.
type Recipient struct {
	ShopID     string `json:"shop_id"`
	CampaignID string `json:"campaign_id"`
	SendID     string `json:"send_id"`
	CustomerID string `json:"customer_id"`
	Group      Group  `json:"group"`
	Kind       Kind   `json:"kind"`
	// Percent, Coupon and ExpiresOn are the offer (0, "" and "" for none);
	// ExpiresOn is the last day the code is valid, YYYY-MM-DD.
	Percent   int    `json:"percent,omitempty"`
	Coupon    string `json:"coupon,omitempty"`
	ExpiresOn string `json:"expires_on,omitempty"`
	// SelectedAt is when the run recorded the recipient: its assignment
	// to a group, and its contact time for attribution in either group.
	SelectedAt time.Time `json:"selected_at"`
	State      State     `json:"state"`
	// Reason says why a recipient failed or was skipped.
	Reason string `json:"reason,omitempty"`
	// AddressKey is the store's key of the address the e-mail was sent to
	// (a salted hash, never the address), recorded with the claim: an
	// unsubscribe suppresses that address even if the customer's address
	// changed since.
	AddressKey string `json:"-"`
	// ClaimID and ClaimedAt are the sender's current claim.
	ClaimID   string    `json:"-"`
	ClaimedAt time.Time `json:"claimed_at,omitzero"`
	// MessageID is SES's id of the e-mail; SentAt when SES accepted it.
	MessageID string    `json:"message_id,omitempty"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	// Events are the mail events seen (EventDelivered, …), each once, with
	// when it was first seen.
	Events map[string]time.Time `json:"events,omitempty"`
}

// Contact is the recipient as attribution sees it: in its group as
// assigned, from its selection, whatever became of its e-mail (intention
// to treat: a skipped, failed or still queued recipient stays in the
// mailed group). ok is false for a dry run's recipients, who are in no
// experiment.
func (r Recipient) Contact() (c Contact, ok bool) {
	if r.State == StateDryRun {
		return Contact{}, false
	}
	return Contact{CustomerID: r.CustomerID, Group: r.Group, At: r.SelectedAt, Coupon: r.Coupon}, true
}

// Change is a conditional change of one recipient: applied only when the
// recipient is in one of From (any state when empty) and, when Claim is
// set, holds that claim. Zero fields are left as they are; Event adds a
// mail event (once: its first time stays).
type Change struct {
	From  []State
	Claim string

	To         State
	NewClaim   string
	AddressKey string
	ClaimedAt  time.Time
	MessageID  string
	SentAt     time.Time
	Reason     string
	Event      string
	EventAt    time.Time
	// NewEvent makes the change hold only when the recipient does not
	// have Event yet (ErrStateChanged when it does): the first of several
	// deliveries of one event, and only it, counts.
	NewEvent bool
}

// Apply is the change on r, for the stores: ErrStateChanged when its
// condition does not hold (r is returned unchanged).
func (ch Change) Apply(r Recipient) (Recipient, error) {
	if len(ch.From) > 0 {
		ok := false
		for _, s := range ch.From {
			if r.State == s {
				ok = true
			}
		}
		if !ok {
			return r, fmt.Errorf("%w: recipient %s is %s", ErrStateChanged, r.SendID, r.State)
		}
	}
	if ch.Claim != "" && r.ClaimID != ch.Claim {
		return r, fmt.Errorf("%w: recipient %s has another claim", ErrStateChanged, r.SendID)
	}
	if _, seen := r.Events[ch.Event]; ch.NewEvent && ch.Event != "" && seen {
		return r, fmt.Errorf("%w: recipient %s has %s already", ErrStateChanged, r.SendID, ch.Event)
	}
	if ch.To != "" {
		r.State = ch.To
	}
	if ch.NewClaim != "" {
		r.ClaimID = ch.NewClaim
	}
	if ch.AddressKey != "" {
		r.AddressKey = ch.AddressKey
	}
	if !ch.ClaimedAt.IsZero() {
		r.ClaimedAt = ch.ClaimedAt
	}
	if ch.MessageID != "" {
		r.MessageID = ch.MessageID
	}
	if !ch.SentAt.IsZero() {
		r.SentAt = ch.SentAt
	}
	if ch.Reason != "" {
		r.Reason = ch.Reason
	}
	if ch.Event != "" {
		if _, seen := r.Events[ch.Event]; !seen {
			ev := make(map[string]time.Time, len(r.Events)+1)
			for k, v := range r.Events {
				ev[k] = v
			}
			ev[ch.Event] = ch.EventAt
			r.Events = ev
		}
	}
	return r, nil
}

// Template is a shop's e-mail template: Go templates over
// mail.MessageData, rendered by mail.Render. Subject and Text are
// text/template, HTML is html/template (so every value is escaped for
// where it appears).
type Template struct {
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text"`
}

// Config is a shop's campaign configuration as stored: the settings and
// the template (nil: the built-in mail.DefaultTemplate).
type Config struct {
	Settings Settings  `json:"settings"`
	Template *Template `json:"template,omitempty"`
}

// DefaultConfig is the configuration of a shop that has set none.
func DefaultConfig() Config { return Config{Settings: DefaultSettings()} }
