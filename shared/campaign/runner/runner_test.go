package runner_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/runner"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store/memstore"
)

const asOf = "2025-04-30"

// now is the morning after asOf in Berlin.
var now = time.Date(2025, 5, 1, 7, 0, 0, 0, time.UTC)

// doneStore is memstore with every nightly run done: the runner's tests
// set scores directly rather than run the night.
type doneStore struct {
	*memstore.Store
}

func (d doneStore) Run(ctx context.Context, shopID, day string) (scores.Run, error) {
	return scores.Run{ShopID: shopID, AsOf: day, Done: true}, nil
}

// queue records the bodies sent.
type queue struct {
	mu     sync.Mutex
	bodies []string
	fail   bool
}

func (q *queue) Send(ctx context.Context, bodies []string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail {
		return errors.New("queue down")
	}
	q.bodies = append(q.bodies, bodies...)
	return nil
}

func (q *queue) sendIDs() map[string]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := map[string]int{}
	for _, b := range q.bodies {
		m, err := campaign.ParseSendMessage(b)
		if err != nil {
			panic(err)
		}
		out[m.SendID]++
	}
	return out
}

// customerSpec is one test customer: its consent and scores.
type customerSpec struct {
	id      string
	consent bool
	email   bool
	band    string
	clv     float64
	e30     float64
	next    string
}

type fixture struct {
	st doneStore
	sh shop.Shop
	q  *queue
}

// newFixture is a Berlin shop of 4 shards with n at-risk customers
// (high band, CLV 20000: a 15% offer) plus the specs given.
func newFixture(t *testing.T, n int, specs ...customerSpec) *fixture {
	t.Helper()
	ctx := context.Background()
	ms := memstore.New()
	sh := shop.Shop{ID: "shop_run", Name: "Bean & Leaf", Currency: "EUR", Timezone: "Europe/Berlin", Shards: 4, CreatedAt: now.AddDate(-1, 0, 0)}
	if err := ms.CreateShop(ctx, sh, shop.NewCredentials()); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		specs = append(specs, customerSpec{id: fmt.Sprintf("c%04d", i), consent: true, email: true, band: "high", clv: 20000, e30: 0.12})
	}
	perShard := map[int][]scores.Score{}
	for _, c := range specs {
		o := order.Order{
			ID: "o-" + c.id, Customer: order.Customer{ID: c.id, FirstName: "Ada", AcceptsMarketing: c.consent},
			CreatedAt: now.AddDate(0, -6, 0), Currency: "EUR", Total: 4000, Status: order.StatusPaid,
			LineItems: []order.LineItem{{Title: "Tea", Quantity: 2, Price: 2000}}, Source: order.SourceAPI,
		}
		if c.email {
			o.Customer.Email = c.id + "@example.com"
		}
		if _, _, err := ms.PutOrders(ctx, sh, []order.Order{o}, ""); err != nil {
			t.Fatal(err)
		}
		next := c.next
		if next == "" {
			next = "2025-09-01"
		}
		perShard[sh.Shard(c.id)] = append(perShard[sh.Shard(c.id)], scores.Score{
			CustomerID: c.id, AsOf: asOf, Model: "mbgnbd", PAlive: 0.2, ChurnRisk: 0.8, ChurnBand: c.band,
			ExpectedPurchases30d: c.e30, ExpectedPurchases90d: 3 * c.e30, ExpectedPurchases365d: 12 * c.e30,
			ExpectedOrderValue: 6000, CLV: c.clv, NextOrderDate: next,
		})
	}
	for n, put := range perShard {
		if _, err := ms.PutScores(ctx, sh, n, put, nil); err != nil {
			t.Fatal(err)
		}
	}
	cfg := campaign.DefaultConfig()
	cfg.Settings.From = "Bean & Leaf <news@bean.example>"
	if err := ms.PutCampaignConfig(ctx, sh.ID, cfg); err != nil {
		t.Fatal(err)
	}
	return &fixture{st: doneStore{ms}, sh: sh, q: &queue{}}
}

func (f *fixture) runner(at time.Time) *runner.Runner {
	return &runner.Runner{Store: f.st, Queue: f.q, Now: func() time.Time { return at }, Parallel: 2}
}

func (f *fixture) recipients(t *testing.T, id string) []campaign.Recipient {
	t.Helper()
	var out []campaign.Recipient
	if err := f.st.Recipients(context.Background(), f.sh.ID, id, func(r campaign.Recipient) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRunSelectsRecordsAndQueues(t *testing.T) {
	f := newFixture(t, 200,
		customerSpec{id: "no-consent", consent: false, email: true, band: "high", clv: 20000, e30: 0.1},
		customerSpec{id: "no-email", consent: true, email: false, band: "high", clv: 20000, e30: 0.1},
		customerSpec{id: "safe", consent: true, email: true, band: "low", clv: 20000, e30: 0.1},
		customerSpec{id: "restock", consent: true, email: true, band: "low", clv: 3000, e30: 0.5, next: "2025-05-03"},
		customerSpec{id: "small", consent: true, email: true, band: "high", clv: 100, e30: 0.1},
	)
	ctx := context.Background()
	res, err := f.runner(now).Run(ctx, f.sh.ID, asOf, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Customers != 205 || res.Shards != 4 || res.Status != campaign.StatusSending {
		t.Fatalf("result %+v", res)
	}
	for _, r := range []campaign.Reason{campaign.ReasonNoConsent, campaign.ReasonNoEmail, campaign.ReasonNotAtRisk} {
		if res.Reasons[r] != 1 {
			t.Errorf("reason %s counted %d, want 1 (%v)", r, res.Reasons[r], res.Reasons)
		}
	}
	recs := f.recipients(t, asOf)
	if len(recs) != res.Mailed+res.Holdout || len(recs) != 202 {
		t.Fatalf("%d recipients recorded, result says %d mailed + %d held out; want 202", len(recs), res.Mailed, res.Holdout)
	}
	queued := f.q.sendIDs()
	coupons := map[string]bool{}
	for _, r := range recs {
		wantHoldout := campaign.InHoldout(r.CustomerID, asOf, 0.10)
		if (r.Group == campaign.GroupHoldout) != wantHoldout {
			t.Errorf("customer %s in group %s, holdout draw says %v", r.CustomerID, r.Group, wantHoldout)
		}
		if r.SendID != campaign.SendID(asOf, r.CustomerID) || !r.SelectedAt.Equal(now) {
			t.Errorf("recipient %+v", r)
		}
		switch {
		case r.Group == campaign.GroupHoldout:
			if r.State != campaign.StateHeldOut || r.Coupon != "" || queued[r.SendID] != 0 {
				t.Errorf("held-out %s: state %s, coupon %q, queued %d", r.CustomerID, r.State, r.Coupon, queued[r.SendID])
			}
		case r.CustomerID == "restock":
			if r.Kind != campaign.KindReplenishment || r.Percent != 0 || r.Coupon != "" {
				t.Errorf("replenishment recipient %+v", r)
			}
		case r.CustomerID == "small":
			if r.Kind != campaign.KindWinback || r.Percent != 0 || r.Coupon != "" {
				t.Errorf("a small customer is mailed without a discount: %+v", r)
			}
		default:
			if r.Kind != campaign.KindWinback || r.Percent != 15 || !campaign.ValidCoupon(r.Coupon) || r.ExpiresOn != "2025-05-15" {
				t.Errorf("win-back recipient %+v, want 15%% with a coupon expiring 2025-05-15", r)
			}
			if coupons[r.Coupon] {
				t.Errorf("coupon %s given twice", r.Coupon)
			}
			coupons[r.Coupon] = true
		}
		if r.Group == campaign.GroupMailed && (r.State != campaign.StateQueued || queued[r.SendID] != 1) {
			t.Errorf("mailed %s: state %s, queued %d times", r.CustomerID, r.State, queued[r.SendID])
		}
	}
	if res.Queued != res.Mailed || len(queued) != res.Mailed {
		t.Errorf("queued %d (%d distinct), mailed %d", res.Queued, len(queued), res.Mailed)
	}
	c, err := f.st.Campaign(ctx, f.sh.ID, asOf)
	if err != nil || c.Report == nil || c.Report.Selected != 202 || c.Report.Queued != res.Mailed {
		t.Fatalf("campaign %+v, %v: want a first report of 202 selected", c, err)
	}
}

func TestRunAgainDoesNothingNew(t *testing.T) {
	f := newFixture(t, 100)
	ctx := context.Background()
	first, err := f.runner(now).Run(ctx, f.sh.ID, asOf, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	before := f.recipients(t, asOf)
	second, err := f.runner(now.Add(time.Hour)).Run(ctx, f.sh.ID, asOf, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if second.Mailed != 0 || second.Holdout != 0 || second.ShardsSkipped != 4 {
		t.Fatalf("second run %+v, want nothing new", second)
	}
	after := f.recipients(t, asOf)
	if len(after) != len(before) {
		t.Fatalf("%d recipients after a second run, %d before", len(after), len(before))
	}
	for i := range after {
		if after[i].Coupon != before[i].Coupon || !after[i].SelectedAt.Equal(before[i].SelectedAt) {
			t.Fatalf("a second run changed recipient %s", after[i].CustomerID)
		}
	}
	// Still queued recipients are queued again (the sender claims before
	// mailing, so a message twice is harmless).
	if second.Queued != first.Mailed {
		t.Errorf("second run queued %d, want the %d still queued", second.Queued, first.Mailed)
	}
}

// failingStore fails AddRecipient from the n-th call on, as a run killed
// midway would stop.
type failingStore struct {
	doneStore
	mu    sync.Mutex
	calls int
	at    int
}

func (f *failingStore) AddRecipient(ctx context.Context, sh shop.Shop, r campaign.Recipient, capSince time.Time) (bool, error) {
	f.mu.Lock()
	f.calls++
	fail := f.calls >= f.at
	f.mu.Unlock()
	if fail {
		return false, errors.New("killed")
	}
	return f.doneStore.AddRecipient(ctx, sh, r, capSince)
}

func TestKilledRunResumes(t *testing.T) {
	clean := newFixture(t, 120)
	ctx := context.Background()
	if _, err := clean.runner(now).Run(ctx, clean.sh.ID, asOf, runner.Options{}); err != nil {
		t.Fatal(err)
	}
	want := clean.recipients(t, asOf)
	for _, at := range []int{1, 17, 60, 119} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			f := newFixture(t, 120)
			fs := &failingStore{doneStore: f.st, at: at}
			r := f.runner(now)
			r.Store = fs
			if _, err := r.Run(ctx, f.sh.ID, asOf, runner.Options{}); err == nil {
				t.Fatal("a killed run reported no error")
			}
			if _, err := f.runner(now.Add(10*time.Minute)).Run(ctx, f.sh.ID, asOf, runner.Options{}); err != nil {
				t.Fatal(err)
			}
			got := f.recipients(t, asOf)
			if len(got) != len(want) {
				t.Fatalf("%d recipients after resuming, %d in a clean run", len(got), len(want))
			}
			queued := f.q.sendIDs()
			for i, r := range got {
				if r.CustomerID != want[i].CustomerID || r.Group != want[i].Group || r.Percent != want[i].Percent {
					t.Fatalf("recipient %d: %+v, clean run %+v", i, r, want[i])
				}
				if r.State == campaign.StateQueued && queued[r.SendID] == 0 {
					t.Errorf("queued recipient %s was never sent to the queue", r.CustomerID)
				}
			}
			c, _ := f.st.Campaign(ctx, f.sh.ID, asOf)
			if c.Status != campaign.StatusSending {
				t.Errorf("status %s after resuming", c.Status)
			}
		})
	}
}

func TestFrequencyCapAcrossCampaigns(t *testing.T) {
	f := newFixture(t, 50)
	ctx := context.Background()
	first, err := f.runner(now).Run(ctx, f.sh.ID, asOf, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	next := "2025-05-01"
	second, err := f.runner(now.Add(24*time.Hour)).Run(ctx, f.sh.ID, next, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if second.Mailed+second.Holdout != 0 || second.Reasons[campaign.ReasonFrequencyCap] != first.Mailed+first.Holdout {
		t.Fatalf("the next day's run %+v, want everybody capped (%d)", second, first.Mailed+first.Holdout)
	}
	later, err := f.runner(now.Add(31*24*time.Hour)).Run(ctx, f.sh.ID, "2025-05-31", runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if later.Mailed+later.Holdout != 50 {
		t.Fatalf("31 days later %+v, want all 50 selected again", later)
	}
}

func TestDryRun(t *testing.T) {
	f := newFixture(t, 80)
	ctx := context.Background()
	var (
		mu       sync.Mutex
		rendered = map[string]bool{}
	)
	r := f.runner(now)
	r.Queue = nil
	dry, err := r.Run(ctx, f.sh.ID, asOf, runner.Options{DryRun: true, Render: func(rec campaign.Recipient, sum customer.Summary) error {
		mu.Lock()
		defer mu.Unlock()
		rendered[rec.CustomerID] = true
		if sum.CustomerID == "c0007" {
			return errors.New("template fails for this one")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if dry.CampaignID != asOf+"-dry" || dry.Status != campaign.StatusDone || dry.Queued != 0 {
		t.Fatalf("dry run %+v", dry)
	}
	if len(rendered) != dry.Mailed || (!campaign.InHoldout("c0007", asOf, 0.1) && (dry.RenderErrors != 1 || dry.RenderFailed[0] != "c0007")) {
		t.Errorf("rendered %d of %d mailed; render errors %d %v", len(rendered), dry.Mailed, dry.RenderErrors, dry.RenderFailed)
	}
	dryRecs := f.recipients(t, asOf+"-dry")
	for _, rec := range dryRecs {
		if rec.Group == campaign.GroupMailed && rec.State != campaign.StateDryRun {
			t.Errorf("dry-run recipient in state %s", rec.State)
		}
	}
	// A dry run reserves no contact: the real run selects the same
	// customers into the same groups.
	live, err := f.runner(now.Add(time.Minute)).Run(ctx, f.sh.ID, asOf, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if live.Mailed != dry.Mailed || live.Holdout != dry.Holdout {
		t.Fatalf("live run %d mailed / %d held out, dry run %d / %d", live.Mailed, live.Holdout, dry.Mailed, dry.Holdout)
	}
	liveRecs := f.recipients(t, asOf)
	groups := map[string]campaign.Group{}
	for _, rec := range liveRecs {
		groups[rec.CustomerID] = rec.Group
	}
	for _, rec := range dryRecs {
		if groups[rec.CustomerID] != rec.Group {
			t.Errorf("customer %s: dry run %s, live run %s", rec.CustomerID, rec.Group, groups[rec.CustomerID])
		}
	}
}

func TestCouponClashDrawsAgain(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	r := f.runner(now)
	// Every draw gives the same code until the reader runs dry of
	// repeats: the second and third recipients must draw again.
	r.Rand = &repeat{block: []byte{1, 2, 3, 4, 5}, times: 2}
	res, err := r.Run(ctx, f.sh.ID, asOf, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, rec := range f.recipients(t, asOf) {
		if rec.Coupon == "" {
			continue
		}
		if seen[rec.Coupon] {
			t.Errorf("coupon %s recorded twice", rec.Coupon)
		}
		seen[rec.Coupon] = true
	}
	if len(seen) != res.Mailed {
		t.Errorf("%d distinct coupons for %d mailed", len(seen), res.Mailed)
	}
}

// repeat reads block times over, then counts up.
type repeat struct {
	block []byte
	times int
	n     byte
}

func (r *repeat) Read(p []byte) (int, error) {
	for i := range p {
		if r.times > 0 {
			p[i] = r.block[i%len(r.block)]
			continue
		}
		r.n++
		p[i] = r.n
	}
	if r.times > 0 {
		r.times--
	}
	return len(p), nil
}

func TestRunRefusals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5)
	cfg := campaign.DefaultConfig()
	if err := f.st.PutCampaignConfig(ctx, f.sh.ID, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := f.runner(now).Run(ctx, f.sh.ID, asOf, runner.Options{}); !errors.Is(err, campaign.ErrNoSender) || !strings.Contains(err.Error(), f.sh.ID) {
		t.Errorf("no sender: %v, want ErrNoSender naming the shop", err)
	}
	if _, err := f.runner(now).Run(ctx, f.sh.ID, "2025-4-30", runner.Options{}); err == nil {
		t.Error("a bad day was accepted")
	}
	r := f.runner(now)
	r.Store = notDone{f.st}
	if _, err := r.Run(ctx, f.sh.ID, asOf, runner.Options{DryRun: true}); !errors.Is(err, runner.ErrNotScored) {
		t.Errorf("unscored day: %v, want ErrNotScored", err)
	}
	if n := len(f.q.sendIDs()); n != 0 {
		t.Errorf("%d messages queued by refused runs", n)
	}
}

type notDone struct{ doneStore }

func (n notDone) Run(ctx context.Context, shopID, day string) (scores.Run, error) {
	return n.doneStore.Store.Run(ctx, shopID, day)
}

// TestNoFrequencyCap: with the cap off (0 days), a customer contacted by
// one campaign can be selected by the next day's.
func TestNoFrequencyCap(t *testing.T) {
	f := newFixture(t, 20)
	ctx := context.Background()
	cfg, _ := f.st.CampaignConfig(ctx, f.sh.ID)
	cfg.Settings.FrequencyCapDays = 0
	if err := f.st.PutCampaignConfig(ctx, f.sh.ID, cfg); err != nil {
		t.Fatal(err)
	}
	first, err := f.runner(now).Run(ctx, f.sh.ID, asOf, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.runner(now.Add(24*time.Hour)).Run(ctx, f.sh.ID, "2025-05-01", runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := second.Mailed+second.Holdout, first.Mailed+first.Holdout; got != want || second.Reasons[campaign.ReasonFrequencyCap] != 0 {
		t.Fatalf("next day without a cap: %d selected (%v), want %d", got, second.Reasons, want)
	}
}

// TestNightly: the nightly step runs the day's campaign, never one of a
// past day (a backfill), resumes a paused recent campaign and queues its
// queued recipients again; without a sender address it runs nothing.
func TestNightly(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 30)
	at := now
	r := f.runner(at)
	r.Now = func() time.Time { return at }
	if err := r.Nightly(ctx, f.sh.ID, asOf); err != nil {
		t.Fatal(err)
	}
	c, err := f.st.Campaign(ctx, f.sh.ID, asOf)
	if err != nil || c.Status != campaign.StatusSending || c.Report == nil {
		t.Fatalf("after the nightly step: %+v, %v", c, err)
	}
	queued := len(f.q.sendIDs())

	// SES paused the sending; the next night resumes the campaign.
	if _, err := f.st.SetCampaignStatus(ctx, f.sh.ID, asOf, nil, campaign.StatusPaused, "SendingPausedException"); err != nil {
		t.Fatal(err)
	}
	at = now.Add(24 * time.Hour)
	before := len(f.q.bodies)
	if err := r.Nightly(ctx, f.sh.ID, "2025-05-01"); err != nil {
		t.Fatal(err)
	}
	c, _ = f.st.Campaign(ctx, f.sh.ID, asOf)
	if c.Status != campaign.StatusSending || c.PausedReason != "" {
		t.Errorf("the paused campaign was not resumed: %+v", c)
	}
	if again := len(f.q.bodies) - before; again != queued {
		t.Errorf("resuming queued %d messages, want the %d queued recipients", again, queued)
	}

	// A backfill of an old day scores it, and mails nobody.
	at = now.Add(40 * 24 * time.Hour)
	before = len(f.q.bodies)
	if err := r.Nightly(ctx, f.sh.ID, "2025-05-02"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Campaign(ctx, f.sh.ID, "2025-05-02"); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("a past day's nightly step began a campaign: %v", err)
	}
	if n := len(f.q.bodies) - before; n != 0 {
		t.Errorf("a past day's nightly step queued %d messages", n)
	}

	// Without a sender address, campaigns are off.
	g := newFixture(t, 5)
	if err := g.st.PutCampaignConfig(ctx, g.sh.ID, campaign.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	if err := g.runner(now).Nightly(ctx, g.sh.ID, asOf); err != nil {
		t.Fatal(err)
	}
	if cs, _ := g.st.Campaigns(ctx, g.sh.ID, 10); len(cs) != 0 || len(g.q.bodies) != 0 {
		t.Errorf("campaigns off, yet %d campaign(s) and %d message(s)", len(cs), len(g.q.bodies))
	}
}
