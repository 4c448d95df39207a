// Package runner runs a shop's win-back campaign of one day: it selects the
// shop's customers from their latest scores (campaign.Select), draws the
// holdout, sizes each offer and draws its coupon, records every selected
// customer (campaign.Recipient) and hands the ones to be mailed to the send
// queue, whose sender (package sender) mails each at most once. It also
// measures campaigns (campaign.Measure) and stores their reports.
//
// A run is resumable and idempotent: the campaign's id is its as-of day,
// a recipient's id is derived from (campaign, customer), and each record
// is a conditional write, so a run started twice, or killed and started
// again, finds what it recorded and goes on. The campaign records which
// shards are selected in full; a resumed run skips them. Each recipient is
// recorded before its message is sent, and the message is sent again for
// every queued recipient whenever a run resumes a campaign: a message
// delivered twice is harmless, because the sender claims the recipient
// before mailing.
package runner

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/valve"
	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
)

// Store is what a run reads and writes (store.Store, memstore.Store).
type Store interface {
	Shop(ctx context.Context, id string) (shop.Shop, error)
	Run(ctx context.Context, shopID, day string) (scores.Run, error)
	CampaignConfig(ctx context.Context, shopID string) (campaign.Config, error)
	BeginCampaign(ctx context.Context, c campaign.Campaign) (campaign.Campaign, error)
	Campaign(ctx context.Context, shopID, id string) (campaign.Campaign, error)
	Campaigns(ctx context.Context, shopID string, limit int) ([]campaign.Campaign, error)
	MarkCampaignShard(ctx context.Context, shopID, id string, shard int) error
	SetCampaignStatus(ctx context.Context, shopID, id string, from []campaign.Status, to campaign.Status, reason string) (campaign.Campaign, error)
	PutCampaignReport(ctx context.Context, shopID, id string, r campaign.Report) error
	AddRecipient(ctx context.Context, sh shop.Shop, r campaign.Recipient, capSince time.Time) (bool, error)
	Recipients(ctx context.Context, shopID, campaignID string, fn func(campaign.Recipient) error) error
	Contacts(ctx context.Context, sh shop.Shop, shard int, fn func(customerID string, at time.Time) error) error
	ScanShard(ctx context.Context, sh shop.Shop, n int, onSummary func(customer.Summary) error, onScore func(scores.Score) error) (capacity.Usage, error)
	SuppressionList(ctx context.Context, sh shop.Shop) (func(email string) string, error)
	Summaries(ctx context.Context, sh shop.Shop, ids []string) (map[string]customer.Summary, error)
	// SendingStop and StopSending read and set the safety valve's stop of
	// the shop's sending (campaign.Stop).
	SendingStop(ctx context.Context, shopID string) (campaign.Stop, error)
	StopSending(ctx context.Context, shopID string, stop campaign.Stop) (campaign.Stop, bool, error)
}

// Queue sends message bodies to the send queue (queue.Queue).
type Queue interface {
	Send(ctx context.Context, bodies []string) error
}

// Errors of a run.
var (
	// ErrNotScored: the nightly job has not finished the as-of day for the
	// shop, so there are no scores to select from.
	ErrNotScored = errors.New("the shop's scores of that day are not finished")
	// ErrNotSending: the campaign cannot send (a dry run's, or one begun
	// as a dry run).
	ErrNotSending = errors.New("campaign does not send")
	// ErrSendingStopped: the safety valve stopped the shop's sending
	// (campaign.Stop); an operator lifts it.
	ErrSendingStopped = errors.New("the shop's sending is stopped by the safety valve")
)

// Runner runs and measures campaigns.
type Runner struct {
	Store Store
	// Queue is the send queue; nil is allowed for dry runs only.
	Queue Queue
	Log   *slog.Logger
	// Now is the clock (nil: time.Now). A campaign's contact times and
	// coupon expiries come from it.
	Now func() time.Time
	// Rand is the coupon codes' random source (nil: crypto/rand); the
	// runner serialises its reads.
	Rand io.Reader
	// Parallel is how many shards are selected at once (0: 4).
	Parallel int

	randMu sync.Mutex
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (r *Runner) rand() io.Reader {
	if r.Rand != nil {
		return lockedReader{r: r.Rand, mu: &r.randMu}
	}
	return rand.Reader
}

// lockedReader lets the shards' goroutines share a Rand that need not be
// safe for concurrent use.
type lockedReader struct {
	r  io.Reader
	mu *sync.Mutex
}

func (l lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// Options are a run's choices.
type Options struct {
	// DryRun selects, records and renders nothing but what would be
	// sent: the recipients go to the campaign "<as-of>-dry" in state
	// dry_run, no contact is reserved, nothing is queued.
	DryRun bool
	// Render, when set, renders each e-mail to be sent (or, in a dry run,
	// that would be sent) from its recipient and customer; a failure is
	// counted in Result.RenderFailed and the recipient stays recorded (the
	// sender fails it in turn). The runner links no template engine: the
	// CLI passes the sender's renderer.
	Render func(campaign.Recipient, customer.Summary) error
}

// Result is what a run did.
type Result struct {
	ShopID     string          `json:"shop_id"`
	CampaignID string          `json:"campaign_id"`
	AsOf       string          `json:"as_of"`
	DryRun     bool            `json:"dry_run"`
	Status     campaign.Status `json:"status"`
	// Customers counts the customers examined in the shards selected by
	// this run (shards recorded by an earlier run are not examined again).
	Customers int `json:"customers"`
	// Reasons counts why examined customers were not selected.
	Reasons map[campaign.Reason]int `json:"not_selected"`
	// Selected counts the recipients this run recorded, by group; Resumed
	// those an earlier run had recorded already.
	Mailed  int `json:"mailed"`
	Holdout int `json:"holdout"`
	Resumed int `json:"resumed"`
	// Kinds counts the recipients this run recorded, by kind.
	Kinds map[campaign.Kind]int `json:"kinds"`
	// Offers counts the mailed recipients this run recorded, by percent.
	Offers map[int]int `json:"offers"`
	// Queued counts the messages handed to the send queue.
	Queued int `json:"queued"`
	// RenderFailed lists the customers whose e-mail failed to render
	// (at most 20, in shard order), RenderErrors counts them all.
	RenderFailed []string `json:"render_failed,omitempty"`
	RenderErrors int      `json:"render_errors"`
	// Shards and ShardsSkipped count the shards selected by this run and
	// those found selected already.
	Shards        int `json:"shards"`
	ShardsSkipped int `json:"shards_skipped"`
}

// maxListed bounds the customer ids a Result lists.
const maxListed = 20

func newResult(sh shop.Shop, c campaign.Campaign) Result {
	return Result{
		ShopID: sh.ID, CampaignID: c.ID, AsOf: c.AsOf, DryRun: c.DryRun,
		Reasons: map[campaign.Reason]int{}, Kinds: map[campaign.Kind]int{}, Offers: map[int]int{},
	}
}

func (res *Result) add(o Result) {
	res.Customers += o.Customers
	res.Mailed += o.Mailed
	res.Holdout += o.Holdout
	res.Resumed += o.Resumed
	res.Queued += o.Queued
	res.RenderErrors += o.RenderErrors
	for _, id := range o.RenderFailed {
		if len(res.RenderFailed) < maxListed {
			res.RenderFailed = append(res.RenderFailed, id)
		}
	}
	for k, v := range o.Reasons {
		res.Reasons[k] += v
	}
	for k, v := range o.Kinds {
		res.Kinds[k] += v
	}
	for k, v := range o.Offers {
		res.Offers[k] += v
	}
}

// Run runs the shop's campaign of the as-of day: begins it (or finds it),
// selects and records the shards not recorded yet, queues the recipients to
// mail, and stores a first report. A live run needs the shop's sender
// address (campaign.ErrNoSender) and the nightly job's finished scores of
// asOf (ErrNotScored). A paused campaign is resumed: its queued recipients
// are queued again.
func (r *Runner) Run(ctx context.Context, shopID, asOf string, opt Options) (Result, error) {
	if _, err := time.Parse(time.DateOnly, asOf); err != nil {
		return Result{}, fmt.Errorf("campaign of shop %s: as-of %q is not a YYYY-MM-DD day", shopID, asOf)
	}
	sh, err := r.Store.Shop(ctx, shopID)
	if err != nil {
		return Result{}, fmt.Errorf("campaign of shop %s: %w", shopID, err)
	}
	cfg, err := r.Store.CampaignConfig(ctx, shopID)
	if err != nil {
		return Result{}, fmt.Errorf("campaign of shop %s: read settings: %w", shopID, err)
	}
	if err := cfg.Settings.Validate(); err != nil {
		return Result{}, fmt.Errorf("campaign of shop %s: %w", shopID, err)
	}
	if !opt.DryRun {
		if _, err := cfg.Settings.Sender(); err != nil {
			return Result{}, fmt.Errorf("campaign of shop %s: %w (set it with: winback shop configure --shop %s --from 'Shop <news@shop.example>')", shopID, err, shopID)
		}
		if r.Queue == nil {
			return Result{}, fmt.Errorf("campaign of shop %s: no send queue", shopID)
		}
		if stop, err := valve.Current(ctx, r.Store, shopID); err != nil {
			return Result{}, err
		} else if stop.InForce() {
			return Result{}, fmt.Errorf("campaign of shop %s: %w since %s by campaign %s: %s (lift it with: winback shop resume-sending --shop %s)",
				shopID, ErrSendingStopped, stop.At.Format(time.DateOnly), stop.CampaignID, stop.Reason, shopID)
		}
	}
	run, err := r.Store.Run(ctx, shopID, asOf)
	if err != nil || !run.Done {
		return Result{}, fmt.Errorf("campaign of shop %s as of %s: %w (run the nightly job for that day first)", shopID, asOf, ErrNotScored)
	}
	now := r.now()
	c, err := r.Store.BeginCampaign(ctx, campaign.Campaign{
		ShopID: shopID, ID: campaign.ID(asOf, opt.DryRun), AsOf: asOf, DryRun: opt.DryRun,
		CreatedAt: now, Status: campaign.StatusSelecting, Settings: cfg.Settings, SplitBounces: true,
	})
	if err != nil {
		return Result{}, fmt.Errorf("campaign %s of shop %s: begin: %w", campaign.ID(asOf, opt.DryRun), shopID, err)
	}
	res := newResult(sh, c)
	log := r.log().With(slog.String("shop_id", shopID), slog.String("campaign_id", c.ID))

	// A campaign begun by an earlier run that died while selecting: its
	// recorded recipients may not all have been queued.
	resumed := !c.CreatedAt.Equal(now) || len(c.Shards) > 0
	if c.Status == campaign.StatusPaused && !c.DryRun && len(c.Shards) < sh.Shards {
		// Paused before its selection was recorded in full (a run died
		// while selecting, then SES or the safety valve paused it): finish
		// the selection, which then queues everything still queued.
		log.InfoContext(ctx, "resuming a campaign paused while selecting", slog.String("paused_reason", c.PausedReason))
		c, err = r.Store.SetCampaignStatus(ctx, shopID, c.ID, []campaign.Status{campaign.StatusPaused}, campaign.StatusSelecting, "")
		if err != nil && !errors.Is(err, campaign.ErrStateChanged) {
			return res, fmt.Errorf("campaign %s of shop %s: resume: %w", c.ID, shopID, err)
		}
	}
	if c.Status == campaign.StatusSelecting {
		if err := r.selectAll(ctx, sh, c, now, opt, &res, log); err != nil {
			return res, err
		}
		if resumed && !c.DryRun {
			if err := r.requeue(ctx, c, &res); err != nil {
				return res, err
			}
		}
		to := campaign.StatusSending
		if c.DryRun {
			to = campaign.StatusDone
		}
		c, err = r.Store.SetCampaignStatus(ctx, shopID, c.ID, []campaign.Status{campaign.StatusSelecting}, to, "")
		if err != nil && !errors.Is(err, campaign.ErrStateChanged) {
			return res, fmt.Errorf("campaign %s of shop %s: %w", c.ID, shopID, err)
		}
	} else {
		res.ShardsSkipped = sh.Shards
		if c.Status == campaign.StatusPaused && !c.DryRun {
			log.InfoContext(ctx, "resuming a paused campaign", slog.String("paused_reason", c.PausedReason))
			c, err = r.Store.SetCampaignStatus(ctx, shopID, c.ID, []campaign.Status{campaign.StatusPaused}, campaign.StatusSending, "")
			if err != nil && !errors.Is(err, campaign.ErrStateChanged) {
				return res, fmt.Errorf("campaign %s of shop %s: resume: %w", c.ID, shopID, err)
			}
		}
		if c.Status == campaign.StatusSending {
			if err := r.requeue(ctx, c, &res); err != nil {
				return res, err
			}
		}
	}
	res.Status = c.Status
	if _, err := r.Measure(ctx, shopID, c.ID); err != nil {
		return res, err
	}
	log.InfoContext(ctx, "campaign run", slog.String("outcome", string(c.Status)), slog.Int("customers", res.Customers),
		slog.Int("mailed", res.Mailed), slog.Int("holdout", res.Holdout), slog.Int("resumed", res.Resumed), slog.Int("queued", res.Queued))
	return res, nil
}

// selectAll selects the shards not recorded yet, Parallel at a time.
func (r *Runner) selectAll(ctx context.Context, sh shop.Shop, c campaign.Campaign, now time.Time, opt Options, res *Result, log *slog.Logger) error {
	suppressed, err := r.Store.SuppressionList(ctx, sh)
	if err != nil {
		return fmt.Errorf("campaign %s of shop %s: read suppressions: %w", c.ID, sh.ID, err)
	}
	var todo []int
	for n := range sh.Shards {
		if c.ShardDone(n) {
			res.ShardsSkipped++
		} else {
			todo = append(todo, n)
		}
	}
	par := r.Parallel
	if par <= 0 {
		par = 4
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan int)
	)
	for range min(par, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range next {
				part, err := r.selectShard(ctx, sh, c, n, now, suppressed, opt.Render)
				mu.Lock()
				res.add(part)
				if err == nil {
					res.Shards++
				} else if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, n := range todo {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		next <- n
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		log.ErrorContext(ctx, "campaign selection stopped", slog.String("error", firstErr.Error()))
	}
	return firstErr
}

// selectShard selects one shard's customers, records them, queues those to
// mail, and marks the shard.
func (r *Runner) selectShard(ctx context.Context, sh shop.Shop, c campaign.Campaign, n int, now time.Time, suppressed func(string) string, render func(campaign.Recipient, customer.Summary) error) (Result, error) {
	res := newResult(sh, c)
	fail := func(err error) (Result, error) {
		return res, fmt.Errorf("campaign %s of shop %s, shard %d: %w", c.ID, sh.ID, n, err)
	}
	contacts := map[string]time.Time{}
	if err := r.Store.Contacts(ctx, sh, n, func(id string, at time.Time) error {
		contacts[id] = at
		return nil
	}); err != nil {
		return fail(fmt.Errorf("read contacts: %w", err))
	}
	sums := map[string]customer.Summary{}
	scs := map[string]scores.Score{}
	if _, err := r.Store.ScanShard(ctx, sh, n,
		func(s customer.Summary) error { sums[s.CustomerID] = s; return nil },
		func(s scores.Score) error { scs[s.CustomerID] = s; return nil },
	); err != nil {
		return fail(fmt.Errorf("read customers: %w", err))
	}
	ids := make([]string, 0, len(sums))
	for id := range sums {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	today := now.In(sh.Location())
	capSince := noCap
	if d := c.Settings.FrequencyCapDays; d > 0 {
		capSince = now.Add(-time.Duration(d) * 24 * time.Hour)
	}
	var bodies []string
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		res.Customers++
		sum := sums[id]
		reason := ""
		if sum.Email != "" {
			reason = suppressed(sum.Email)
		}
		d := campaign.Select(campaign.CandidateOf(sum, scs[id], reason, contacts[id]), c.Settings, today)
		if !d.Selected() {
			res.Reasons[d.Reason]++
			continue
		}
		rec, err := r.recipient(sh, c, id, d, now)
		if err != nil {
			return fail(err)
		}
		created, err := r.record(ctx, sh, rec, capSince)
		switch {
		case errors.Is(err, campaign.ErrContacted):
			res.Reasons[campaign.ReasonFrequencyCap]++
			continue
		case err != nil:
			return fail(fmt.Errorf("record customer %s: %w", id, err))
		}
		if !created {
			res.Resumed++
		} else {
			res.Kinds[rec.Kind]++
			if rec.Group == campaign.GroupHoldout {
				res.Holdout++
			} else {
				res.Mailed++
				res.Offers[rec.Percent]++
			}
		}
		if render != nil && rec.Group == campaign.GroupMailed {
			if err := render(rec, sum); err != nil {
				res.RenderErrors++
				if len(res.RenderFailed) < maxListed {
					res.RenderFailed = append(res.RenderFailed, id)
				}
			}
		}
		// A recipient found recorded by an earlier run may still be queued
		// (the run died before queuing it): queue it again; the sender
		// ignores a recipient that is not queued any more.
		if rec.State == campaign.StateQueued {
			bodies = append(bodies, campaign.SendMessage{ShopID: sh.ID, CampaignID: c.ID, SendID: rec.SendID}.Body())
		}
	}
	if len(bodies) > 0 {
		if err := r.Queue.Send(ctx, bodies); err != nil {
			return fail(fmt.Errorf("queue: %w", err))
		}
		res.Queued += len(bodies)
	}
	if err := r.Store.MarkCampaignShard(ctx, sh.ID, c.ID, n); err != nil {
		return fail(fmt.Errorf("mark shard: %w", err))
	}
	return res, nil
}

// recipient is the record of a selected customer: the holdout draw, and
// for the mailed group the offer with its coupon and expiry.
func (r *Runner) recipient(sh shop.Shop, c campaign.Campaign, customerID string, d campaign.Decision, now time.Time) (campaign.Recipient, error) {
	rec := campaign.Recipient{
		ShopID: sh.ID, CampaignID: c.ID, SendID: campaign.SendID(c.ID, customerID), CustomerID: customerID,
		Group: campaign.GroupMailed, Kind: d.Kind, SelectedAt: now, State: campaign.StateQueued,
	}
	if campaign.InHoldout(customerID, c.HoldoutKey(), c.Settings.HoldoutShare) {
		rec.Group, rec.State = campaign.GroupHoldout, campaign.StateHeldOut
	}
	if c.DryRun {
		// Every recipient of a dry run, held out or not, is dry_run: it
		// reserves no contact.
		rec.State = campaign.StateDryRun
	}
	if rec.Group == campaign.GroupHoldout {
		return rec, nil
	}
	if d.Kind == campaign.KindWinback && d.Offer.Percent > 0 {
		code, err := campaign.NewCoupon(r.rand())
		if err != nil {
			return rec, fmt.Errorf("draw a coupon: %w", err)
		}
		rec.Percent, rec.Coupon = d.Offer.Percent, code
		rec.ExpiresOn = now.In(sh.Location()).AddDate(0, 0, c.Settings.CouponExpiryDays).Format(time.DateOnly)
	}
	return rec, nil
}

// noCap is the frequency cap's start when the cap is off (0 days): every
// earlier contact is before it, so none holds a customer back.
var noCap = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// maxCouponDraws bounds the draws for one recipient's coupon: with 2^40
// codes, a second clash in a row is already a one-in-10^6 event for a shop
// with a million live codes.
const maxCouponDraws = 8

// record records a recipient, drawing its coupon again when the code is
// taken.
func (r *Runner) record(ctx context.Context, sh shop.Shop, rec campaign.Recipient, capSince time.Time) (bool, error) {
	for draw := 1; ; draw++ {
		created, err := r.Store.AddRecipient(ctx, sh, rec, capSince)
		if !errors.Is(err, campaign.ErrCouponTaken) {
			return created, err
		}
		if draw == maxCouponDraws {
			return false, fmt.Errorf("%d coupon codes in a row were taken: %w", draw, err)
		}
		if rec.Coupon, err = campaign.NewCoupon(r.rand()); err != nil {
			return false, fmt.Errorf("draw a coupon: %w", err)
		}
	}
}

// requeue queues every queued recipient of a sending campaign again.
func (r *Runner) requeue(ctx context.Context, c campaign.Campaign, res *Result) error {
	var bodies []string
	err := r.Store.Recipients(ctx, c.ShopID, c.ID, func(rec campaign.Recipient) error {
		if rec.State == campaign.StateQueued {
			bodies = append(bodies, campaign.SendMessage{ShopID: c.ShopID, CampaignID: c.ID, SendID: rec.SendID}.Body())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("campaign %s of shop %s: read recipients: %w", c.ID, c.ShopID, err)
	}
	if len(bodies) == 0 {
		return nil
	}
	if r.Queue == nil {
		return fmt.Errorf("campaign %s of shop %s: %d recipients to queue and no send queue", c.ID, c.ShopID, len(bodies))
	}
	if err := r.Queue.Send(ctx, bodies); err != nil {
		return fmt.Errorf("campaign %s of shop %s: queue: %w", c.ID, c.ShopID, err)
	}
	res.Queued += len(bodies)
	return nil
}

// Measure measures a campaign from its recipients and their customers'
// orders now, and stores the report.
func (r *Runner) Measure(ctx context.Context, shopID, campaignID string) (campaign.Report, error) {
	fail := func(err error) (campaign.Report, error) {
		return campaign.Report{}, fmt.Errorf("measure campaign %s of shop %s: %w", campaignID, shopID, err)
	}
	sh, err := r.Store.Shop(ctx, shopID)
	if err != nil {
		return fail(err)
	}
	c, err := r.Store.Campaign(ctx, shopID, campaignID)
	if err != nil {
		return fail(err)
	}
	var recs []campaign.Recipient
	if err := r.Store.Recipients(ctx, shopID, campaignID, func(rec campaign.Recipient) error {
		recs = append(recs, rec)
		return nil
	}); err != nil {
		return fail(err)
	}
	if len(recs) == 0 && c.Report != nil && c.Report.Selected > 0 {
		// Its recipients expired (sendRetentionDays): the stored report
		// is the last that could be measured; keep it.
		return *c.Report, nil
	}
	purchases := map[string][]campaign.Purchase{}
	var ids []string
	for _, rec := range recs {
		if _, ok := rec.Contact(); ok {
			ids = append(ids, rec.CustomerID)
		}
	}
	for len(ids) > 0 {
		k := min(len(ids), 1000)
		sums, err := r.Store.Summaries(ctx, sh, ids[:k])
		if err != nil {
			return fail(err)
		}
		for id, s := range sums {
			purchases[id] = campaign.PurchasesOf(s)
		}
		ids = ids[k:]
	}
	rep := campaign.Measure(c, recs, purchases, sh.Currency, r.now())
	if err := r.Store.PutCampaignReport(ctx, shopID, campaignID, rep); err != nil {
		return fail(err)
	}
	return rep, nil
}

// remeasureDays is how long after its attribution window ends a campaign
// is still measured each night: late refunds and late reconciled sends
// still move its figures for a while.
const remeasureDays = 7

// resumeDays is how long after its as-of day a campaign is still resumed
// by the nightly step (a paused one, or queued recipients whose messages
// were lost or dead-lettered after repeated throttling): the sender skips
// a recipient selected longer ago than sender.MaxSendDelay anyway.
const resumeDays = 3

// Nightly is the nightly job's campaign step for a shop whose night is
// done (stages.Campaigns):
//
//   - it runs the campaign of asOf when the shop has a sender address
//     (without one, campaigns are off) and asOf is recent: a backfill or a
//     forced rerun of an old day scores it but never mails anybody;
//   - it resumes the shop's campaigns of the last few days: a paused one
//     goes back to sending, and the recipients still queued are queued
//     again (a message delivered twice is harmless);
//   - it measures the campaigns whose attribution window, plus a week, is
//     still open, first: the last of them that mailed anything feeds the
//     safety valve (valve.Judge), and while the shop's sending is stopped
//     nothing is resumed or run.
func (r *Runner) Nightly(ctx context.Context, shopID, asOf string) error {
	day, err := time.Parse(time.DateOnly, asOf)
	if err != nil {
		return fmt.Errorf("campaign of shop %s: as-of %q is not a YYYY-MM-DD day", shopID, asOf)
	}
	cfg, err := r.Store.CampaignConfig(ctx, shopID)
	if err != nil {
		return fmt.Errorf("campaign of shop %s: read settings: %w", shopID, err)
	}
	log := r.log().With(slog.String("shop_id", shopID), slog.String("as_of", asOf))
	recent := r.now().Sub(day) < resumeDays*24*time.Hour
	cs, err := r.Store.Campaigns(ctx, shopID, 60)
	if err != nil {
		return fmt.Errorf("campaigns of shop %s: %w", shopID, err)
	}
	// Measure first: the safety valve reads the last campaign's figures
	// before anything is resumed or sent.
	var (
		open   []campaign.Campaign
		last   *campaign.Campaign
		report campaign.Report
	)
	for _, c := range cs {
		cday, err := time.Parse(time.DateOnly, c.AsOf)
		if err != nil || c.DryRun {
			continue
		}
		if day.Sub(cday) > time.Duration(c.Settings.AttributionWindowDays+remeasureDays)*24*time.Hour {
			continue
		}
		rep := campaign.Report{}
		if c.ID == asOf && recent {
			// Today's is run and measured by Run below.
			if c.Report != nil {
				rep = *c.Report
			}
		} else if rep, err = r.Measure(ctx, shopID, c.ID); err != nil {
			return err
		}
		if last == nil && rep.Mailed > 0 {
			last, report = &c, rep
		}
		if r.now().Sub(cday) < resumeDays*24*time.Hour {
			open = append(open, c)
		}
	}
	stop, err := valve.Current(ctx, r.Store, shopID)
	if last != nil {
		// The valve pauses the shop's campaigns still sending.
		rep := campaign.ReputationOf(report)
		if !last.SplitBounces {
			rep.Bounced = 0 // counted soft bounces too: judge its complaints only
		}
		stop, err = valve.Judge(ctx, r.Store, log, *last, rep, r.now(), cs)
	}
	if err != nil {
		return err
	}
	switch {
	case cfg.Settings.From == "":
		log.InfoContext(ctx, "campaigns are off: the shop has no sender address", slog.String("outcome", "skipped"))
		return nil
	case stop.InForce():
		log.WarnContext(ctx, "no campaign: the safety valve stopped the shop's sending", slog.String("outcome", "stopped"),
			slog.String("stopped_by", stop.CampaignID), slog.String("reason", stop.Reason))
		return nil
	}
	for _, c := range open {
		if c.ID == asOf && recent {
			continue // Run resumes it
		}
		if err := r.resume(ctx, c, log); err != nil {
			return err
		}
	}
	if !recent {
		log.InfoContext(ctx, "no campaign for a past day (a backfill or a forced rerun)", slog.String("outcome", "skipped"))
		return nil
	}
	_, err = r.Run(ctx, shopID, asOf, Options{})
	return err
}

// resume puts a paused campaign back to sending and queues its still
// queued recipients again.
func (r *Runner) resume(ctx context.Context, c campaign.Campaign, log *slog.Logger) error {
	if c.Status == campaign.StatusPaused && !c.DryRun {
		sh, err := r.Store.Shop(ctx, c.ShopID)
		if err != nil {
			return fmt.Errorf("campaign %s of shop %s: resume: %w", c.ID, c.ShopID, err)
		}
		if len(c.Shards) < sh.Shards {
			// Paused while selecting: Run finishes the selection.
			_, err := r.Run(ctx, c.ShopID, c.AsOf, Options{})
			return err
		}
	}
	if c.Status == campaign.StatusPaused {
		log.InfoContext(ctx, "resuming a paused campaign", slog.String("campaign_id", c.ID), slog.String("paused_reason", c.PausedReason))
		var err error
		c, err = r.Store.SetCampaignStatus(ctx, c.ShopID, c.ID, []campaign.Status{campaign.StatusPaused}, campaign.StatusSending, "")
		if err != nil && !errors.Is(err, campaign.ErrStateChanged) {
			return fmt.Errorf("campaign %s of shop %s: resume: %w", c.ID, c.ShopID, err)
		}
	}
	if c.Status != campaign.StatusSending || r.Queue == nil {
		return nil
	}
	var res Result
	return r.requeue(ctx, c, &res)
}
