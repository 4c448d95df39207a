package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/internal/sqslocal"
	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/runner"
	"github.com/winback/winback/shared/campaign/sender"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/mail"
	"github.com/winback/winback/shared/mail/ses"
	"github.com/winback/winback/shared/queue"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// DefaultUnsubscribeBase is where unsubscribe links point locally: the dev
// server (go run ./scripts/devserver), which serves the unsubscribe route.
const DefaultUnsubscribeBase = "http://127.0.0.1:8080"

const campaignRunHelp = `Runs win-back campaigns on the local stack, as AWS runs them after the
nightly job: selection records each shop's recipients (DynamoDB Local),
queues those to mail on the send queue (the SQS emulator, <table>-send),
and the sender (functions/send's handler) mails them through the SES
emulator, until the queue is drained. Open the SES emulator's web view
(SES_ENDPOINT, default http://127.0.0.1:8005) to read what was sent.

A campaign's id is its as-of day. Running it again resumes it, or does
nothing: nobody is ever mailed twice. --dry-run records what would be sent
under the campaign "<as-of>-dry", renders every e-mail, and sends nothing.

The clock: a campaign as of a day more than two days ago (a history such
as CDNOW) runs at 09:00 in the shop's zone on the next day, so that
contact times, coupon expiries and attribution fall in that history.

Environment: WINBACK_TABLE, DYNAMODB_ENDPOINT (default http://127.0.0.1:8000),
SQS_ENDPOINT (default http://127.0.0.1:8010), SES_ENDPOINT (default
http://127.0.0.1:8005).
`

// campaignRunCommand is "winback campaign run".
func campaignRunCommand(fs *flag.FlagSet) action {
	shopID := fs.String("shop", "", "run only this shop's campaign (default: every shop with a sender address)")
	asOf := fs.String("as-of", "", "select from the scores of this day, YYYY-MM-DD (default: each shop's latest finished nightly run)")
	dry := fs.Bool("dry-run", false, "select, record and render what would be sent; send nothing")
	unsub := fs.String("unsubscribe-url", DefaultUnsubscribeBase, "base URL of the unsubscribe links (the API's URL)")
	rate := fs.Float64("rate", 50, "e-mails per second handed to SES (its MaxSendRate)")
	return func(ctx context.Context, stdout io.Writer) error {
		if *asOf != "" {
			if _, err := time.Parse(time.DateOnly, *asOf); err != nil {
				return usageErrorf("--as-of %q is not a YYYY-MM-DD day", *asOf)
			}
		}
		if *rate <= 0 {
			return usageErrorf("--rate %v: want a positive number", *rate)
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		return runCampaigns(ctx, campaignOptions{ShopID: *shopID, AsOf: *asOf, DryRun: *dry, UnsubscribeBase: *unsub, Rate: *rate}, stdout, os.Stderr)
	}
}

type campaignOptions struct {
	ShopID, AsOf    string
	DryRun          bool
	UnsubscribeBase string
	Rate            float64
	// Now overrides the clock (tests, the demo).
	Now func() time.Time
	// Logs, when set, gets every log line of the handlers (JSON, all
	// levels); otherwise warnings and errors go to the progress writer.
	Logs io.Writer
}

// campaignSummary is what "winback campaign run" prints per shop.
type campaignSummary struct {
	Run    runner.Result    `json:"run"`
	Report *campaign.Report `json:"report,omitempty"`
	Error  string           `json:"error,omitempty"`
}

// runCampaigns runs the campaigns and drains the send queue through the
// sender.
func runCampaigns(ctx context.Context, o campaignOptions, stdout, progress io.Writer) error {
	st, err := localenv.Store(ctx)
	if err != nil {
		return err
	}
	logs := handlerLog(o.Logs, progress)
	var (
		q       *queue.Queue
		sendURL string
		dlqURL  string
	)
	if !o.DryRun {
		// The local run sends through the emulators: against a real table
		// it would mark real recipients sent that no real SES mailed. In
		// AWS the nightly job runs, resumes and measures campaigns.
		for _, ep := range []struct{ name, url string }{
			{"DYNAMODB_ENDPOINT", localenv.DynamoDBEndpoint()}, {"SQS_ENDPOINT", localenv.SQSEndpoint()}, {"SES_ENDPOINT", localenv.SESEndpoint()},
		} {
			if !localenv.Local(ep.url) {
				return fmt.Errorf("%s is %q: campaign run sends through the local emulators only (DynamoDB Local, the SQS and SES emulators); in AWS the nightly job runs and resumes campaigns (--dry-run works anywhere)", ep.name, ep.url)
			}
		}
		sqsc, err := localenv.SQS(ctx)
		if err != nil {
			return err
		}
		if sendURL, dlqURL, err = ensureWorkQueues(ctx, sqsc, localenv.Table()+"-send"); err != nil {
			return err
		}
		q = queue.New(sqsc, sendURL)
	}
	shops, err := campaignShops(ctx, st, o.ShopID)
	if err != nil {
		return err
	}
	send, err := newLocalSender(ctx, st, o, logs, dlqURL)
	if err != nil {
		return err
	}
	var failed int
	for _, sh := range shops {
		asOf, err := campaignDay(ctx, st, sh, o.AsOf)
		if err != nil {
			failed++
			fmt.Fprintf(progress, "campaign: shop %s: %v\n", sh.ID, err)
			continue
		}
		now := campaignClock(sh, asOf, o.Now)
		r := &runner.Runner{Store: st, Queue: q, Log: logs, Now: now}
		send.Now = now
		cfg, err := st.CampaignConfig(ctx, sh.ID)
		if err != nil {
			return err
		}
		if !o.DryRun && cfg.Settings.From == "" && o.ShopID == "" {
			fmt.Fprintf(progress, "campaign: shop %s: skipped, no sender address (winback shop configure --shop %s --from ...)\n", sh.ID, sh.ID)
			continue
		}
		opt := runner.Options{DryRun: o.DryRun, Render: send.CheckRender(ctx, sh, cfg)}
		t0 := time.Now()
		fmt.Fprintf(progress, "campaign: shop %s, campaign %s: selecting…\n", sh.ID, campaign.ID(asOf, o.DryRun))
		res, err := r.Run(ctx, sh.ID, asOf, opt)
		sum := campaignSummary{Run: res}
		if err != nil {
			failed++
			sum.Error = err.Error()
			fmt.Fprintf(progress, "campaign: shop %s: %v\n", sh.ID, err)
		} else {
			fmt.Fprintf(progress, "campaign: shop %s: %s customers examined, %d to mail, %d held out, %d recorded before, %d queued (%s)\n",
				sh.ID, thousands(int64(res.Customers)), res.Mailed, res.Holdout, res.Resumed, res.Queued, time.Since(t0).Round(time.Millisecond))
			if res.RenderErrors > 0 {
				fmt.Fprintf(progress, "campaign: shop %s: %d e-mail(s) fail to render, e.g. customers %s\n", sh.ID, res.RenderErrors, strings.Join(res.RenderFailed, ", "))
			}
		}
		if err == nil && !o.DryRun && res.Queued > 0 {
			if err := drainSendQueue(ctx, send, sendURL, res.Queued, progress); err != nil {
				return err
			}
		}
		if err == nil {
			rep, err := r.Measure(ctx, sh.ID, res.CampaignID)
			if err != nil {
				return err
			}
			sum.Report = &rep
		}
		if err := writeJSON(stdout, sum); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d shop(s) failed", failed, len(shops))
	}
	return nil
}

// handlerLog is the handlers' logger of a local run: every line to all
// when set, else warnings and errors to progress.
func handlerLog(all, progress io.Writer) *slog.Logger {
	if all != nil {
		return slog.New(slog.NewJSONHandler(all, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewJSONHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// openShop opens the local store and reads a shop of it.
func openShop(ctx context.Context, shopID string) (*store.Store, shop.Shop, error) {
	st, err := localenv.Store(ctx)
	if err != nil {
		return nil, shop.Shop{}, err
	}
	sh, err := st.Shop(ctx, shopID)
	if err != nil {
		return nil, shop.Shop{}, err // "shop <id>: not found"
	}
	return st, sh, nil
}

// campaignShops is the one shop asked for, or every shop.
func campaignShops(ctx context.Context, st *store.Store, shopID string) ([]shop.Shop, error) {
	if shopID != "" {
		sh, err := st.Shop(ctx, shopID)
		if err != nil {
			return nil, fmt.Errorf("shop %s: %w", shopID, err)
		}
		return []shop.Shop{sh}, nil
	}
	ids, err := st.ShopIDs(ctx)
	if err != nil {
		return nil, err
	}
	var out []shop.Shop
	for _, id := range ids {
		sh, err := st.Shop(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("shop %s: %w", id, err)
		}
		out = append(out, sh)
	}
	return out, nil
}

// campaignDay is the as-of day asked for, or the shop's latest scored day.
func campaignDay(ctx context.Context, st *store.Store, sh shop.Shop, asOf string) (string, error) {
	if asOf != "" {
		return asOf, nil
	}
	days, err := st.Days(ctx, sh, 1)
	if err != nil {
		return "", err
	}
	if len(days) == 0 {
		return "", errors.New("no scored day yet: run the nightly job first (winback nightly)")
	}
	return days[0].AsOf, nil
}

// campaignClock is the clock of a campaign as of asOf: real time, unless
// asOf is more than two days old, in which case the campaign runs from
// 09:00 of the next day in the shop's zone, as if then.
func campaignClock(sh shop.Shop, asOf string, override func() time.Time) func() time.Time {
	if override != nil {
		return override
	}
	day, _ := time.ParseInLocation(time.DateOnly, asOf, sh.Location())
	if time.Since(day) < 72*time.Hour {
		return time.Now
	}
	start := time.Now()
	at := day.AddDate(0, 0, 1).Add(9 * time.Hour)
	return func() time.Time { return at.Add(time.Since(start)) }
}

// drainSendQueue delivers the send queue to the sender until it is empty.
func drainSendQueue(ctx context.Context, s *localSender, url string, queued int, progress io.Writer) error {
	sqsc, err := localenv.SQS(ctx)
	if err != nil {
		return err
	}
	t0 := time.Now()
	poller := &sqslocal.Poller{
		Client: sqsc, QueueURL: url, Handler: s.Work,
		BatchSize: 10, Concurrency: 2, Region: emulator.Region,
	}
	stats, err := poller.Run(ctx)
	if err != nil {
		return fmt.Errorf("send queue: %w", err)
	}
	took := time.Since(t0)
	fmt.Fprintf(progress, "campaign: sender: %d of %d queued message(s) handled in %s (%.0f/s), %d delivered again after a failure\n",
		stats.Deleted, queued, took.Round(time.Millisecond), float64(stats.Deleted)/max(took.Seconds(), 1e-3), stats.Failed)
	return nil
}

const campaignPreviewHelp = `Renders the first e-mails of a shop's campaign to files, without sending:
for each, NAME.html, NAME.txt and NAME.json (subject, headers, recipient
ids; never an address). The recipients are those of the campaign of the
as-of day when it exists, else of its dry run, which is recorded first
when needed (a dry run reserves nothing and mails nobody).
`

// campaignPreviewCommand is "winback campaign preview".
func campaignPreviewCommand(fs *flag.FlagSet) action {
	shopID := fs.String("shop", "", "the shop's id (required)")
	asOf := fs.String("as-of", "", "the campaign's as-of day, YYYY-MM-DD (default: the shop's latest scored day)")
	limit := fs.Int("limit", 5, "how many e-mails to render (1-100)")
	out := fs.String("out", filepath.Join("out", "preview"), "directory to write the e-mails to")
	unsub := fs.String("unsubscribe-url", DefaultUnsubscribeBase, "base URL of the unsubscribe links")
	return func(ctx context.Context, stdout io.Writer) error {
		if *shopID == "" {
			return usageErrorf("--shop is required")
		}
		if *limit < 1 || *limit > 100 {
			return usageErrorf("--limit %d: want 1..100", *limit)
		}
		st, sh, err := openShop(ctx, *shopID)
		if err != nil {
			return err
		}
		day, err := campaignDay(ctx, st, sh, *asOf)
		if err != nil {
			return err
		}
		logs := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		o := campaignOptions{ShopID: sh.ID, AsOf: day, DryRun: true, UnsubscribeBase: *unsub}
		send, err := newLocalSender(ctx, st, o, logs, "")
		if err != nil {
			return err
		}
		now := campaignClock(sh, day, nil)
		send.Now = now
		id := campaign.ID(day, false)
		if _, err := st.Campaign(ctx, sh.ID, id); errors.Is(err, campaign.ErrNotFound) {
			id = campaign.ID(day, true)
			if _, err := st.Campaign(ctx, sh.ID, id); errors.Is(err, campaign.ErrNotFound) {
				r := &runner.Runner{Store: st, Log: logs, Now: now}
				if _, err := r.Run(ctx, sh.ID, day, runner.Options{DryRun: true}); err != nil {
					return err
				}
			} else if err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		cfg, err := st.CampaignConfig(ctx, sh.ID)
		if err != nil {
			return err
		}
		var recs []campaign.Recipient
		errEnough := errors.New("enough")
		err = st.Recipients(ctx, sh.ID, id, func(r campaign.Recipient) error {
			if r.Group != campaign.GroupMailed {
				return nil
			}
			recs = append(recs, r)
			if len(recs) == *limit {
				return errEnough
			}
			return nil
		})
		if err != nil && !errors.Is(err, errEnough) {
			return err
		}
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		var written []string
		for i, r := range recs {
			sum, err := st.Customer(ctx, sh, r.CustomerID)
			if err != nil {
				return fmt.Errorf("customer %s: %w", r.CustomerID, err)
			}
			e, err := send.Compose(ctx, sh, cfg, r, sum)
			if err != nil {
				return fmt.Errorf("campaign %s, customer %s: %w", id, r.CustomerID, err)
			}
			name := filepath.Join(*out, fmt.Sprintf("%s-%s-%02d-%s", sh.ID, id, i+1, r.SendID))
			meta := map[string]any{
				"shop_id": sh.ID, "campaign_id": id, "send_id": r.SendID, "customer_id": r.CustomerID,
				"kind": r.Kind, "percent": r.Percent, "coupon": r.Coupon, "expires_on": r.ExpiresOn,
				"subject": e.Subject, "headers": e.Headers, "tags": e.Tags,
			}
			mb, _ := json.MarshalIndent(meta, "", "  ")
			for ext, body := range map[string][]byte{".html": []byte(e.HTML), ".txt": []byte(e.Text), ".json": append(mb, '\n')} {
				if err := os.WriteFile(name+ext, body, 0o644); err != nil {
					return err
				}
			}
			written = append(written, name+".html")
		}
		return writeJSON(stdout, map[string]any{"campaign_id": id, "rendered": len(written), "files": written})
	}
}

// campaignReportCommand is "winback campaign report".
func campaignReportCommand(fs *flag.FlagSet) action {
	shopID := fs.String("shop", "", "the shop's id (required)")
	id := fs.String("campaign", "", "measure only this campaign (default: the shop's latest 20)")
	return func(ctx context.Context, stdout io.Writer) error {
		if *shopID == "" {
			return usageErrorf("--shop is required")
		}
		st, sh, err := openShop(ctx, *shopID)
		if err != nil {
			return err
		}
		ids := []string{*id}
		if *id == "" {
			cs, err := st.Campaigns(ctx, sh.ID, 20)
			if err != nil {
				return err
			}
			ids = ids[:0]
			for _, c := range cs {
				ids = append(ids, c.ID)
			}
		}
		var reps []campaign.Report
		for _, cid := range ids {
			c, err := st.Campaign(ctx, sh.ID, cid)
			if err != nil {
				return fmt.Errorf("campaign %s: %w", cid, err)
			}
			r := &runner.Runner{Store: st, Now: campaignReportClock(sh, c)}
			rep, err := r.Measure(ctx, sh.ID, cid)
			if err != nil {
				return err
			}
			reps = append(reps, rep)
		}
		return writeJSON(stdout, map[string]any{"shop_id": sh.ID, "campaigns": reps})
	}
}

// campaignReportClock measures a campaign of a past history (CDNOW) at the
// end of its attribution window, and a recent one now.
func campaignReportClock(sh shop.Shop, c campaign.Campaign) func() time.Time {
	day, _ := time.ParseInLocation(time.DateOnly, c.AsOf, sh.Location())
	if time.Since(day) < 72*time.Hour+time.Duration(c.Settings.AttributionWindowDays)*24*time.Hour {
		return time.Now
	}
	at := day.AddDate(0, 0, 1+c.Settings.AttributionWindowDays).Add(9 * time.Hour)
	return func() time.Time { return at }
}

// campaignCouponsCommand is "winback campaign coupons".
func campaignCouponsCommand(fs *flag.FlagSet) action {
	shopID := fs.String("shop", "", "the shop's id (required)")
	id := fs.String("campaign", "", "the campaign's id, its as-of day (required)")
	format := fs.String("format", "csv", "csv or json")
	return func(ctx context.Context, stdout io.Writer) error {
		if *shopID == "" || *id == "" {
			return usageErrorf("--shop and --campaign are required")
		}
		if *format != "csv" && *format != "json" {
			return usageErrorf("--format %q: want csv or json", *format)
		}
		st, err := localenv.Store(ctx)
		if err != nil {
			return err
		}
		if _, err := st.Campaign(ctx, *shopID, *id); err != nil {
			return fmt.Errorf("campaign %s of shop %s: %w", *id, *shopID, err)
		}
		type coupon struct {
			Code       string         `json:"code"`
			CustomerID string         `json:"customer_id"`
			Percent    int            `json:"percent"`
			ExpiresOn  string         `json:"expires_on"`
			Group      campaign.Group `json:"group"`
			State      campaign.State `json:"state"`
		}
		cs := []coupon{} // [] when there are none, as the API answers
		if err := st.Recipients(ctx, *shopID, *id, func(r campaign.Recipient) error {
			if r.Coupon != "" {
				cs = append(cs, coupon{r.Coupon, r.CustomerID, r.Percent, r.ExpiresOn, r.Group, r.State})
			}
			return nil
		}); err != nil {
			return err
		}
		sort.Slice(cs, func(i, j int) bool { return cs[i].Code < cs[j].Code })
		if *format == "json" {
			return writeJSON(stdout, map[string]any{"coupons": cs})
		}
		w := csv.NewWriter(stdout)
		w.Write([]string{"code", "customer_id", "percent", "expires_on", "group", "state"})
		for _, c := range cs {
			w.Write([]string{c.Code, c.CustomerID, strconv.Itoa(c.Percent), c.ExpiresOn, string(c.Group), string(c.State)})
		}
		w.Flush()
		return w.Error()
	}
}

const shopConfigureHelp = `Sets a shop's campaign settings (stored with the shop): only the flags
given change; the rest keep their stored value, or the documented default
(shared/campaign/RULES.md). The sender address (--from) is required before
anything is sent. --settings reads a JSON object of settings (the same
snake_case fields as printed) applied before the flags. A template is three
files (--subject-file, --html-file, --text-file; Go templates over the
fields in shared/mail) checked by rendering a sample e-mail before it is
stored; --default-template goes back to the built-in one. Prints the
stored configuration.
`

// shopConfigureCommand is "winback shop configure".
func shopConfigureCommand(fs *flag.FlagSet) action {
	shopID := fs.String("shop", "", "the shop's id (required)")
	settingsFile := fs.String("settings", "", "a JSON file of settings to apply")
	subjectFile := fs.String("subject-file", "", "the template's subject (text/template)")
	htmlFile := fs.String("html-file", "", "the template's HTML part (html/template)")
	textFile := fs.String("text-file", "", "the template's text part (text/template)")
	defaultTemplate := fs.Bool("default-template", false, "use the built-in template")
	from := fs.String("from", "", "the sender, e.g. 'Shop <news@shop.example>' (an address verified in SES)")
	holdout := fs.Float64("holdout-share", 0, "share of the selected held out, [0, 1)")
	capDays := fs.Int("frequency-cap-days", 0, "nobody is mailed twice within this many days, across campaigns (0: no cap)")
	floor := fs.Int64("value-floor", 0, "least value to be mailed, minor units")
	basis := fs.String("value-basis", "", "predicted, historic or either")
	bands := fs.String("risk-bands", "", "comma-separated churn bands that count as at risk (low, medium, high)")
	pAlive := fs.Float64("p-alive-below", 0, "also at risk: P(alive) below this (0: off)")
	repl := fs.Int("replenishment-window-days", 0, "replenishment reminder within this many days of the expected next order (0: off)")
	margin := fs.Float64("gross-margin", 0, "share of revenue kept before discount; caps the offer")
	expiry := fs.Int("coupon-expiry-days", 0, "a coupon is valid this many days after sending")
	window := fs.Int("attribution-window-days", 0, "an order this many days after the e-mail converts")
	return func(ctx context.Context, stdout io.Writer) error {
		if *shopID == "" {
			return usageErrorf("--shop is required")
		}
		st, sh, err := openShop(ctx, *shopID)
		if err != nil {
			return err
		}
		cfg, err := st.CampaignConfig(ctx, sh.ID)
		if err != nil {
			return err
		}
		if *settingsFile != "" {
			b, err := os.ReadFile(*settingsFile)
			if err != nil {
				return err
			}
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&cfg.Settings); err != nil {
				return fmt.Errorf("--settings %s: %w", *settingsFile, err)
			}
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		s := &cfg.Settings
		if set["from"] {
			s.From = *from
		}
		if set["holdout-share"] {
			s.HoldoutShare = *holdout
		}
		if set["frequency-cap-days"] {
			s.FrequencyCapDays = *capDays
		}
		if set["value-floor"] {
			s.ValueFloor = *floor
		}
		if set["value-basis"] {
			s.ValueBasis = *basis
		}
		if set["risk-bands"] {
			s.RiskBands = nil
			for _, b := range strings.Split(*bands, ",") {
				if b = strings.TrimSpace(b); b != "" {
					s.RiskBands = append(s.RiskBands, b)
				}
			}
		}
		if set["p-alive-below"] {
			s.PAliveBelow = *pAlive
		}
		if set["replenishment-window-days"] {
			s.ReplenishmentWindowDays = *repl
		}
		if set["gross-margin"] {
			s.GrossMargin = *margin
		}
		if set["coupon-expiry-days"] {
			s.CouponExpiryDays = *expiry
		}
		if set["attribution-window-days"] {
			s.AttributionWindowDays = *window
		}
		if err := s.Validate(); err != nil {
			return err
		}
		if s.From != "" {
			if _, err := s.Sender(); err != nil {
				return fmt.Errorf("--from: %w", err)
			}
		}
		parts := []*string{subjectFile, htmlFile, textFile}
		given := 0
		for _, p := range parts {
			if *p != "" {
				given++
			}
		}
		switch {
		case *defaultTemplate && given > 0:
			return usageErrorf("--default-template and template files exclude each other")
		case *defaultTemplate:
			cfg.Template = nil
		case given > 0 && given < 3:
			return usageErrorf("a template needs all three of --subject-file, --html-file and --text-file")
		case given == 3:
			var t campaign.Template
			for i, dst := range []*string{&t.Subject, &t.HTML, &t.Text} {
				b, err := os.ReadFile(*parts[i])
				if err != nil {
					return err
				}
				*dst = string(b)
			}
			if _, err := mail.Render(t, sampleMessage(sh)); err != nil {
				return fmt.Errorf("template: %w", err)
			}
			cfg.Template = &t
		}
		if err := st.PutCampaignConfig(ctx, sh.ID, cfg); err != nil {
			return err
		}
		return writeJSON(stdout, map[string]any{"shop_id": sh.ID, "settings": cfg.Settings, "template": templateName(cfg)})
	}
}

// sampleMessage is the data a new template is checked with.
func sampleMessage(sh shop.Shop) mail.MessageData {
	return mail.MessageData{
		ShopName: sh.Name, Kind: campaign.KindWinback, FirstName: "Ada",
		LastItems:      []mail.Item{{Title: "Sample item", Quantity: 1}},
		Offer:          mail.MessageOffer{Percent: 10, Coupon: "WB-7KQ2-M9XD", Expires: time.Now().AddDate(0, 0, 14)},
		UnsubscribeURL: DefaultUnsubscribeBase + "/v1/unsubscribe/sample",
	}
}

func templateName(c campaign.Config) string {
	if c.Template == nil {
		return "built-in"
	}
	return "custom"
}

// localSender is the sender as the local run wires it: the SES emulator,
// the send queue's dead-letter queue on the SQS emulator.
type localSender struct {
	*sender.Sender
}

// previewFrom stands in for a shop's sender address in previews and dry
// runs before it is configured (.invalid never resolves: RFC 2606).
const previewFrom = "Preview <preview@winback.invalid>"

// previewStore is the store as a preview sees it: a shop without a sender
// address yet gets previewFrom, so that its e-mails still render.
type previewStore struct {
	*store.Store
}

func (p previewStore) CampaignConfig(ctx context.Context, shopID string) (campaign.Config, error) {
	cfg, err := p.Store.CampaignConfig(ctx, shopID)
	if err == nil && cfg.Settings.From == "" {
		cfg.Settings.From = previewFrom
	}
	return cfg, err
}

// newLocalSender wires the sender to the local stack. A dry run or a
// preview gets no dead-letter queue and no mail service: it only renders.
func newLocalSender(ctx context.Context, st *store.Store, o campaignOptions, logs *slog.Logger, dlqURL string) (*localSender, error) {
	s := &sender.Sender{Store: st, UnsubscribeBase: o.UnsubscribeBase, Rate: o.Rate, Log: logs}
	if o.DryRun {
		s.Store = previewStore{st}
		return &localSender{s}, nil
	}
	sqsc, err := localenv.SQS(ctx)
	if err != nil {
		return nil, err
	}
	if localenv.SESEndpoint() == "" {
		return nil, errors.New("SES_ENDPOINT is empty: the local run mails through the SES emulator (make stack)")
	}
	s.Mail = ses.New(emulator.SESClient(localenv.SESEndpoint()), "")
	s.DeadLetters = queue.NewDeadLetters(sqsc, dlqURL)
	if err := s.Check(); err != nil {
		return nil, err
	}
	return &localSender{s}, nil
}

// CheckRender is the runner's render check: the e-mail as the sender would
// build it.
func (l *localSender) CheckRender(ctx context.Context, sh shop.Shop, _ campaign.Config) func(campaign.Recipient, customer.Summary) error {
	return func(r campaign.Recipient, sum customer.Summary) error {
		_, err := l.Sender.Compose(ctx, sh, r, sum)
		return err
	}
}

// Compose renders one recipient's e-mail.
func (l *localSender) Compose(ctx context.Context, sh shop.Shop, _ campaign.Config, r campaign.Recipient, sum customer.Summary) (mail.Email, error) {
	return l.Sender.Compose(ctx, sh, r, sum)
}
