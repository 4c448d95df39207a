package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	imgpng "image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/winback/winback/internal/browser"
	"github.com/winback/winback/internal/demoshop"
	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/scripts/internal/devapi"
	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/scripts/internal/shopreport"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/feedback"
	"github.com/winback/winback/shared/campaign/runner"
	"github.com/winback/winback/shared/nightly"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// loopOptions are the demo's choices.
type loopOptions struct {
	Customers int
	Seed      int64
	// Today is the demo's "today" (midnight ending it, in the shop's
	// zone): the history ends there, the campaign selects from its scores.
	Today time.Time
	// Nights is how many weekly nightly runs build the KPI history
	// before Today (Today's included).
	Nights int
	// ForwardDays are played forward after the campaign.
	ForwardDays int
	// Out is where report.html, report.json and emails.json go.
	Out string
	// Screenshot, when set, is where the report's screenshot goes (PNG).
	Screenshot string
	// Rate is the sender's e-mails per second.
	Rate float64
	// Logs, when set, gets every log line of every handler of the loop
	// (JSON, all levels), for the test that checks what they say.
	Logs io.Writer
}

// loopResult is what the demo leaves, for the end-to-end test.
type loopResult struct {
	Shop        shop.Shop
	APIKey      string
	Report      *shopreport.Report
	Files       []string
	Mailed      int
	Held        int
	Emails      int
	Posted      postStats
	Unsubscribe string // the address key's customer who unsubscribed
	Bounced     string // the customer whose e-mail bounced
	// History is the generated shop, WebhookSecret its Shopify secret.
	History       *demoshop.History
	WebhookSecret string
}

// demoLocation is the demo shop's zone.
const demoLocation = "Europe/Berlin"

// runLoop runs the whole retention loop on the local stack: a shop and its
// two-year history through the HTTP API, the nightly job over the last
// weeks, the win-back campaign through the SQS and SES emulators, SES's
// events, the following weeks played forward, the nightly job again, the
// campaign measured, and the report.
func runLoop(ctx context.Context, o loopOptions, out io.Writer) (*loopResult, error) {
	t0 := time.Now()
	st, err := localenv.Store(ctx)
	if err != nil {
		return nil, err
	}
	// All three emulators answer before anything is created: a dead one
	// found half-way would leave a half-built shop.
	if err := checkStack(ctx); err != nil {
		return nil, err
	}
	if err := clearSESStore(ctx); err != nil {
		return nil, err
	}
	sh, cred, err := newShop("Tea & Co. (demo)", "EUR", demoLocation, 16, o.Today)
	if err != nil {
		return nil, err
	}
	sh.ShopifyDomain = demoshop.ShopDomain
	if err := st.CreateShop(ctx, sh, cred); err != nil {
		return nil, err
	}
	res := &loopResult{Shop: sh, APIKey: cred.APIKey, WebhookSecret: cred.WebhookSecret}
	logs := handlerLog(o.Logs, io.Discard)
	srv, base, err := serveAPI(st, logs)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	step := func(n int, title string) {
		fmt.Fprintf(out, "\n== %d. %s  [%s]\n", n, title, fmtDur(time.Since(t0)))
	}

	step(1, "A shop and its two years of orders")
	loc := sh.Location()
	today := o.Today.In(loc)
	h, err := demoshop.Generate(demoshop.Config{Seed: o.Seed, Customers: o.Customers, End: today, Location: loc})
	if err != nil {
		return nil, err
	}
	res.History = h
	fmt.Fprintf(out, "   shop %s (%s, %s), Shopify domain %s\n   API key %s (local only; also in %s)\n",
		sh.ID, sh.Currency, sh.Timezone, sh.ShopifyDomain, cred.APIKey, filepath.Join(o.Out, "shop.json"))
	if err := writeShopFile(o.Out, sh, cred.APIKey, cred.WebhookSecret); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "   generated %s customers (the truth as of %s: %s) and %s events (%s)\n",
		thousands(int64(len(h.Customers))), today.Format(time.DateOnly), counted(h.Segments()), thousands(int64(len(h.Events))), counted(demoshop.CountKinds(h.Events)))
	c := &poster{base: base, apiKey: cred.APIKey, secret: cred.WebhookSecret, shopID: sh.ID, out: out}
	// The history goes in up to the first night's day, then each week's
	// orders before that week's night: every night sees the shop as it was.
	nights := make([]time.Time, 0, o.Nights)
	for i := o.Nights - 1; i >= 0; i-- {
		nights = append(nights, today.AddDate(0, 0, -7*i)) // the midnight ending the scored day
	}
	head := eventsBefore(h.Events, nights[0])
	fmt.Fprintf(out, "   posting them in time order to %s: the API's orders in batches of 100, the Shopify customers' as signed webhooks\n", base)
	if err := c.post(ctx, head, "history"); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "   %s\n", c.stats)

	weeks := "the last week"
	if o.Nights > 2 {
		weeks = fmt.Sprintf("the last %d weeks", o.Nights-1)
	}
	if o.Nights == 1 {
		weeks = "the last day"
	}
	step(2, "The nightly job over "+weeks+" (planner, SQS emulator, worker), each week's orders posted before its night")
	posted := len(head)
	for _, night := range nights {
		batch := eventsBefore(h.Events, night)[posted:]
		posted += len(batch)
		if err := c.post(ctx, batch, "week"); err != nil {
			return nil, err
		}
		if err := demoNight(ctx, st, sh, night.AddDate(0, 0, -1).Format(time.DateOnly), o.Logs, out); err != nil {
			return nil, err
		}
	}
	res.Posted = c.stats
	fmt.Fprintf(out, "   the whole history: %s\n", c.stats)
	asOf := today.AddDate(0, 0, -1).Format(time.DateOnly)

	step(3, "The win-back campaign of "+asOf+": selection → send queue (SQS emulator) → sender → SES emulator")
	cfg := campaign.DefaultConfig()
	cfg.Settings.From = "Tea & Co. <news@tea-and-co.example>"
	// A tea shop's orders are small (about €38): its discount ladder
	// starts at a predicted CLV of €5, not the defaults' €50: the customers slipping away are worth little more over the next year.
	cfg.Settings.Tiers = []campaign.Tier{{MinValue: 0}, {MinValue: 500, Percent: 10, Uplift: 0.03}, {MinValue: 1500, Percent: 15, Uplift: 0.04}, {MinValue: 4000, Percent: 20, Uplift: 0.05}}
	if err := st.PutCampaignConfig(ctx, sh.ID, cfg); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "   configured as by: winback shop configure --shop %s --from 'Tea & Co. <news@tea-and-co.example>' --settings FILE (offer tiers from a predicted CLV of €5/€15/€40)\n", sh.ID)
	sentAt := today.Add(9 * time.Hour)
	var sum bytes.Buffer
	clock := func() time.Time { return sentAt }
	if err := runCampaigns(ctx, campaignOptions{ShopID: sh.ID, AsOf: asOf, UnsubscribeBase: DefaultUnsubscribeBase, Rate: o.Rate, Now: clock, Logs: o.Logs}, &sum, out); err != nil {
		return nil, err
	}
	var first campaignSummary
	if err := json.Unmarshal(sum.Bytes(), &first); err != nil {
		return nil, err
	}
	r := first.Run
	res.Mailed, res.Held = r.Mailed, r.Holdout
	fmt.Fprintf(out, "   %s customers examined; not selected: %s\n", thousands(int64(r.Customers)), reasons(r.Reasons))
	fmt.Fprintf(out, "   selected %d: %d to mail (%d win-back, %d replenishment reminders), %d held out; offers %s\n",
		r.Mailed+r.Holdout, r.Mailed, r.Kinds[campaign.KindWinback], r.Kinds[campaign.KindReplenishment], r.Holdout, offers(r.Offers))

	recs, emails, err := sentMail(ctx, st, sh.ID, asOf)
	if err != nil {
		return nil, err
	}
	res.Emails = len(emails)
	fmt.Fprintf(out, "   the SES emulator received %d e-mails (one per mailed customer); e.g.\n", len(emails))
	if ex, ok := firstEmail(emails); ok {
		fmt.Fprintf(out, "     subject  %q\n     List-Unsubscribe: %s\n     List-Unsubscribe-Post: %s\n",
			ex.Subject, shorten(ex.Header("List-Unsubscribe"), 90), ex.Header("List-Unsubscribe-Post"))
	}

	step(4, "SES's events (delivered, one bounce) and one one-click unsubscribe")
	bounced, unsub, delivered, err := mailEvents(ctx, st, sh, recs, emails, base, sentAt, logs)
	if err != nil {
		return nil, err
	}
	res.Bounced, res.Unsubscribe = bounced, unsub
	fmt.Fprintf(out, "   %d delivery events and one permanent bounce (customer %s) through the mailevents handler: the address is suppressed for this shop\n", delivered, bounced)
	fmt.Fprintf(out, "   customer %s clicked one-click unsubscribe: POST List-Unsubscribe=One-Click to the e-mail's link → 200, suppressed at once\n", unsub)

	step(5, fmt.Sprintf("The %d days after the campaign, played forward", o.ForwardDays))
	contacts := map[string]demoshop.Contact{}
	for _, rec := range recs {
		contacts[rec.CustomerID] = demoshop.Contact{Group: string(rec.Group), Coupon: rec.Coupon, Percent: rec.Percent}
	}
	later := h.PlayForward(sentAt, o.ForwardDays, contacts, o.Seed+1)
	c.stats = postStats{}
	if err := c.post(ctx, later, "weeks after"); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "   %s\n", c.stats)
	end := today.AddDate(0, 0, o.ForwardDays)
	day := end.AddDate(0, 0, -1).Format(time.DateOnly)
	if err := demoNight(ctx, st, sh, day, o.Logs, out); err != nil {
		return nil, err
	}
	measure := &runner.Runner{Store: st, Now: func() time.Time { return end }}
	rep, err := measure.Measure(ctx, sh.ID, asOf)
	if err != nil {
		return nil, err
	}
	printCampaign(out, sh, rep)

	step(6, "The report")
	report, err := shopreport.Build(ctx, st, sh.ID, end)
	if err != nil {
		return nil, err
	}
	res.Report = report
	if err := shopreport.WriteFiles(o.Out, report); err != nil {
		return nil, err
	}
	raw, err := readSESStore(ctx)
	if err != nil {
		return nil, err
	}
	emailsPath := filepath.Join(o.Out, "emails.json")
	if err := os.WriteFile(emailsPath, raw, 0o644); err != nil {
		return nil, err
	}
	res.Files = []string{filepath.Join(o.Out, "report.html"), filepath.Join(o.Out, "report.json"), emailsPath}
	if o.Screenshot != "" {
		if err := screenshot(ctx, res.Files[0], o.Screenshot); err != nil {
			return nil, err
		}
		res.Files = append(res.Files, o.Screenshot)
	}
	for _, f := range res.Files {
		fmt.Fprintf(out, "   %s\n", f)
	}
	fmt.Fprintf(out, "\n   Open %s in a browser. The e-mails: the SES emulator's web view, %s.\n", res.Files[0], localenv.SESEndpoint())
	fmt.Fprintf(out, "   Their unsubscribe links need the dev server: make api; it also serves the report:\n")
	fmt.Fprintf(out, "     curl -s http://127.0.0.1:8080/v1/report.html -H 'Authorization: Bearer %s' > report.html\n", cred.APIKey)
	fmt.Fprintf(out, "   The whole loop took %s; make demo-down stops the emulators.\n", fmtDur(time.Since(t0)))
	return res, nil
}

// eventsBefore is the prefix of evs (in time order) before t.
func eventsBefore(evs []demoshop.Event, t time.Time) []demoshop.Event {
	n := sort.Search(len(evs), func(i int) bool { return !evs[i].At.Before(t) })
	return evs[:n]
}

// counted prints a count map in key order: "a 1, b 2".
func counted[K ~string](m map[K]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %s", k, thousands(int64(m[K(k)])))
	}
	return strings.Join(parts, ", ")
}

// writeShopFile writes the demo shop's id and credentials to dir/shop.json
// (local emulators only: these keys open nothing else).
func writeShopFile(dir string, sh shop.Shop, apiKey, secret string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(map[string]string{
		"shop_id": sh.ID, "api_key": apiKey, "webhook_secret": secret, "currency": sh.Currency, "timezone": sh.Timezone,
		"report": "curl -s http://127.0.0.1:8080/v1/report.html -H 'Authorization: Bearer " + apiKey + "' (after make api)",
	}, "", "  ")
	return os.WriteFile(filepath.Join(dir, "shop.json"), append(b, '\n'), 0o600)
}

// checkStack checks that DynamoDB Local and the SQS and SES emulators
// answer.
func checkStack(ctx context.Context) error {
	for _, ep := range []struct{ name, url string }{
		{"DynamoDB Local (DYNAMODB_ENDPOINT)", localenv.DynamoDBEndpoint()},
		{"the SQS emulator (SQS_ENDPOINT)", localenv.SQSEndpoint()},
		{"the SES emulator (SES_ENDPOINT)", localenv.SESEndpoint()},
	} {
		if !localenv.Local(ep.url) {
			return fmt.Errorf("%s is %q: the demo runs on the local emulators only (make stack)", ep.name, ep.url)
		}
		u, err := url.Parse(ep.url)
		if err != nil {
			return err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return fmt.Errorf("%s does not answer at %s (is the local stack up? make stack): %w", ep.name, ep.url, err)
		}
		conn.Close()
	}
	return nil
}

// serveAPI serves the dev server's handler on a free loopback port.
func serveAPI(st devapi.Store, log *slog.Logger) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: devapi.NewHandler(st, log, time.Now), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	return srv, "http://" + ln.Addr().String(), nil
}

// demoNight runs the nightly job for the shop as of day and prints a line.
func demoNight(ctx context.Context, st *store.Store, sh shop.Shop, day string, logs, out io.Writer) error {
	t := time.Now()
	if err := runNightly(ctx, nightlyOptions{
		Request: nightly.Request{ShopID: sh.ID, AsOf: day, Force: true}, Concurrency: 2, Every: time.Hour, Logs: logs,
	}, io.Discard, io.Discard); err != nil {
		return fmt.Errorf("nightly job as of %s: %w", day, err)
	}
	d, err := dayOf(ctx, st, sh, day)
	if err != nil || d == nil {
		return fmt.Errorf("nightly job as of %s left no KPIs: %v", day, err)
	}
	fmt.Fprintf(out, "   as of %s: %s customers, churn rate %.1f%%, repeat purchase rate %.1f%%, %s (%s)\n",
		day, thousands(d.Customers), 100*d.ChurnRate, 100*d.RepeatPurchaseRate, d.Model.Name, fmtDur(time.Since(t)))
	return nil
}

// sentMail reads the campaign's recipients and the SES emulator's e-mails
// of the shop's campaign, by SES message id.
func sentMail(ctx context.Context, st *store.Store, shopID, campaignID string) ([]campaign.Recipient, map[string]emulator.Email, error) {
	var recs []campaign.Recipient
	if err := st.Recipients(ctx, shopID, campaignID, func(r campaign.Recipient) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	all, err := emulator.ReadSentEmails(ctx, localenv.SESEndpoint())
	if err != nil {
		return nil, nil, err
	}
	ids := map[string]bool{}
	for _, r := range recs {
		if r.MessageID != "" {
			ids[r.MessageID] = true
		}
	}
	emails := map[string]emulator.Email{}
	for _, e := range all {
		if ids[e.MessageID] {
			emails[e.MessageID] = e
		}
	}
	return recs, emails, nil
}

func firstEmail(emails map[string]emulator.Email) (emulator.Email, bool) {
	var ids []string
	for id := range emails {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		return emulator.Email{}, false
	}
	return emails[ids[0]], true
}

// mailEvents plays SES's events for the campaign's e-mails through the
// mailevents handler, as EventBridge would deliver them: a delivery for
// every e-mail but one, which bounces for good; and one customer's
// one-click unsubscribe through the API.
func mailEvents(ctx context.Context, st *store.Store, sh shop.Shop, recs []campaign.Recipient, emails map[string]emulator.Email, base string, at time.Time, log *slog.Logger) (bounced, unsub string, delivered int, err error) {
	var sent []campaign.Recipient
	for _, r := range recs {
		if r.State == campaign.StateSent {
			if _, ok := emails[r.MessageID]; ok {
				sent = append(sent, r)
			}
		}
	}
	if len(sent) < 2 {
		return "", "", 0, fmt.Errorf("only %d e-mails were sent: nothing to play SES's events on", len(sent))
	}
	sort.Slice(sent, func(i, j int) bool { return sent[i].SendID < sent[j].SendID })
	h := &feedback.Handler{Store: st, Log: log, Now: func() time.Time { return at }}
	for i, r := range sent {
		e := emails[r.MessageID]
		rec := feedback.Record{Mail: feedback.Mail{
			Timestamp: r.SentAt.UTC().Format(time.RFC3339Nano), MessageID: r.MessageID, Destination: e.Destination.To,
			Tags: map[string][]string{feedback.TagShop: {sh.ID}, feedback.TagCampaign: {r.CampaignID}, feedback.TagSendID: {r.SendID}},
		}}
		detailType := "Email Delivered"
		when := r.SentAt.Add(3 * time.Second).UTC().Format(time.RFC3339Nano)
		if i == 0 {
			detailType = "Email Bounced"
			rec.EventType = feedback.TypeBounce
			rec.Bounce = &feedback.Bounce{BounceType: feedback.BouncePermanent, BounceSubType: "General", Timestamp: when}
			for _, to := range e.Destination.To {
				rec.Bounce.BouncedRecipients = append(rec.Bounce.BouncedRecipients, feedback.Addressee{EmailAddress: to})
			}
			bounced = r.CustomerID
		} else {
			rec.EventType = feedback.TypeDelivery
			rec.Delivery = &feedback.Delivery{Timestamp: when}
			delivered++
		}
		detail, _ := json.Marshal(rec)
		ev := events.EventBridgeEvent{
			Version: "0", ID: fmt.Sprintf("demo-%s-%d", r.SendID, i), DetailType: detailType, Source: feedback.Source,
			Time: at, Region: emulator.Region, Detail: detail,
		}
		if err := h.Handle(ctx, ev); err != nil {
			return "", "", 0, fmt.Errorf("SES event %s: %w", detailType, err)
		}
	}
	// The second e-mail's reader unsubscribes, as a mailbox provider's
	// one-click button does: a form POST to the link of List-Unsubscribe.
	r := sent[1]
	link := strings.Trim(emails[r.MessageID].Header("List-Unsubscribe"), "<>")
	u, err := url.Parse(link)
	if err != nil {
		return "", "", 0, fmt.Errorf("List-Unsubscribe %q: %w", link, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+u.Path, strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		return "", "", 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", 0, fmt.Errorf("one-click unsubscribe: %s", resp.Status)
	}
	return bounced, r.CustomerID, delivered, nil
}

// printCampaign prints a campaign's measurement.
func printCampaign(out io.Writer, sh shop.Shop, rep campaign.Report) {
	m, hg := rep.MailedGroup, rep.HoldoutGroup
	money := func(v int64) string { return shopreport.FormatMoney(float64(v), sh.Currency) }
	fmt.Fprintf(out, "   campaign %s measured on %s (attribution window %d days; a redeemed code counts whenever):\n",
		rep.CampaignID, rep.MeasuredAt.Format(time.DateOnly), rep.AttributionWindowDays)
	fmt.Fprintf(out, "     mailed   %4d customers, %3d converted (%5.1f%%), %d orders, revenue %s, %d codes redeemed (discount %s)\n",
		m.Customers, m.Converted, 100*m.ConversionRate, m.Orders, money(m.Revenue), m.Redeemed, money(m.DiscountCost))
	fmt.Fprintf(out, "     holdout  %4d customers, %3d converted (%5.1f%%), %d orders, revenue %s\n",
		hg.Customers, hg.Converted, 100*hg.ConversionRate, hg.Orders, money(hg.Revenue))
	if rep.Uplift.Defined {
		fmt.Fprintf(out, "     uplift   %+.1f points, 95%% interval %+.1f to %+.1f (Newcombe); incremental revenue %s\n",
			100*rep.Uplift.Estimate, 100*rep.Uplift.Lower, 100*rep.Uplift.Upper, money(rep.IncrementalRevenue))
	}
	fmt.Fprintf(out, "     delivered %d · bounced %d · unsubscribed %d · complained %d\n", rep.Delivered, rep.Bounced, rep.Unsubscribed, rep.Complained)
}

func reasons(m map[campaign.Reason]int) string {
	var parts []string
	for _, r := range campaign.Reasons {
		if n := m[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", r, thousands(int64(n))))
		}
	}
	return strings.Join(parts, ", ")
}

func offers(m map[int]int) string {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%d%%: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// readSESStore is the SES emulator's store as its /store endpoint returns it.
func readSESStore(ctx context.Context) ([]byte, error) {
	return sesCall(ctx, http.MethodGet, "/store")
}

// clearSESStore empties the SES emulator's store, so that emails.json holds
// this run's e-mails.
func clearSESStore(ctx context.Context) error {
	_, err := sesCall(ctx, http.MethodPost, "/clear-store")
	return err
}

func sesCall(ctx context.Context, method, path string) ([]byte, error) {
	base := localenv.SESEndpoint()
	if base == "" {
		return nil, errors.New("SES_ENDPOINT is empty: the demo runs on the SES emulator (make stack)")
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("SES emulator at %s (is the local stack up? make stack): %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("SES emulator %s %s: %s %v", method, path, resp.Status, err)
	}
	return body, nil
}

// screenshot renders the report in headless Chromium and saves it.
func screenshot(ctx context.Context, page, dst string) error {
	u, err := browser.FileURL(page)
	if err != nil {
		return err
	}
	p, err := browser.Open(ctx, u, browser.Options{Width: 1280, Height: 900})
	if err != nil {
		return err
	}
	if errs := p.Errors(); len(errs) > 0 {
		return fmt.Errorf("the report has console errors: %v", errs)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	first, err := firstScreen(p.Screenshot, screenshotHeight)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, first, 0o644)
}

// screenshotHeight is the height of the report's screenshot: its first
// screens (the KPIs at a glance, the trends, the customers); the page
// itself is report.html.
const screenshotHeight = 1800

// firstScreen crops a PNG to its top height pixels.
func firstScreen(png []byte, height int) ([]byte, error) {
	im, err := pngDecode(png)
	if err != nil {
		return nil, err
	}
	b := im.Bounds()
	if b.Dy() <= height {
		return png, nil
	}
	sub, ok := im.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		return png, nil
	}
	var out bytes.Buffer
	if err := pngEncode(&out, sub.SubImage(image.Rect(b.Min.X, b.Min.Y, b.Max.X, b.Min.Y+height))); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func pngDecode(b []byte) (image.Image, error)     { return imgpng.Decode(bytes.NewReader(b)) }
func pngEncode(w io.Writer, im image.Image) error { return imgpng.Encode(w, im) }
