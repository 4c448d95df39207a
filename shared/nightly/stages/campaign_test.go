package stages_test

import (
	"context"
	"sync"
	"testing"

	"github.com/winback/winback/shared/nightly"
)

// campaignCounter records the campaign steps the worker runs.
type campaignCounter struct {
	mu    sync.Mutex
	calls []string
}

func (c *campaignCounter) Nightly(ctx context.Context, shopID, asOf string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, shopID+" "+asOf)
	return nil
}

// TestCampaignFollowsFinish: with campaigns on, a finished night sends one
// campaign message for the shop, and the worker runs the campaign of that
// day; a finish delivered again sends it again (the campaign step is
// idempotent), and a campaign message for an unfinished day does nothing.
func TestCampaignFollowsFinish(t *testing.T) {
	f := newFixture(t)
	cc := &campaignCounter{}
	f.j.Worker.Campaigns = cc
	f.plan(t, nightly.Request{})
	f.q.drain(t, f.j)
	if len(cc.calls) != 1 || cc.calls[0] != f.sh.ID+" "+asOf {
		t.Fatalf("campaign steps %q, want one for %s %s", cc.calls, f.sh.ID, asOf)
	}

	ctx := context.Background()
	if err := f.j.Handle(ctx, nightly.Message{Kind: nightly.KindFinish, ShopID: f.sh.ID, AsOf: asOf}); err != nil {
		t.Fatal(err)
	}
	f.q.drain(t, f.j)
	if len(cc.calls) != 2 {
		t.Fatalf("after a redelivered finish: %d campaign steps, want 2", len(cc.calls))
	}

	if _, err := nightly.ParseMessage(nightly.Message{Kind: nightly.KindCampaign, ShopID: f.sh.ID, AsOf: asOf}.Body()); err != nil {
		t.Fatalf("a campaign message does not parse: %v", err)
	}
}

// TestNoCampaignsByDefault: without Campaigns, finish sends nothing more.
func TestNoCampaignsByDefault(t *testing.T) {
	f := newFixture(t)
	f.plan(t, nightly.Request{})
	f.q.drain(t, f.j)
	if err := f.j.Handle(context.Background(), nightly.Message{Kind: nightly.KindCampaign, ShopID: f.sh.ID, AsOf: asOf}); err != nil {
		t.Fatalf("a campaign message without campaigns: %v, want it skipped", err)
	}
}
