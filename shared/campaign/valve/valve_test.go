package valve_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/valve"
	"github.com/winback/winback/shared/store/memstore"
)

var now = time.Date(2026, 12, 1, 2, 40, 0, 0, time.UTC)

func begin(t *testing.T, st *memstore.Store, id string, status campaign.Status) campaign.Campaign {
	t.Helper()
	c, err := st.BeginCampaign(context.Background(), campaign.Campaign{ShopID: "shop_valvevalve1", ID: id, AsOf: id,
		CreatedAt: now, Status: status, Settings: campaign.DefaultSettings()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestJudge: figures under the levels stop nothing; at a level the shop
// stops once (one SendingStopped line), the campaigns selecting or
// sending pause saying why and the others (paused already, or past their
// sending window) keep their status; a dry run
// never stops the shop; once lifted, neither the campaign that tripped it
// nor an earlier one can stop the shop again, a later one can.
func TestJudge(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	a := begin(t, st, "2026-11-28", campaign.StatusSending)
	b := begin(t, st, "2026-11-29", campaign.StatusSending)
	paused := begin(t, st, "2026-11-27", campaign.StatusPaused)
	// A campaign of long ago stays "sending" for good; it cannot send.
	old, err := st.BeginCampaign(ctx, campaign.Campaign{ShopID: "shop_valvevalve1", ID: "2026-10-01", AsOf: "2026-10-01",
		CreatedAt: now.Add(-campaign.SendingWindow - time.Hour), Status: campaign.StatusSending, Settings: campaign.DefaultSettings()})
	if err != nil {
		t.Fatal(err)
	}
	dry := b
	dry.ID, dry.DryRun = "2026-11-29-dry", true
	bad := campaign.Reputation{Mailed: 100, Bounced: 5}

	if stop, err := valve.Judge(ctx, st, log, b, campaign.Reputation{Mailed: 100, Bounced: 4}, now, []campaign.Campaign{a, b}); err != nil || stop.CampaignID != "" {
		t.Fatalf("4 of 100: %+v, %v; want no stop", stop, err)
	}
	if stop, err := valve.Judge(ctx, st, log, dry, bad, now, nil); err != nil || stop.CampaignID != "" {
		t.Fatalf("a dry run: %+v, %v; want no stop", stop, err)
	}
	for range 2 {
		stop, err := valve.Judge(ctx, st, log, b, bad, now, []campaign.Campaign{a, b, paused, old})
		if err != nil || !stop.InForce() || stop.CampaignID != b.ID || stop.Reputation != bad {
			t.Fatalf("5 of 100: %+v, %v; want a stop by %s", stop, err, b.ID)
		}
	}
	if n := strings.Count(logs.String(), campaign.MetricSendingStopped); n != 1 {
		t.Errorf("%d SendingStopped lines, want 1 for one stop", n)
	}
	for _, c := range []campaign.Campaign{a, b} {
		got, _ := st.Campaign(ctx, c.ShopID, c.ID)
		if got.Status != campaign.StatusPaused || !strings.HasPrefix(got.PausedReason, campaign.PausedBySafetyValve) {
			t.Errorf("campaign %s: %s %q, want paused by the valve", c.ID, got.Status, got.PausedReason)
		}
	}
	if got, _ := st.Campaign(ctx, paused.ShopID, paused.ID); got.PausedReason != "" {
		t.Errorf("an already paused campaign got the valve's reason: %q", got.PausedReason)
	}
	if got, _ := st.Campaign(ctx, old.ShopID, old.ID); got.Status != campaign.StatusSending {
		t.Errorf("a campaign past its sending window was paused: %s", got.Status)
	}

	if _, err := st.LiftSendingStop(ctx, b.ShopID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []campaign.Campaign{b, a} {
		if stop, err := valve.Judge(ctx, st, log, c, bad, now.Add(2*time.Hour), nil); err != nil || stop.InForce() {
			t.Errorf("campaign %s after the lift of %s's stop: %+v, %v; want no new stop", c.ID, b.ID, stop, err)
		}
	}
	later := begin(t, st, "2026-11-30", campaign.StatusSending)
	if stop, err := valve.Judge(ctx, st, log, later, bad, now.Add(3*time.Hour), nil); err != nil || !stop.InForce() || stop.CampaignID != later.ID {
		t.Errorf("a later campaign at the level: %+v, %v; want its stop", stop, err)
	}
}
