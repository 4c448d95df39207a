package sender

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/valve"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/mail"
	"github.com/winback/winback/shared/metrics"
	"github.com/winback/winback/shared/shop"
)

// Store is what the sender reads and writes (store.Store, memstore.Store).
type Store interface {
	Shop(ctx context.Context, id string) (shop.Shop, error)
	Customer(ctx context.Context, sh shop.Shop, customerID string) (customer.Summary, error)
	Suppressed(ctx context.Context, sh shop.Shop, email string) (reason string, err error)
	AddressKey(ctx context.Context, sh shop.Shop, email string) (string, error)
	// TokenKeys are the kept unsubscribe-token keys, newest first (the
	// first made on first use).
	TokenKeys(ctx context.Context) (campaign.TokenKeys, error)
	CampaignConfig(ctx context.Context, shopID string) (campaign.Config, error)
	Campaign(ctx context.Context, shopID, id string) (campaign.Campaign, error)
	// SendingStop is the safety valve's stop of the shop's sending
	// (campaign.ErrNotFound: never stopped).
	SendingStop(ctx context.Context, shopID string) (campaign.Stop, error)
	SetCampaignStatus(ctx context.Context, shopID, id string, from []campaign.Status, to campaign.Status, reason string) (campaign.Campaign, error)
	Recipient(ctx context.Context, shopID, campaignID, sendID string) (campaign.Recipient, error)
	ChangeRecipient(ctx context.Context, shopID, campaignID, sendID string, ch campaign.Change) (campaign.Recipient, error)
}

// Mailer hands one e-mail to the mail service (ses.Mailer): an error
// matching mail.ErrThrottled, mail.ErrPaused or mail.ErrRejected means it
// was not accepted; any other error, that the outcome is unknown.
type Mailer interface {
	Send(ctx context.Context, e mail.Email) (messageID string, err error)
}

// DeadLetters keeps the messages that can never be handled, with why
// (queue.DeadLetters). Reasons carry ids, never an e-mail address.
type DeadLetters interface {
	Send(ctx context.Context, body, reason string) error
}

// Outcome is what handling one message did.
type Outcome string

// The outcomes. Handle returns an error exactly with OutcomeBusy,
// OutcomeDeferred, OutcomeThrottled, OutcomeUnknown, OutcomeUnrecorded and
// OutcomeError: the message must be delivered again.
const (
	// OutcomeSent: SES accepted the e-mail and the recipient is sent.
	OutcomeSent Outcome = "sent"
	// OutcomeSkipped: the customer may no longer be mailed (skipped).
	OutcomeSkipped Outcome = "skipped"
	// OutcomeFailed: the e-mail cannot be sent (failed, dead-lettered).
	OutcomeFailed Outcome = "failed"
	// OutcomeInDoubt: an abandoned claim was found: in_doubt for good.
	OutcomeInDoubt Outcome = "in_doubt"
	// OutcomeSettled: the recipient was already past sending (sent,
	// failed, skipped, in doubt, held out, a dry run's): nothing to do.
	OutcomeSettled Outcome = "settled"
	// OutcomeDryRun: the campaign is a dry run; nothing is sent.
	OutcomeDryRun Outcome = "dry_run"
	// OutcomeCampaignPaused: the campaign is paused; the recipient stays
	// queued for the run that resumes it.
	OutcomeCampaignPaused Outcome = "campaign_paused"
	// OutcomeCampaignClosed: the campaign is in a status that sends
	// nothing (neither selecting, sending nor paused).
	OutcomeCampaignClosed Outcome = "campaign_closed"
	// OutcomePaused: SES paused sending for the account; this message
	// paused the campaign and left its recipient queued.
	OutcomePaused Outcome = "paused"
	// OutcomeBadMessage: the message can never be handled (dead-lettered).
	OutcomeBadMessage Outcome = "bad_message"
	// OutcomeGone: the recipient is not stored (any more): the customer
	// was erased after selection, with their campaign trail.
	OutcomeGone Outcome = "gone"

	// OutcomeBusy: another sender holds the recipient's claim: retry.
	OutcomeBusy Outcome = "busy"
	// OutcomeDeferred: too little of the invocation is left to claim,
	// send and record (sendBudget); nothing was claimed: retry.
	OutcomeDeferred Outcome = "deferred"
	// OutcomeThrottled: SES throttled; the claim is released: retry.
	OutcomeThrottled Outcome = "throttled"
	// OutcomeUnknown: SES may have accepted the e-mail; the claim is
	// kept (it turns in_doubt after its lease): retry.
	OutcomeUnknown Outcome = "unknown"
	// OutcomeUnrecorded: SES accepted the e-mail but recording it failed;
	// the claim is kept: retry.
	OutcomeUnrecorded Outcome = "unrecorded"
	// OutcomeError: the store or the dead letters failed before anything
	// was sent: retry.
	OutcomeError Outcome = "error"
)

// Skip reasons (campaign.Recipient.Reason of a skipped recipient).
const (
	ReasonErased     = "erased"
	ReasonNoEmail    = "no_email"
	ReasonNoConsent  = "no_consent"
	ReasonSuppressed = "suppressed"
	// ReasonStale: the recipient was selected more than MaxSendDelay ago.
	ReasonStale = "stale"
	// ReasonOrderedSinceSelected: the customer placed a counted order
	// after the campaign selected them.
	ReasonOrderedSinceSelected = "ordered_since_selected"
)

// MaxSendDelay is the longest a recipient may wait between selection and
// sending (campaign.MaxSendDelay); an older one is skipped (ReasonStale).
const MaxSendDelay = campaign.MaxSendDelay

// ReasonAbandoned is the reason of a recipient found in doubt.
const ReasonAbandoned = "claim abandoned; SES may have accepted it"

// MetricSendingPaused is the winback_metric value of the ERROR logged
// when SES pauses sending: the alarm's filter matches it.
const MetricSendingPaused = "SendingPaused"

// ErrBusy means another sender holds the recipient's claim.
var ErrBusy = errors.New("recipient claimed by another sender")

// ErrNoTime means too little of the invocation is left to claim, send and
// record: the recipient was not claimed.
var ErrNoTime = errors.New("too little of the invocation left to send")

// Timing.
const (
	// sendTimeout bounds one SendEmail call, far within ClaimLease.
	sendTimeout = 30 * time.Second
	// recordTimeout bounds what is recorded after SES answered, whatever
	// happens to the invocation's context meanwhile.
	recordTimeout = 10 * time.Second
	// changeAttempts is how many times a conditional write is tried.
	changeAttempts = 3
	// cacheTTL is how long a shop, its configuration and a sending
	// campaign are reused; a paused campaign is always read again.
	cacheTTL = 10 * time.Second
	// claimMargin is what a claim needs besides SendEmail and its record:
	// the claim's own write, and slack.
	claimMargin = 5 * time.Second
	// sendBudget is the part of the invocation a claim needs to end: the
	// claim, one SendEmail and the record of SES's answer. No claim is
	// taken with less left: Lambda would kill the invocation mid-send and
	// leave the recipient in doubt.
	sendBudget = claimMargin + sendTimeout + recordTimeout
	// reserve is the part of an invocation in which no record is begun:
	// one begun later could take no claim.
	reserve = sendBudget
	// maxRounds bounds how often one message follows a recipient that
	// changed under it.
	maxRounds = 4
)

// DefaultConcurrency is how many records of a batch a Sender handles at
// once without a Concurrency.
const DefaultConcurrency = 4

// Sender hands queued recipients' e-mails to SES; Work is the send
// function's Lambda handler. Set the fields before the first call and do
// not change them afterwards; a Sender is safe for concurrent use.
type Sender struct {
	Store       Store
	Mail        Mailer
	DeadLetters DeadLetters
	// UnsubscribeBase is the absolute URL the unsubscribe links start
	// with ("https://api.example.com"; locally "http://127.0.0.1:8080").
	UnsubscribeBase string
	// Rate is how many e-mails per second this Sender hands to SES at
	// most (0: DefaultRate). With several instances, their rates add up.
	Rate float64
	// Concurrency is how many records of a batch run at once (0:
	// DefaultConcurrency).
	Concurrency int
	// Now stamps claims and sends, and decides leases (nil: time.Now).
	Now func() time.Time
	// Log receives one line per message (nil: discarded).
	Log *slog.Logger
	// MetricsNamespace is the namespace of the EmailsSent metric: a line
	// of Log per e-mail SES accepted ("": none).
	MetricsNamespace string
	// NewClaim returns a fresh claim id (nil: 16 random hex digits).
	NewClaim func() string

	initOnce sync.Once
	limit    *limiter

	mu        sync.Mutex
	keys      *campaign.TokenKeyring
	shops     map[string]entry[shop.Shop]
	configs   map[string]entry[campaign.Config]
	campaigns map[string]entry[campaign.Campaign]
	stops     map[string]entry[campaign.Stop]
}

type entry[T any] struct {
	v  T
	at time.Time
}

func (s *Sender) init() {
	s.initOnce.Do(func() {
		s.limit = newLimiter(s.Rate)
		s.keys = &campaign.TokenKeyring{Load: s.Store.TokenKeys, Now: s.now}
		s.shops = map[string]entry[shop.Shop]{}
		s.configs = map[string]entry[campaign.Config]{}
		s.campaigns = map[string]entry[campaign.Campaign]{}
		s.stops = map[string]entry[campaign.Stop]{}
	})
}

func (s *Sender) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Sender) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Sender) newClaim() string {
	if s.NewClaim != nil {
		return s.NewClaim()
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b) // documented never to fail
	return hex.EncodeToString(b)
}

// CurrentRate is the sending rate now, e-mails per second: Rate, or less
// after SES throttled.
func (s *Sender) CurrentRate() float64 {
	s.init()
	return s.limit.current()
}

// Check reports a Sender that cannot work: a missing port, a negative
// rate, an unsubscribe base that is not an absolute HTTPS URL without
// query (RFC 8058 wants HTTPS; plain HTTP is accepted on a loopback host,
// for the local dev server). The send function checks at start; Handle
// checks every message (a misconfigured sender retries, it fails no
// recipient).
func (s *Sender) Check() error {
	switch {
	case s.Store == nil || s.Mail == nil || s.DeadLetters == nil:
		return errors.New("sender: Store, Mail and DeadLetters are required")
	case s.Rate < 0 || s.Concurrency < 0:
		return errors.New("sender: negative Rate or Concurrency")
	}
	u, err := url.Parse(s.UnsubscribeBase)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		!(u.Scheme == "https" || u.Scheme == "http" && loopback(u.Hostname())) {
		return fmt.Errorf("sender: unsubscribe base %q is not an absolute https URL without query (http only on a loopback host)", s.UnsubscribeBase)
	}
	return nil
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Work is the send function's SQS handler. Records run in parallel, up to
// Concurrency; each that must be delivered again (Handle's error, or a
// dead letter that could not be written) is a batch item failure, never
// the whole batch. Records not begun when less than 45 s of the
// invocation remain (the time a claim needs to be sent and recorded) are
// failures too, delivered again later.
func (s *Sender) Work(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	s.init()
	n := s.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	failed := make([]bool, len(ev.Records))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, rec := range ev.Records {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			failed[i] = true
			continue
		}
		if ctx.Err() != nil || nearDeadline(ctx) {
			<-sem
			failed[i] = true
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			failed[i] = !s.record(ctx, rec)
		}()
	}
	wg.Wait()
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for i, f := range failed {
		if f {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
		}
	}
	return resp, nil
}

// nearDeadline reports whether less than reserve of the invocation is left.
func nearDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < reserve
}

// noTime says why a claim may not be taken now, when less than sendBudget
// of the invocation is left ("" when it may). The deadline is real time,
// whatever the Sender's clock.
func noTime(ctx context.Context) string {
	d, ok := ctx.Deadline()
	if left := time.Until(d); ok && left < sendBudget {
		return fmt.Sprintf("%s of the invocation left, %s needed to claim, send and record",
			left.Round(time.Millisecond), sendBudget)
	}
	return ""
}

// record handles one SQS record and reports whether it is done (to be
// deleted from the queue).
func (s *Sender) record(ctx context.Context, rec events.SQSMessage) (done bool) {
	defer func() {
		if p := recover(); p != nil {
			s.log().ErrorContext(ctx, "send message panicked", "message_id", rec.MessageId, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			done = false
		}
	}()
	if err := s.Check(); err != nil {
		s.log().ErrorContext(ctx, "send message", "message_id", rec.MessageId, "outcome", OutcomeError, "error", err.Error())
		return false
	}
	m, err := campaign.ParseSendMessage(rec.Body)
	if err != nil {
		reason := err.Error()
		s.log().ErrorContext(ctx, "send message", "message_id", rec.MessageId, "outcome", OutcomeBadMessage, "reason", reason)
		if err := s.DeadLetters.Send(ctx, rec.Body, reason); err != nil {
			s.log().ErrorContext(ctx, "dead letter not sent", "message_id", rec.MessageId, "error", err.Error())
			return false
		}
		return true
	}
	_, err = s.Handle(ctx, m)
	return err == nil
}

// job is one message being handled.
type job struct {
	m     campaign.SendMessage
	sh    shop.Shop
	c     campaign.Campaign
	r     campaign.Recipient
	claim string
	// addressKey is the store's key of the address mailed.
	addressKey string
	// reason is logged with the outcome.
	reason string
}

// Handle handles one message (the rules are the package's). Its error is
// non-nil exactly when the message must be delivered again.
func (s *Sender) Handle(ctx context.Context, m campaign.SendMessage) (Outcome, error) {
	s.init()
	t0 := time.Now()
	j := &job{m: m}
	out, err := s.handle(ctx, j)
	attrs := []any{"shop_id", m.ShopID, "campaign_id", m.CampaignID, "send_id", m.SendID}
	if j.r.CustomerID != "" {
		attrs = append(attrs, "customer_id", j.r.CustomerID, "state", j.r.State)
	}
	attrs = append(attrs, "outcome", out, "ms", time.Since(t0).Milliseconds())
	if j.reason != "" {
		attrs = append(attrs, "reason", j.reason)
	}
	level := slog.LevelInfo
	switch {
	case err != nil:
		attrs = append(attrs, "error", err.Error())
		level = slog.LevelWarn
		if out == OutcomeError || out == OutcomeUnrecorded {
			level = slog.LevelError
		}
	case out == OutcomeFailed || out == OutcomeBadMessage || out == OutcomePaused:
		level = slog.LevelError
	}
	s.log().Log(ctx, level, "send message", attrs...)
	return out, err
}

func (s *Sender) handle(ctx context.Context, j *job) (Outcome, error) {
	if err := s.Check(); err != nil {
		return OutcomeError, err
	}
	m := j.m
	sh, err := s.shop(ctx, m.ShopID)
	if errors.Is(err, shop.ErrNotFound) {
		return s.badMessage(ctx, j, "shop not found")
	}
	if err != nil {
		return OutcomeError, fmt.Errorf("shop %s: %w", m.ShopID, err)
	}
	c, err := s.campaign(ctx, m.ShopID, m.CampaignID)
	if errors.Is(err, campaign.ErrNotFound) {
		return s.badMessage(ctx, j, "campaign not found")
	}
	if err != nil {
		return OutcomeError, fmt.Errorf("campaign %s: %w", m.CampaignID, err)
	}
	if c.DryRun {
		return OutcomeDryRun, nil
	}
	r, err := s.Store.Recipient(ctx, m.ShopID, m.CampaignID, m.SendID)
	if errors.Is(err, campaign.ErrNotFound) {
		// The runner records a recipient before queuing it: it is gone
		// because the customer was erased since.
		j.reason = "recipient not found: erased"
		return OutcomeGone, nil
	}
	if err != nil {
		return OutcomeError, fmt.Errorf("recipient %s: %w", m.SendID, err)
	}
	j.sh, j.c, j.r = sh, c, r
	for range maxRounds {
		out, next, err := s.step(ctx, j)
		if next == nil {
			return out, err
		}
		j.r = *next
	}
	return OutcomeError, fmt.Errorf("recipient %s kept changing under the sender", m.SendID)
}

// badMessage dead-letters a message that can never be handled.
func (s *Sender) badMessage(ctx context.Context, j *job, reason string) (Outcome, error) {
	j.reason = reason
	if err := s.DeadLetters.Send(ctx, j.m.Body(), s.letter(j, reason)); err != nil {
		return OutcomeError, fmt.Errorf("dead letter: %w", err)
	}
	return OutcomeBadMessage, nil
}

// letter is a dead letter's reason: the ids, then why.
func (s *Sender) letter(j *job, reason string) string {
	ids := fmt.Sprintf("shop %s campaign %s send %s", j.m.ShopID, j.m.CampaignID, j.m.SendID)
	if j.r.CustomerID != "" {
		ids += " customer " + j.r.CustomerID
	}
	return ids + ": " + reason
}

// step acts on the recipient as it is now. next is the recipient as a
// conditional write found it, when it changed meanwhile: step again.
func (s *Sender) step(ctx context.Context, j *job) (Outcome, *campaign.Recipient, error) {
	r := j.r
	switch r.State {
	case campaign.StateQueued:
		return s.deliver(ctx, j)
	case campaign.StateSending:
		if s.now().Before(r.ClaimedAt.Add(campaign.ClaimLease)) {
			return OutcomeBusy, nil, fmt.Errorf("%w (claimed %s)", ErrBusy, r.ClaimedAt.UTC().Format(time.RFC3339))
		}
		j.reason = ReasonAbandoned
		cur, err := s.change(ctx, j, campaign.Change{
			From: []campaign.State{campaign.StateSending}, Claim: r.ClaimID,
			To: campaign.StateInDoubt, Reason: ReasonAbandoned,
		})
		if errors.Is(err, campaign.ErrStateChanged) {
			return "", &cur, nil
		}
		if err != nil {
			return OutcomeError, nil, err
		}
		j.r = cur
		return OutcomeInDoubt, nil, nil
	default:
		return OutcomeSettled, nil, nil
	}
}

// deliver takes a queued recipient to SES.
func (s *Sender) deliver(ctx context.Context, j *job) (Outcome, *campaign.Recipient, error) {
	switch j.c.Status {
	case campaign.StatusSelecting, campaign.StatusSending:
	case campaign.StatusPaused:
		return OutcomeCampaignPaused, nil, nil
	default:
		return OutcomeCampaignClosed, nil, nil
	}
	if stop, err := s.stop(ctx, j.m.ShopID); err != nil {
		return OutcomeError, nil, err
	} else if stop.InForce() {
		return s.stopped(ctx, j, stop)
	}
	sum, reason, err := s.customer(ctx, j)
	if err != nil {
		return OutcomeError, nil, err
	}
	if reason != "" {
		return s.settleQueued(ctx, j, campaign.StateSkipped, reason, OutcomeSkipped)
	}
	e, reason, err := s.compose(ctx, j, sum)
	if err != nil {
		return OutcomeError, nil, err
	}
	if reason != "" {
		out, next, err := s.settleQueued(ctx, j, campaign.StateFailed, reason, OutcomeFailed)
		if next == nil && err == nil {
			s.deadLetter(ctx, j, reason)
		}
		return out, next, err
	}

	// Pace before claiming, so that no claim waits for its turn; and claim
	// only with time left to send and record, or the claim could be
	// abandoned mid-send (in doubt for good). The limiter's wait can be
	// long after throttling: check before it and after it.
	if why := noTime(ctx); why != "" {
		j.reason = why
		return OutcomeDeferred, nil, fmt.Errorf("%w: %s", ErrNoTime, why)
	}
	if err := s.limit.wait(ctx); err != nil {
		return OutcomeError, nil, err
	}
	if why := noTime(ctx); why != "" {
		j.reason = why
		return OutcomeDeferred, nil, fmt.Errorf("%w: %s", ErrNoTime, why)
	}
	j.claim = s.newClaim()
	cur, err := s.change(ctx, j, campaign.Change{
		From: []campaign.State{campaign.StateQueued}, To: campaign.StateSending,
		NewClaim: j.claim, ClaimedAt: s.now(), AddressKey: j.addressKey,
	})
	if errors.Is(err, campaign.ErrStateChanged) {
		return "", &cur, nil
	}
	if err != nil {
		return OutcomeError, nil, fmt.Errorf("claim: %w", err)
	}
	j.r = cur

	sendCtx, cancel := context.WithTimeout(ctx, sendTimeout)
	id, err := s.Mail.Send(sendCtx, e)
	cancel()
	// What SES answered is recorded whatever becomes of ctx now.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	switch {
	case err == nil:
		return s.recordSent(rctx, j, id)
	case errors.Is(err, mail.ErrThrottled):
		j.reason = err.Error()
		rate := s.limit.throttled()
		s.log().WarnContext(ctx, "SES throttled: rate halved", "shop_id", j.m.ShopID, "campaign_id", j.m.CampaignID,
			"send_id", j.m.SendID, "rate", rate, "winback_metric", "SendThrottled")
		if err := s.release(rctx, j); err != nil {
			return OutcomeError, nil, err
		}
		return OutcomeThrottled, nil, fmt.Errorf("send: %w", err)
	case errors.Is(err, mail.ErrPaused):
		j.reason = err.Error()
		return s.pause(rctx, j, err)
	case errors.Is(err, mail.ErrRejected):
		reason := "rejected by SES: " + err.Error()
		j.reason = reason
		cur, err := s.change(rctx, j, campaign.Change{
			From: []campaign.State{campaign.StateSending}, Claim: j.claim,
			To: campaign.StateFailed, Reason: reason,
		})
		if errors.Is(err, campaign.ErrStateChanged) {
			return "", &cur, nil
		}
		if err != nil {
			return OutcomeError, nil, fmt.Errorf("record rejection: %w", err)
		}
		j.r = cur
		s.deadLetter(rctx, j, reason)
		return OutcomeFailed, nil, nil
	default:
		j.reason = "claim kept: SES may have accepted it"
		return OutcomeUnknown, nil, fmt.Errorf("send, outcome unknown: %w", err)
	}
}

// customer reads the recipient's customer and says why they may not be
// mailed now ("" if they may): what changed since the selection. The
// checks that read nothing come before the reads they spare.
func (s *Sender) customer(ctx context.Context, j *job) (customer.Summary, string, error) {
	if s.now().Sub(j.r.SelectedAt) > MaxSendDelay {
		return customer.Summary{}, ReasonStale, nil
	}
	sum, err := s.Store.Customer(ctx, j.sh, j.r.CustomerID)
	switch {
	case errors.Is(err, customer.ErrNotFound):
		return sum, ReasonErased, nil
	case err != nil:
		return sum, "", fmt.Errorf("customer %s: %w", j.r.CustomerID, err)
	case strings.TrimSpace(sum.Email) == "":
		return sum, ReasonNoEmail, nil
	case !sum.AcceptsMarketing:
		return sum, ReasonNoConsent, nil
	case sum.LastPurchase.After(j.r.SelectedAt):
		return sum, ReasonOrderedSinceSelected, nil
	}
	why, err := s.Store.Suppressed(ctx, j.sh, sum.Email)
	if err != nil {
		return sum, "", fmt.Errorf("suppression of customer %s: %w", j.r.CustomerID, err)
	}
	// The claim records which address is mailed (its salted hash), so that
	// an unsubscribe suppresses that address whatever the customer's
	// address becomes.
	if j.addressKey, err = s.Store.AddressKey(ctx, j.sh, sum.Email); err != nil {
		return sum, "", fmt.Errorf("address key of customer %s: %w", j.r.CustomerID, err)
	}
	if why != "" {
		return sum, ReasonSuppressed, nil
	}
	return sum, "", nil
}

// compose builds the recipient's e-mail, or says why it cannot be built
// (a reason the recipient fails with), or fails to read what it needs.
func (s *Sender) compose(ctx context.Context, j *job, sum customer.Summary) (mail.Email, string, error) {
	cfg, err := s.config(ctx, j.m.ShopID)
	if err != nil {
		return mail.Email{}, "", fmt.Errorf("campaign config: %w", err)
	}
	from, err := cfg.Settings.Sender()
	switch {
	case errors.Is(err, campaign.ErrNoSender):
		return mail.Email{}, "sender address: none configured (settings.from)", nil
	case err != nil:
		// The error quotes the address: say which setting instead.
		return mail.Email{}, "sender address: settings.from is not a valid address with a domain", nil
	}
	key, err := s.tokenKey(ctx)
	if err != nil {
		return mail.Email{}, "", fmt.Errorf("token key: %w", err)
	}
	r := j.r
	tok, err := campaign.SignToken(key, campaign.Token{
		ShopID: j.m.ShopID, CustomerID: r.CustomerID, CampaignID: j.m.CampaignID,
		Issued: s.now().In(j.sh.Location()).Format(time.DateOnly),
	})
	if err != nil {
		return mail.Email{}, "unsubscribe token: " + err.Error(), nil
	}
	unsubscribe := strings.TrimRight(s.UnsubscribeBase, "/") + "/v1/unsubscribe/" + tok
	data := mail.MessageData{
		ShopName:       j.sh.Name,
		Kind:           r.Kind,
		FirstName:      sum.FirstName,
		Offer:          mail.MessageOffer{Percent: r.Percent, Coupon: r.Coupon},
		UnsubscribeURL: unsubscribe,
	}
	for _, it := range sum.LastItems {
		data.LastItems = append(data.LastItems, mail.Item{Title: it.Title, Quantity: it.Quantity})
	}
	if r.Percent > 0 || r.ExpiresOn != "" {
		exp, err := time.Parse(time.DateOnly, r.ExpiresOn)
		if err != nil {
			return mail.Email{}, fmt.Sprintf("offer: expiry %q is not a YYYY-MM-DD day", r.ExpiresOn), nil
		}
		data.Offer.Expires = exp
	}
	tpl := mail.DefaultTemplate
	if cfg.Template != nil {
		tpl = *cfg.Template
	}
	msg, err := mail.Render(tpl, data)
	if err != nil {
		return mail.Email{}, "template: " + strings.ReplaceAll(err.Error(), tok, "TOKEN"), nil
	}
	e := mail.Email{
		From: from.String(), To: sum.Email,
		Subject: msg.Subject, HTML: msg.HTML, Text: msg.Text,
		Headers: []mail.Header{
			{Name: "List-Unsubscribe", Value: "<" + unsubscribe + ">"},
			{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"},
		},
		Tags: map[string]string{mail.TagShop: j.m.ShopID, mail.TagCampaign: j.m.CampaignID, mail.TagSendID: j.m.SendID},
	}
	if err := e.Validate(); err != nil {
		return mail.Email{}, "e-mail: " + err.Error(), nil
	}
	return e, "", nil
}

// settleQueued moves a queued recipient to skipped or failed for reason.
func (s *Sender) settleQueued(ctx context.Context, j *job, to campaign.State, reason string, out Outcome) (Outcome, *campaign.Recipient, error) {
	j.reason = reason
	cur, err := s.change(ctx, j, campaign.Change{From: []campaign.State{campaign.StateQueued}, To: to, Reason: reason})
	if errors.Is(err, campaign.ErrStateChanged) {
		return "", &cur, nil
	}
	if err != nil {
		return OutcomeError, nil, err
	}
	j.r = cur
	return out, nil, nil
}

// recordSent records what SES accepted.
func (s *Sender) recordSent(ctx context.Context, j *job, messageID string) (Outcome, *campaign.Recipient, error) {
	s.limit.sent()
	metrics.Emit(ctx, s.log(), s.MetricsNamespace, nil, metrics.Count(metrics.EmailsSent, 1))
	cur, err := s.change(ctx, j, campaign.Change{
		// in_doubt too: a claim overtaken by another sender's lease check
		// is still ours, and now we know.
		From:  []campaign.State{campaign.StateSending, campaign.StateInDoubt},
		Claim: j.claim, To: campaign.StateSent, MessageID: messageID, SentAt: s.now(),
	})
	switch {
	case err == nil:
		j.r = cur
		return OutcomeSent, nil, nil
	case errors.Is(err, campaign.ErrStateChanged) && cur.State == campaign.StateSent && cur.MessageID == messageID:
		j.r = cur // an SES event recorded it first
		return OutcomeSent, nil, nil
	case errors.Is(err, campaign.ErrStateChanged):
		// Not ours any more, and not this e-mail: should never happen.
		j.r = cur
		j.reason = "SES accepted message " + messageID + " of a recipient no longer claimed by this sender"
		s.log().ErrorContext(ctx, "sent e-mail not recorded", "shop_id", j.m.ShopID, "campaign_id", j.m.CampaignID,
			"send_id", j.m.SendID, "state", cur.State, "message_id", messageID)
		return OutcomeSent, nil, nil
	default:
		j.reason = "SES accepted message " + messageID + "; claim kept"
		return OutcomeUnrecorded, nil, fmt.Errorf("record sent: %w", err)
	}
}

// release gives a claim SES did not act on back to the queue.
func (s *Sender) release(ctx context.Context, j *job) error {
	cur, err := s.change(ctx, j, campaign.Change{
		From: []campaign.State{campaign.StateSending}, Claim: j.claim, To: campaign.StateQueued,
	})
	if err != nil {
		return fmt.Errorf("release claim: %w", err)
	}
	j.r = cur
	return nil
}

// pause stops the campaign after SES paused sending for the account.
func (s *Sender) pause(ctx context.Context, j *job, sesErr error) (Outcome, *campaign.Recipient, error) {
	if err := s.release(ctx, j); err != nil {
		return OutcomeError, nil, err
	}
	reason := "SES: " + sesErr.Error()
	_, err := s.Store.SetCampaignStatus(ctx, j.m.ShopID, j.m.CampaignID,
		[]campaign.Status{campaign.StatusSelecting, campaign.StatusSending}, campaign.StatusPaused, reason)
	if err != nil && !errors.Is(err, campaign.ErrStateChanged) {
		return OutcomeError, nil, fmt.Errorf("pause campaign: %w", err)
	}
	s.forgetCampaign(j.m.ShopID, j.m.CampaignID)
	s.log().ErrorContext(ctx, "SES paused sending: campaign paused", "winback_metric", MetricSendingPaused,
		"shop_id", j.m.ShopID, "campaign_id", j.m.CampaignID, "send_id", j.m.SendID, "error", sesErr.Error())
	return OutcomePaused, nil, nil
}

// stopped pauses the campaign of a shop whose sending the safety valve
// stopped (the nightly step pauses those sending when it trips; this is
// for one begun or resumed since); the recipient stays queued.
func (s *Sender) stopped(ctx context.Context, j *job, stop campaign.Stop) (Outcome, *campaign.Recipient, error) {
	_, err := s.Store.SetCampaignStatus(ctx, j.m.ShopID, j.m.CampaignID,
		[]campaign.Status{campaign.StatusSelecting, campaign.StatusSending}, campaign.StatusPaused, campaign.PausedBySafetyValve+stop.Reason)
	if err != nil && !errors.Is(err, campaign.ErrStateChanged) {
		return OutcomeError, nil, fmt.Errorf("pause campaign: %w", err)
	}
	s.forgetCampaign(j.m.ShopID, j.m.CampaignID)
	s.log().WarnContext(ctx, "the shop's sending is stopped by the safety valve: campaign paused", "shop_id", j.m.ShopID,
		"campaign_id", j.m.CampaignID, "send_id", j.m.SendID, "stopped_by", stop.CampaignID)
	return OutcomeCampaignPaused, nil, nil
}

// deadLetter sends a settled recipient's reason to the dead letters; the
// record holds the reason already, so a failure here is only logged.
func (s *Sender) deadLetter(ctx context.Context, j *job, reason string) {
	if err := s.DeadLetters.Send(ctx, j.m.Body(), s.letter(j, reason)); err != nil {
		s.log().ErrorContext(ctx, "dead letter not sent", "shop_id", j.m.ShopID, "campaign_id", j.m.CampaignID,
			"send_id", j.m.SendID, "customer_id", j.r.CustomerID, "reason", reason, "error", err.Error())
	}
}

// change applies a conditional change, trying again after an error that
// is not a refusal. A refusal after a failed attempt may be that attempt,
// applied after all: when the recipient is as the change would leave it
// (its claim, its message id), it is taken as done.
func (s *Sender) change(ctx context.Context, j *job, ch campaign.Change) (campaign.Recipient, error) {
	var last error
	for attempt := range changeAttempts {
		if attempt > 0 {
			if err := sleep(ctx, time.Duration(50<<attempt)*time.Millisecond); err != nil {
				return campaign.Recipient{}, errors.Join(last, err)
			}
		}
		cur, err := s.Store.ChangeRecipient(ctx, j.m.ShopID, j.m.CampaignID, j.m.SendID, ch)
		switch {
		case err == nil:
			return cur, nil
		case errors.Is(err, campaign.ErrStateChanged):
			if attempt > 0 && applied(cur, ch) {
				return cur, nil
			}
			return cur, err
		case errors.Is(err, campaign.ErrNotFound):
			return cur, err
		}
		last = err
	}
	return campaign.Recipient{}, fmt.Errorf("change recipient %s to %s: %w", j.m.SendID, ch.To, last)
}

// applied reports whether r is as ch leaves a recipient it applies to.
func applied(r campaign.Recipient, ch campaign.Change) bool {
	return (ch.To == "" || r.State == ch.To) &&
		(ch.NewClaim == "" || r.ClaimID == ch.NewClaim) &&
		(ch.Claim == "" || r.ClaimID == ch.Claim) &&
		(ch.MessageID == "" || r.MessageID == ch.MessageID)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// shop reads a shop, reusing it for cacheTTL.
func (s *Sender) shop(ctx context.Context, id string) (shop.Shop, error) {
	return cached(s, s.shops, id, func() (shop.Shop, error) { return s.Store.Shop(ctx, id) }, nil)
}

// config reads a shop's campaign configuration, reusing it for cacheTTL;
// a shop without one has campaign.DefaultConfig.
func (s *Sender) config(ctx context.Context, shopID string) (campaign.Config, error) {
	return cached(s, s.configs, shopID, func() (campaign.Config, error) {
		c, err := s.Store.CampaignConfig(ctx, shopID)
		if errors.Is(err, campaign.ErrNotFound) {
			return campaign.DefaultConfig(), nil
		}
		return c, err
	}, nil)
}

// stop reads the safety valve's stop of a shop's sending, reusing it for
// cacheTTL (zero when the shop was never stopped).
func (s *Sender) stop(ctx context.Context, shopID string) (campaign.Stop, error) {
	return cached(s, s.stops, shopID, func() (campaign.Stop, error) { return valve.Current(ctx, s.Store, shopID) }, nil)
}

// campaign reads a campaign, reusing it for cacheTTL while it sends: a
// paused campaign is read every time (a run may have resumed it).
func (s *Sender) campaign(ctx context.Context, shopID, id string) (campaign.Campaign, error) {
	return cached(s, s.campaigns, shopID+"\x00"+id, func() (campaign.Campaign, error) {
		return s.Store.Campaign(ctx, shopID, id)
	}, func(c campaign.Campaign) bool {
		return c.DryRun || c.Status == campaign.StatusSelecting || c.Status == campaign.StatusSending
	})
}

func (s *Sender) forgetCampaign(shopID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.campaigns, shopID+"\x00"+id)
}

// tokenKey is the newest token key, read again every
// campaign.TokenKeyTTL: a rotated key signs new links within it.
func (s *Sender) tokenKey(ctx context.Context) ([]byte, error) {
	s.init()
	keys, err := s.keys.Keys(ctx)
	if err != nil {
		return nil, err
	}
	return keys[0].Key, nil
}

// cached returns m[k] when it is younger than cacheTTL, else loads it and
// keeps it (when keep is nil or says so).
func cached[T any](s *Sender, m map[string]entry[T], k string, load func() (T, error), keep func(T) bool) (T, error) {
	now := s.now()
	s.mu.Lock()
	e, ok := m[k]
	s.mu.Unlock()
	if ok && !now.Before(e.at) && now.Sub(e.at) < cacheTTL {
		return e.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	if keep == nil || keep(v) {
		s.mu.Lock()
		m[k] = entry[T]{v: v, at: now}
		s.mu.Unlock()
	}
	return v, nil
}

// Compose builds the e-mail a recipient of a shop's campaign gets from the
// customer's summary, exactly as Handle would hand it to SES, without
// sending or recording anything: for previews and dry runs. An e-mail
// that cannot be built (no sender address, a template that fails) is an
// error saying why.
func (s *Sender) Compose(ctx context.Context, sh shop.Shop, r campaign.Recipient, sum customer.Summary) (mail.Email, error) {
	s.init()
	j := &job{m: campaign.SendMessage{ShopID: sh.ID, CampaignID: r.CampaignID, SendID: r.SendID}, sh: sh, r: r}
	e, reason, err := s.compose(ctx, j, sum)
	switch {
	case err != nil:
		return mail.Email{}, err
	case reason != "":
		return mail.Email{}, fmt.Errorf("campaign %s, customer %s: %s", r.CampaignID, r.CustomerID, reason)
	}
	return e, nil
}
