package main

import (
	"context"
	"flag"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"
)

const demoHelp = `Plays a shop's whole retention loop on the local stack (make demo starts
it first): a demo shop and two years of its orders (internal/demoshop:
customers drawn from a BG/NBD purchase process with Gamma-Gamma spend,
replenishment cycles, refunds, cancellations, duplicates and malformed
requests) posted through the HTTP API (the dev server's handler, batches of
100) and, for the Shopify customers, as signed webhooks; the nightly job
weekly over the last weeks (planner, SQS emulator, worker); the win-back
campaign (runner, send queue, sender, SES emulator); SES's events (deliveries,
a bounce) and a one-click unsubscribe; the following weeks played forward
(mailed and held-out customers coming back, codes redeemed); the nightly job
again; the campaign measured; and the report.

It leaves report.html, report.json and emails.json (what the SES emulator
received, as its /store endpoint returns it) in --out.

Environment: WINBACK_TABLE, DYNAMODB_ENDPOINT (default http://127.0.0.1:8000),
SQS_ENDPOINT (default http://127.0.0.1:8010), SES_ENDPOINT (default
http://127.0.0.1:8005).
`

// demoToday is the demo's "today": fixed, so that every run tells the same
// story (and in the past, so that the weeks played forward are not in the
// API's future).
var demoToday = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

// demoCommand is "winback demo".
func demoCommand(fs *flag.FlagSet) action {
	customers := fs.Int("customers", 3000, "customers of the demo shop")
	seed := fs.Int64("seed", 1, "the generator's seed")
	today := fs.String("today", demoToday.Format(time.DateOnly), "the demo's today, YYYY-MM-DD (the history ends the day before)")
	nights := fs.Int("nights", 9, "weekly nightly runs before today, for the KPI history (1-52)")
	forward := fs.Int("forward-days", 28, "days played forward after the campaign (1-60)")
	out := fs.String("out", filepath.Join("out", "demo"), "where report.html, report.json and emails.json go")
	shot := fs.String("screenshot", "", "also save a screenshot of the report (PNG) here, rendered in headless Chromium")
	return func(ctx context.Context, stdout io.Writer) error {
		if *customers < 50 || *customers > 100000 {
			return usageErrorf("--customers %d: want 50..100000", *customers)
		}
		if *nights < 1 || *nights > 52 {
			return usageErrorf("--nights %d: want 1..52", *nights)
		}
		if *forward < 1 || *forward > 60 {
			return usageErrorf("--forward-days %d: want 1..60", *forward)
		}
		loc, err := time.LoadLocation(demoLocation)
		if err != nil {
			return err
		}
		day, err := time.ParseInLocation(time.DateOnly, *today, loc)
		if err != nil {
			return usageErrorf("--today %q is not a YYYY-MM-DD day", *today)
		}
		if day.AddDate(0, 0, *forward).After(time.Now()) {
			return usageErrorf("--today %s plus --forward-days %d is in the future: the API refuses orders from the future", *today, *forward)
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		_, err = runLoop(ctx, loopOptions{
			Customers: *customers, Seed: *seed, Today: day, Nights: *nights, ForwardDays: *forward,
			Out: *out, Screenshot: *shot, Rate: 500,
		}, stdout)
		return err
	}
}
