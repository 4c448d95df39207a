package runner_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/runner"
)

// sendAll marks every queued recipient of a campaign sent, then gives the
// first bounced of them a hard bounce, the next soft a soft bounce and the
// next complained a complaint; it returns how many were mailed.
func (f *fixture) sendAll(t *testing.T, id string, bounced, soft, complained int) int {
	t.Helper()
	ctx := context.Background()
	mailed := 0
	for _, r := range f.recipients(t, id) {
		if r.State != campaign.StateQueued {
			continue
		}
		ch := campaign.Change{From: []campaign.State{campaign.StateQueued}, To: campaign.StateSent,
			MessageID: "m-" + r.SendID, SentAt: now, Event: campaign.EventSent, EventAt: now}
		if _, err := f.st.ChangeRecipient(ctx, f.sh.ID, id, r.SendID, ch); err != nil {
			t.Fatal(err)
		}
		event := ""
		switch {
		case mailed < bounced:
			event = campaign.EventBounced
		case mailed < bounced+soft:
			event = campaign.EventSoftBounced
		case mailed < bounced+soft+complained:
			event = campaign.EventComplained
		}
		if event != "" {
			if _, err := f.st.ChangeRecipient(ctx, f.sh.ID, id, r.SendID, campaign.Change{Event: event, EventAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		mailed++
	}
	return mailed
}

// TestSafetyValve: the night after a campaign, its hard bounces and
// complaints over the e-mails sent decide, at SES's review levels exactly,
// whether the shop's sending stops: then the campaign still sending is
// paused saying why, no campaign runs, a manual run is refused, and the
// stop holds until lifted; lifted, the same campaign's figures do not
// stop the shop again.
func TestSafetyValve(t *testing.T) {
	day1, day2 := "2025-05-01", "2025-05-02"
	at := func(day string) time.Time {
		d, _ := time.Parse(time.DateOnly, day)
		return d.Add(7 * time.Hour)
	}
	ctx := context.Background()
	cases := []struct {
		name                      string
		bounced, soft, complained func(mailed int) int
		stops                     bool
		why                       string
		// legacy: the campaign was begun before bounces were split
		// (campaign.SplitBounces false): its bounced counts soft ones.
		legacy bool
	}{
		{"no bounce, no complaint", zero, zero, zero, false, "", false},
		{"hard bounces just under 5%", under(0.05), zero, zero, false, "", false},
		{"soft bounces do not count", zero, func(int) int { return 40 }, zero, false, "", false},
		{"hard bounces at 5%", atLeast(0.05), zero, zero, true, "bounced for good", false},
		{"one complaint in fewer than 1,000", zero, zero, func(int) int { return 1 }, true, "complained", false},
		{"a campaign of before split bounces: bounces do not count", atLeast(0.05), zero, zero, false, "", true},
		{"a campaign of before split bounces: complaints do", zero, zero, func(int) int { return 1 }, true, "complained", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 120)
			if tc.legacy {
				// Begun by the release before: Run finds it and selects.
				if _, err := f.st.BeginCampaign(ctx, campaign.Campaign{ShopID: f.sh.ID, ID: asOf, AsOf: asOf, CreatedAt: at(day1),
					Status: campaign.StatusSelecting, Settings: campaign.DefaultSettings()}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.runner(at(day1)).Run(ctx, f.sh.ID, asOf, runner.Options{}); err != nil {
				t.Fatal(err)
			}
			n := len(f.recipients(t, asOf))
			mailed := 0
			for _, r := range f.recipients(t, asOf) {
				if r.State == campaign.StateQueued {
					mailed++
				}
			}
			if mailed < 100 || mailed == n {
				t.Fatalf("the fixture's campaign mails %d of %d: want 100 or more, and a holdout", mailed, n)
			}
			b, s, c := tc.bounced(mailed), tc.soft(mailed), tc.complained(mailed)
			if got := f.sendAll(t, asOf, b, s, c); got != mailed {
				t.Fatalf("sent %d, want %d", got, mailed)
			}
			// A second campaign, begun and still sending when the valve trips.
			other := campaign.Campaign{ShopID: f.sh.ID, ID: "2025-04-29", AsOf: "2025-04-29", CreatedAt: now,
				Status: campaign.StatusSending, Settings: campaign.DefaultSettings()}
			if _, err := f.st.BeginCampaign(ctx, other); err != nil {
				t.Fatal(err)
			}

			if err := f.runner(at(day2)).Nightly(ctx, f.sh.ID, day1); err != nil {
				t.Fatal(err)
			}
			stop, err := f.st.SendingStop(ctx, f.sh.ID)
			if !tc.stops {
				if !errors.Is(err, campaign.ErrNotFound) {
					t.Fatalf("%d hard bounces, %d soft, %d complaints of %d: stop %+v, %v; want none", b, s, c, mailed, stop, err)
				}
				if _, err := f.st.Campaign(ctx, f.sh.ID, day1); err != nil {
					t.Errorf("the night's campaign did not run: %v", err)
				}
				return
			}
			wantRep := campaign.Reputation{Mailed: mailed, Bounced: b, Complained: c}
			if tc.legacy {
				wantRep.Bounced = 0
			}
			if err != nil || !stop.InForce() || stop.CampaignID != asOf || !strings.Contains(stop.Reason, tc.why) || stop.Reputation != wantRep {
				t.Fatalf("%d hard bounces, %d complaints of %d: stop %+v, %v; want one in force by %s saying %q", b, c, mailed, stop, err, asOf, tc.why)
			}
			if _, err := f.st.Campaign(ctx, f.sh.ID, day1); !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("a campaign ran while the shop's sending was stopped: %v", err)
			}
			for _, id := range []string{asOf, other.ID} {
				c, err := f.st.Campaign(ctx, f.sh.ID, id)
				if err != nil || c.Status != campaign.StatusPaused || c.PausedReason != campaign.PausedBySafetyValve+stop.Reason {
					t.Errorf("campaign %s: %s %q, %v; want paused by the safety valve", id, c.Status, c.PausedReason, err)
				}
			}
			if _, err := f.runner(at(day2)).Run(ctx, f.sh.ID, day1, runner.Options{}); !errors.Is(err, runner.ErrSendingStopped) ||
				!strings.Contains(err.Error(), "resume-sending") {
				t.Errorf("a manual run while stopped: %v, want ErrSendingStopped saying how to lift it", err)
			}
			if _, err := f.runner(at(day2)).Run(ctx, f.sh.ID, day1, runner.Options{DryRun: true}); err != nil {
				t.Errorf("a dry run while stopped: %v, want it allowed (it sends nothing)", err)
			}
			// Run again that night: still stopped.
			if err := f.runner(at(day2).Add(time.Hour)).Nightly(ctx, f.sh.ID, day1); err != nil {
				t.Fatal(err)
			}
			if _, err := f.st.Campaign(ctx, f.sh.ID, day1); !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("a campaign ran on a second run while stopped: %v", err)
			}
			// Lifted: the same campaign, measured again, does not stop the
			// shop again; its paused campaign of the last days resumes and
			// the night's runs.
			if _, err := f.st.LiftSendingStop(ctx, f.sh.ID, at(day2).Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := f.runner(at(day2).Add(3*time.Hour)).Nightly(ctx, f.sh.ID, day1); err != nil {
				t.Fatal(err)
			}
			if stop, err := f.st.SendingStop(ctx, f.sh.ID); err != nil || stop.InForce() {
				t.Errorf("after the lift: %+v, %v; want the stop lifted for good", stop, err)
			}
			if c, err := f.st.Campaign(ctx, f.sh.ID, asOf); err != nil || c.Status != campaign.StatusSending {
				t.Errorf("after the lift the paused campaign is %s, %v; want it resumed", c.Status, err)
			}
			if _, err := f.st.Campaign(ctx, f.sh.ID, day1); err != nil {
				t.Errorf("after the lift the night's campaign did not run: %v", err)
			}
		})
	}
}

func zero(int) int { return 0 }

// atLeast is the fewest of mailed at rate or above; under the most below.
func atLeast(rate float64) func(int) int {
	return func(mailed int) int {
		for n := 0; ; n++ {
			if float64(n) >= rate*float64(mailed)-1e-9 {
				return n
			}
		}
	}
}

func under(rate float64) func(int) int {
	return func(mailed int) int { return atLeast(rate)(mailed) - 1 }
}

// TestReputationLevels: the levels are SES's, compared exactly.
func TestReputationLevels(t *testing.T) {
	for _, tc := range []struct {
		r     campaign.Reputation
		trips bool
	}{
		{campaign.Reputation{}, false},
		{campaign.Reputation{Mailed: 100, Bounced: 5}, true},
		{campaign.Reputation{Mailed: 101, Bounced: 5}, false},
		{campaign.Reputation{Mailed: 1000, Bounced: 49}, false},
		{campaign.Reputation{Mailed: 1000, Complained: 1}, true},
		{campaign.Reputation{Mailed: 1001, Complained: 1}, false},
		{campaign.Reputation{Mailed: 3, Bounced: 3}, true},
		{campaign.Reputation{Mailed: 0, Bounced: 3}, false},
	} {
		reason, trips := tc.r.Trips()
		if trips != tc.trips || trips != (reason != "") {
			t.Errorf("%+v trips %v (%q), want %v", tc.r, trips, reason, tc.trips)
		}
		if trips && !strings.Contains(reason, fmt.Sprint(tc.r.Mailed)) {
			t.Errorf("%+v: reason %q does not say of how many", tc.r, reason)
		}
	}
}

// TestMeasureKeepsAnExpiredCampaignsReport: a campaign whose recipients
// expired (sendRetentionDays) keeps its last report when measured again.
func TestMeasureKeepsAnExpiredCampaignsReport(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	c := campaign.Campaign{ShopID: f.sh.ID, ID: "2024-01-01", AsOf: "2024-01-01", CreatedAt: now.AddDate(-1, -4, 0),
		Status: campaign.StatusSending, Settings: campaign.DefaultSettings(), SplitBounces: true}
	if _, err := f.st.BeginCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	stored := campaign.Report{CampaignID: c.ID, AsOf: c.AsOf, Selected: 120, Holdout: 12, Mailed: 100,
		MailedGroup: campaign.GroupResult{Customers: 108, Converted: 9}}
	if err := f.st.PutCampaignReport(ctx, f.sh.ID, c.ID, stored); err != nil {
		t.Fatal(err)
	}
	rep, err := f.runner(now).Measure(ctx, f.sh.ID, c.ID)
	if err != nil || rep.Selected != 120 || rep.MailedGroup.Converted != 9 {
		t.Fatalf("Measure = %+v, %v; want the stored report", rep, err)
	}
	if got, _ := f.st.Campaign(ctx, f.sh.ID, c.ID); got.Report == nil || got.Report.Selected != 120 {
		t.Errorf("the stored report was overwritten: %+v", got.Report)
	}
}

// TestResumePausedWhileSelecting: a campaign paused before its selection
// was recorded in full (a run died mid-selection, then the valve paused
// it) finishes its selection when resumed, by a run or by the night.
func TestResumePausedWhileSelecting(t *testing.T) {
	ctx := context.Background()
	for _, via := range []string{"run", "nightly"} {
		t.Run(via, func(t *testing.T) {
			f := newFixture(t, 40)
			c := campaign.Campaign{ShopID: f.sh.ID, ID: asOf, AsOf: asOf, CreatedAt: now, Status: campaign.StatusSelecting,
				Settings: campaign.DefaultSettings(), SplitBounces: true}
			c.Settings.From = "Bean & Leaf <news@bean.example>"
			if _, err := f.st.BeginCampaign(ctx, c); err != nil {
				t.Fatal(err)
			}
			if err := f.st.MarkCampaignShard(ctx, f.sh.ID, asOf, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := f.st.SetCampaignStatus(ctx, f.sh.ID, asOf, nil, campaign.StatusPaused, campaign.PausedBySafetyValve+"test"); err != nil {
				t.Fatal(err)
			}
			var err error
			if via == "run" {
				_, err = f.runner(now).Run(ctx, f.sh.ID, asOf, runner.Options{})
			} else {
				err = f.runner(now.Add(24*time.Hour)).Nightly(ctx, f.sh.ID, "2025-05-01")
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.st.Campaign(ctx, f.sh.ID, asOf)
			if err != nil || got.Status != campaign.StatusSending || len(got.Shards) != f.sh.Shards {
				t.Fatalf("after resuming: %s, shards %v, %v; want sending with all %d shards selected", got.Status, got.Shards, err, f.sh.Shards)
			}
			shards := map[int]bool{}
			for _, r := range f.recipients(t, asOf) {
				shards[f.sh.Shard(r.CustomerID)] = true
			}
			for n := 1; n < f.sh.Shards; n++ {
				if !shards[n] {
					t.Errorf("no recipient selected in shard %d", n)
				}
			}
		})
	}
}
