// Package feedback applies what SES reports about the e-mails it was
// handed: the events of the configuration set, published to EventBridge
// (source "aws.ses"). Permanent bounces and complaints suppress the
// address for the shop that sent the e-mail, at once; sends, deliveries,
// bounces and complaints are recorded on the campaign's recipient, and a
// send or delivery settles a recipient left sending or in doubt. The rules
// are in shared/campaign/RULES.md, "Bounces and complaints".
package feedback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/valve"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// Store is what the handler reads and changes.
type Store interface {
	// Shop reads a shop (shop.ErrNotFound).
	Shop(ctx context.Context, id string) (shop.Shop, error)
	// Suppress records that an address of the shop must not be mailed
	// again; the first reason stays.
	Suppress(ctx context.Context, sh shop.Shop, email, reason string) error
	// Recipient reads a campaign's recipient (campaign.ErrNotFound).
	Recipient(ctx context.Context, shopID, campaignID, sendID string) (campaign.Recipient, error)
	// ChangeRecipient changes a recipient conditionally (campaign.ErrNotFound,
	// campaign.ErrStateChanged).
	ChangeRecipient(ctx context.Context, shopID, campaignID, sendID string, ch campaign.Change) (campaign.Recipient, error)
	// CountFeedback counts a campaign's hard bounce or complaint and
	// returns the campaign as counted (campaign.ErrNotFound).
	CountFeedback(ctx context.Context, shopID, campaignID, event string) (campaign.Campaign, error)
	// Campaign reads a campaign (campaign.ErrNotFound).
	Campaign(ctx context.Context, shopID, id string) (campaign.Campaign, error)
	// The safety valve's stop of the shop's sending, and the campaign
	// status it pauses (valve.Store).
	valve.Store
}

// Handler applies SES events. Log and Now may be nil (slog's default
// logger, time.Now).
type Handler struct {
	Store Store
	Log   *slog.Logger
	// Now stamps an event whose own time is missing.
	Now func() time.Time
}

// Source is the EventBridge source of SES's events.
const Source = "aws.ses"

// The tags the sender puts on every e-mail (SES EmailTags), which come
// back on each of its events.
const (
	TagShop     = "shop"
	TagCampaign = "campaign"
	TagSendID   = "send_id"
)

// SES event types (the detail's eventType) that the handler acts on.
const (
	TypeSend      = "Send"
	TypeDelivery  = "Delivery"
	TypeBounce    = "Bounce"
	TypeComplaint = "Complaint"
)

// BouncePermanent is the bounce type that suppresses the address
// ("Transient" and "Undetermined" do not).
const BouncePermanent = "Permanent"

// Record is the detail of an SES event on EventBridge: SES's event record.
// Only the fields the handler reads are decoded.
type Record struct {
	EventType string     `json:"eventType"`
	Mail      Mail       `json:"mail"`
	Bounce    *Bounce    `json:"bounce,omitempty"`
	Complaint *Complaint `json:"complaint,omitempty"`
	Delivery  *Delivery  `json:"delivery,omitempty"`
}

// Mail is the e-mail an event is about.
type Mail struct {
	// Timestamp is when SES accepted the e-mail (RFC 3339).
	Timestamp   string              `json:"timestamp"`
	MessageID   string              `json:"messageId"`
	Destination []string            `json:"destination"`
	Tags        map[string][]string `json:"tags"`
}

// Bounce is a bounce event's details.
type Bounce struct {
	BounceType        string      `json:"bounceType"`
	BounceSubType     string      `json:"bounceSubType"`
	BouncedRecipients []Addressee `json:"bouncedRecipients"`
	Timestamp         string      `json:"timestamp"`
}

// Complaint is a complaint event's details.
type Complaint struct {
	ComplainedRecipients  []Addressee `json:"complainedRecipients"`
	ComplaintFeedbackType string      `json:"complaintFeedbackType"`
	Timestamp             string      `json:"timestamp"`
}

// Delivery is a delivery event's details.
type Delivery struct {
	Timestamp string `json:"timestamp"`
}

// Addressee is one recipient address named by a bounce or complaint.
type Addressee struct {
	EmailAddress string `json:"emailAddress"`
}

// Handle applies one SES event. An event that is not SES's, not ours (no
// shop tag), of a shop that is gone, or malformed is logged and dropped:
// retrying cannot mend it. A store failure is returned, so that Lambda
// retries the asynchronous invocation; every change is idempotent.
// Addresses are never logged.
func (h *Handler) Handle(ctx context.Context, ev events.EventBridgeEvent) error {
	log := h.log().With("event_id", ev.ID, "detail_type", ev.DetailType)
	if ev.Source != Source {
		log.WarnContext(ctx, "not an SES event: dropped", "source", ev.Source)
		return nil
	}
	var rec Record
	if err := json.Unmarshal(ev.Detail, &rec); err != nil || rec.EventType == "" {
		log.WarnContext(ctx, "malformed SES event: dropped", "error", errString(err))
		return nil
	}
	log = log.With("event_type", rec.EventType, "message_id", rec.Mail.MessageID)
	shopID, ok := tag(rec.Mail.Tags, TagShop)
	if !ok {
		log.InfoContext(ctx, "SES event without our shop tag: ignored")
		return nil
	}
	log = log.With("shop_id", shopID)
	sh, err := h.Store.Shop(ctx, shopID)
	switch {
	case errors.Is(err, shop.ErrNotFound):
		log.WarnContext(ctx, "SES event of an unknown shop: ignored")
		return nil
	case err != nil:
		return fmt.Errorf("SES event %s: read shop %s: %w", ev.ID, shopID, err)
	}
	if err := h.suppress(ctx, log, sh, rec); err != nil {
		return fmt.Errorf("SES event %s of shop %s: %w", ev.ID, shopID, err)
	}
	if err := h.record(ctx, log, sh, rec); err != nil {
		return fmt.Errorf("SES event %s of shop %s: %w", ev.ID, shopID, err)
	}
	return nil
}

// suppress applies a permanent bounce or a complaint to the shop's
// suppressions: each address it names, never another shop's.
func (h *Handler) suppress(ctx context.Context, log *slog.Logger, sh shop.Shop, rec Record) error {
	var (
		reason string
		addrs  []Addressee
	)
	switch {
	case rec.EventType == TypeBounce && rec.Bounce != nil:
		log = log.With("bounce_type", rec.Bounce.BounceType, "bounce_sub_type", rec.Bounce.BounceSubType)
		if rec.Bounce.BounceType != BouncePermanent {
			log.InfoContext(ctx, "soft bounce: recorded, not suppressed")
			return nil
		}
		reason, addrs = store.SuppressBounce, rec.Bounce.BouncedRecipients
	case rec.EventType == TypeComplaint && rec.Complaint != nil:
		log = log.With("feedback_type", rec.Complaint.ComplaintFeedbackType)
		reason, addrs = store.SuppressComplaint, rec.Complaint.ComplainedRecipients
		if len(addrs) == 0 && len(rec.Mail.Destination) == 1 {
			// Our e-mails have one recipient: that is who complained.
			addrs = []Addressee{{EmailAddress: rec.Mail.Destination[0]}}
		}
	default:
		return nil
	}
	n := 0
	for _, a := range addrs {
		if a.EmailAddress == "" {
			continue
		}
		if err := h.Store.Suppress(ctx, sh, a.EmailAddress, reason); err != nil {
			return fmt.Errorf("suppress for %s: %w", reason, err)
		}
		n++
	}
	log.InfoContext(ctx, "addresses suppressed", "reason", reason, "addresses", n)
	return nil
}

// record notes the event on the campaign's recipient named by the mail's
// tags, and for a send or delivery settles a recipient still sending or in
// doubt as sent with SES's message id. A recipient holding another
// message id is left alone.
func (h *Handler) record(ctx context.Context, log *slog.Logger, sh shop.Shop, rec Record) error {
	event, at := h.event(rec)
	if event == "" {
		log.InfoContext(ctx, "SES event not recorded on recipients")
		return nil
	}
	campaignID, okC := tag(rec.Mail.Tags, TagCampaign)
	sendID, okS := tag(rec.Mail.Tags, TagSendID)
	if !okC && !okS {
		return nil
	}
	if !okC || !okS || !campaign.ValidSendID(sendID) {
		log.WarnContext(ctx, "SES event with malformed campaign tags: not recorded")
		return nil
	}
	log = log.With("campaign_id", campaignID, "send_id", sendID)
	r, err := h.Store.Recipient(ctx, sh.ID, campaignID, sendID)
	switch {
	case errors.Is(err, campaign.ErrNotFound):
		log.WarnContext(ctx, "SES event of an unknown recipient: not recorded")
		return nil
	case err != nil:
		return fmt.Errorf("read recipient %s of campaign %s: %w", sendID, campaignID, err)
	}
	if r.MessageID != "" && r.MessageID != rec.Mail.MessageID {
		log.WarnContext(ctx, "SES event of another message than the recipient's: not recorded", "recipient_message_id", r.MessageID)
		return nil
	}
	if rec.EventType == TypeSend || rec.EventType == TypeDelivery {
		ch := campaign.Change{From: []campaign.State{campaign.StateSending, campaign.StateInDoubt}, To: campaign.StateSent,
			MessageID: rec.Mail.MessageID, SentAt: parseTime(rec.Mail.Timestamp, at), Event: event, EventAt: at}
		_, err := h.Store.ChangeRecipient(ctx, sh.ID, campaignID, sendID, ch)
		switch {
		case err == nil:
			log.InfoContext(ctx, "recipient settled as sent from SES's event", "was", r.State)
			return nil
		case errors.Is(err, campaign.ErrNotFound):
			return nil
		case !errors.Is(err, campaign.ErrStateChanged):
			return fmt.Errorf("settle recipient %s of campaign %s: %w", sendID, campaignID, err)
		}
		// Already settled: the event is recorded below.
	}
	// A hard bounce or a complaint is counted for the safety valve by the
	// delivery of the event that records it first.
	counted := event == campaign.EventBounced || event == campaign.EventComplained
	_, err = h.Store.ChangeRecipient(ctx, sh.ID, campaignID, sendID, campaign.Change{Event: event, EventAt: at, NewEvent: counted})
	switch {
	case errors.Is(err, campaign.ErrNotFound):
		return nil
	case counted && errors.Is(err, campaign.ErrStateChanged):
		// Counted by an earlier delivery of this event, which may have
		// failed before the valve judged it: judge again, counting nothing.
		c, err := h.Store.Campaign(ctx, sh.ID, campaignID)
		if errors.Is(err, campaign.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read campaign %s: %w", campaignID, err)
		}
		return h.judge(ctx, log, c)
	case err != nil:
		return fmt.Errorf("record %s on recipient %s of campaign %s: %w", event, sendID, campaignID, err)
	case counted:
		return h.count(ctx, log, sh, campaignID, event)
	}
	return nil
}

// count counts a campaign's new hard bounce or complaint and lets the
// valve judge the campaign. A failure after the recipient recorded the
// event is retried by Lambda; the retry counts nothing (the event is
// recorded) but judges again (record). A count lost that way is found by
// the nightly step's valve, which counts from the recipients themselves.
func (h *Handler) count(ctx context.Context, log *slog.Logger, sh shop.Shop, campaignID, event string) error {
	c, err := h.Store.CountFeedback(ctx, sh.ID, campaignID, event)
	switch {
	case errors.Is(err, campaign.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("count %s of campaign %s: %w", event, campaignID, err)
	}
	return h.judge(ctx, log, c)
}

// judge is the safety valve while a campaign sends: when its hard bounces
// or complaints so far, over every e-mail it is to send, reach SES's
// review level (campaign.LiveReputation), the shop's sending stops and
// the campaign pauses. A campaign done sending is left to the nightly
// step, which judges the shop's last campaign only: a late complaint
// about an old campaign does not stop the shop.
func (h *Handler) judge(ctx context.Context, log *slog.Logger, c campaign.Campaign) error {
	if c.Status != campaign.StatusSelecting && c.Status != campaign.StatusSending || h.now().Sub(c.CreatedAt) > campaign.SendingWindow {
		return nil
	}
	rep, ok := campaign.LiveReputation(c)
	if !ok {
		return nil
	}
	_, err := valve.Judge(ctx, h.Store, log, c, rep, h.now(), []campaign.Campaign{c})
	return err
}

// event is the recipient event an SES event records ("" for none) and
// when it happened: the event's own time, else the e-mail's, else now.
func (h *Handler) event(rec Record) (string, time.Time) {
	fallback := parseTime(rec.Mail.Timestamp, h.now().UTC())
	switch rec.EventType {
	case TypeSend:
		return campaign.EventSent, fallback
	case TypeDelivery:
		if rec.Delivery != nil {
			return campaign.EventDelivered, parseTime(rec.Delivery.Timestamp, fallback)
		}
		return campaign.EventDelivered, fallback
	case TypeBounce:
		// SES's bounce rate counts hard bounces only; so does the
		// report's (and the safety valve's).
		if rec.Bounce != nil {
			event := campaign.EventSoftBounced
			if rec.Bounce.BounceType == BouncePermanent {
				event = campaign.EventBounced
			}
			return event, parseTime(rec.Bounce.Timestamp, fallback)
		}
		return campaign.EventSoftBounced, fallback
	case TypeComplaint:
		if rec.Complaint != nil {
			return campaign.EventComplained, parseTime(rec.Complaint.Timestamp, fallback)
		}
		return campaign.EventComplained, fallback
	}
	return "", time.Time{}
}

// tag is the single value of an SES tag.
func tag(tags map[string][]string, name string) (string, bool) {
	v := tags[name]
	if len(v) != 1 || v[0] == "" {
		return "", false
	}
	return v[0], true
}

// parseTime reads an SES timestamp (RFC 3339 with milliseconds), or
// gives def.
func parseTime(s string, def time.Time) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return def
	}
	return t.UTC()
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func errString(err error) string {
	if err == nil {
		return "no eventType"
	}
	return err.Error()
}
