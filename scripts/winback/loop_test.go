package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/winback/winback/internal/browser"
	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/scripts/internal/shopreport"
)

// TestDemoLoop runs a smaller `make demo` end to end on DynamoDB Local and
// the SQS and SES emulators — a generated shop's history through the HTTP
// API and signed Shopify webhooks, two nightly runs, the campaign through
// the send queue and the sender, SES's events and a one-click unsubscribe,
// the weeks after played forward, the nightly job again, the measurement
// and the report — then renders the report in headless Chromium: every
// chart drawn with data, no console error, a screenshot.
func TestDemoLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole loop on the emulators")
	}
	// Chromium first: without it the test fails at once, saying what to
	// install (make test installs it; it never skips).
	if _, err := browser.Find(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, sqsEndpoint := emulator.SQS(t)
	_, sesURL := emulator.SES(t)
	t.Setenv("DYNAMODB_ENDPOINT", emulator.DynamoDBEndpoint(t))
	t.Setenv("SQS_ENDPOINT", sqsEndpoint)
	t.Setenv("SES_ENDPOINT", sesURL)
	t.Setenv("WINBACK_TABLE", fmt.Sprintf("demo-loop-%d", time.Now().UnixNano()))
	out := t.TempDir()
	shot := filepath.Join(out, "screenshot.png")
	var logs syncBuffer
	res, err := runLoop(ctx, loopOptions{
		Customers: 500, Seed: 7, Today: demoToday, Nights: 2, ForwardDays: 21,
		Out: out, Screenshot: shot, Rate: 1000, Logs: &logs,
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}

	// Every handler's log lines of the whole run (the API's requests, the
	// nightly job, the campaign run, the sender, SES's events) name ids and
	// outcomes, never an e-mail address, the API key, the webhook secret
	// or what an order holds (its items, its codes).
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) < 100 {
		t.Fatalf("only %d log lines from the whole loop", len(lines))
	}
	// The check reads every part of the loop: each one's lines are there.
	for _, msg := range []string{`"msg":"nightly run done"`, `"msg":"campaign run"`, `"msg":"send message"`,
		`"msg":"unsubscribed"`, `"msg":"addresses suppressed"`, `"customer_id":"`} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("no log line with %s among %d", msg, len(lines))
		}
	}
	secret := map[string]string{"the API key": res.APIKey, "the API key's secret": res.APIKey[strings.LastIndex(res.APIKey, "_")+1:], "the webhook secret": res.WebhookSecret}
	for _, c := range res.History.Customers {
		secret["the address of "+c.ID] = c.Email
		secret["the last name of "+c.ID] = c.LastName
	}
	for _, p := range res.History.Products {
		secret["the item "+p.SKU] = p.Title
	}
	for _, line := range lines {
		if !json.Valid([]byte(line)) {
			t.Fatalf("a log line is not JSON: %s", line)
		}
		if strings.Contains(line, "@example.") {
			t.Fatalf("a log line holds an e-mail address: %s", line)
		}
		for what, v := range secret {
			if len(v) >= 4 && strings.Contains(line, v) {
				t.Fatalf("a log line holds %s (%q): %s", what, v, line)
			}
		}
	}

	// What was posted: the history stored, the malformed requests refused.
	if res.Posted.Results["created"] == 0 || res.Posted.Refused != 10 || res.Posted.Results["rejected"] != 0 {
		t.Errorf("posted %+v", res.Posted)
	}

	// report.json: the KPIs, the history of two nights plus the one after
	// the weeks played forward, and the campaign with its holdout,
	// deliveries, bounce and unsubscribe.
	var rep shopreport.Report
	readJSON(t, filepath.Join(out, "report.json"), &rep)
	if rep.Shop.ID != res.Shop.ID || len(rep.History) != 3 || rep.KPIs.Customers.Value == 0 {
		t.Fatalf("report.json: shop %q, %d days of history, %v customers", rep.Shop.ID, len(rep.History), rep.KPIs.Customers.Value)
	}
	if len(rep.Campaigns) != 1 || rep.Campaigns[0].Report == nil {
		t.Fatalf("report.json campaigns: %+v", rep.Campaigns)
	}
	c := rep.Campaigns[0].Report
	if c.Selected != res.Mailed+res.Held || c.MailedGroup.Customers != res.Mailed || c.HoldoutGroup.Customers != res.Held ||
		c.Mailed != res.Emails || c.Delivered != res.Emails-1 || c.Bounced != 1 || c.Unsubscribed != 1 || !c.Uplift.Defined {
		t.Errorf("campaign report %+v; run mailed %d, held out %d, e-mails %d", c, res.Mailed, res.Held, res.Emails)
	}
	if c.MailedGroup.Converted == 0 {
		t.Errorf("nobody mailed came back in the weeks played forward: %+v", c.MailedGroup)
	}

	// emails.json is the SES emulator's store: one e-mail per mailed
	// customer, each with the one-click headers.
	var store struct {
		Emails []emulator.Email `json:"emails"`
	}
	readJSON(t, filepath.Join(out, "emails.json"), &store)
	if len(store.Emails) != res.Emails || res.Emails != res.Mailed {
		t.Fatalf("emails.json holds %d e-mails, the campaign mailed %d", len(store.Emails), res.Mailed)
	}
	for _, e := range store.Emails {
		if !strings.HasPrefix(e.Header("List-Unsubscribe"), "<http://127.0.0.1:8080/v1/unsubscribe/") || e.Header("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Fatalf("e-mail %s headers %v", e.MessageID, e.Headers)
		}
	}

	// The report in Chromium, at a desktop's width and a phone's.
	u, err := browser.FileURL(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	// A chart's marks are the shapes drawn in the data's colours with a
	// size: an empty plot still has its frame, axes, ticks and grid (some
	// thirty shapes, all grey or ink), but none of these.
	const charts = `Array.from(document.querySelectorAll("figure.chart")).map(f => {
		const data = /#(2563EB|EA580C|16A34A|DC2626|9333EA|0891B2)/i;
		const marks = Array.from(f.querySelectorAll("svg path, svg rect, svg circle, svg polyline, svg line, svg polygon"))
			.filter(e => data.test(e.getAttribute("style") || "") && (b => b.width + b.height > 0)(e.getBBox())).length;
		const svg = f.querySelector("svg");
		return {name: f.dataset.chart, points: Number(f.dataset.points), marks: marks,
			width: svg ? svg.getBoundingClientRect().width : 0};
	})`
	for _, size := range []struct {
		name          string
		width, height int
		mobile        bool
	}{{"desktop", browser.DesktopWidth, 900, false}, {"phone", browser.PhoneWidth, browser.PhoneHeight, true}} {
		t.Run(size.name, func(t *testing.T) {
			page, err := browser.Open(ctx, u, browser.Options{Width: size.width, Height: size.height, Mobile: size.mobile,
				Eval: []browser.Check{{Name: "charts", JS: charts}, {Name: "overflow", JS: "document.documentElement.scrollWidth"}}})
			if err != nil {
				t.Fatal(err)
			}
			if errs := page.Errors(); len(errs) > 0 {
				t.Errorf("console errors: %v", errs)
			}
			var got []struct {
				Name   string  `json:"name"`
				Points int     `json:"points"`
				Marks  int     `json:"marks"`
				Width  float64 `json:"width"`
			}
			if err := json.Unmarshal(page.Results["charts"], &got); err != nil {
				t.Fatal(err)
			}
			names := map[string]bool{}
			for _, ch := range got {
				names[ch.Name] = true
				if ch.Points == 0 || ch.Marks == 0 || ch.Width < 100 || ch.Width > float64(size.width) {
					t.Errorf("chart %s: %d points, %d marks drawn in the data's colours, %.0f px wide on a %d px screen", ch.Name, ch.Points, ch.Marks, ch.Width, size.width)
				}
			}
			for _, want := range []string{"kpi_history", "segments", "churn_risk_distribution", "clv_distribution", "cohort_retention",
				"repeat_purchase_curve", "model_fit_cumulative", "model_fit_incremental", "campaign_conversion", "campaign_uplift", "campaign_money"} {
				if !names[want] {
					t.Errorf("no %s chart among %v", want, names)
				}
			}
			var scroll float64
			_ = json.Unmarshal(page.Results["overflow"], &scroll)
			if size.mobile && scroll > float64(size.width)*1.05 {
				t.Errorf("the page is %.0f px wide on a %d px phone", scroll, size.width)
			}
			path := filepath.Join(out, "report-"+size.name+".png")
			if err := os.WriteFile(path, page.Screenshot, 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}

	// The demo's screenshot: the report's first screen, a PNG.
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil || im.Bounds().Dx() != browser.DesktopWidth || im.Bounds().Dy() > screenshotHeight {
		t.Fatalf("screenshot: %v, %v", im.Bounds(), err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// syncBuffer is a bytes.Buffer the handlers' goroutines may write to at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
