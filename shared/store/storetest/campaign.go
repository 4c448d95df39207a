package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/shop"
)

// CampaignStore is what the campaign pipeline consumes, on top of Store:
// campaign configuration, the token key, campaigns, recipients with their
// coupons and contacts, and the selection's bulk reads.
type CampaignStore interface {
	Store
	Suppress(ctx context.Context, sh shop.Shop, email, reason string) error

	CampaignConfig(ctx context.Context, shopID string) (campaign.Config, error)
	PutCampaignConfig(ctx context.Context, shopID string, c campaign.Config) error
	TokenKeys(ctx context.Context) (campaign.TokenKeys, error)

	BeginCampaign(ctx context.Context, c campaign.Campaign) (campaign.Campaign, error)
	Campaign(ctx context.Context, shopID, id string) (campaign.Campaign, error)
	Campaigns(ctx context.Context, shopID string, limit int) ([]campaign.Campaign, error)
	MarkCampaignShard(ctx context.Context, shopID, id string, shard int) error
	SetCampaignStatus(ctx context.Context, shopID, id string, from []campaign.Status, to campaign.Status, reason string) (campaign.Campaign, error)
	PutCampaignReport(ctx context.Context, shopID, id string, r campaign.Report) error

	AddRecipient(ctx context.Context, sh shop.Shop, r campaign.Recipient, capSince time.Time) (bool, error)
	Recipient(ctx context.Context, shopID, campaignID, sendID string) (campaign.Recipient, error)
	Recipients(ctx context.Context, shopID, campaignID string, fn func(campaign.Recipient) error) error
	BucketRecipients(ctx context.Context, shopID, campaignID string, bucket int, afterSendID string, limit int) ([]campaign.Recipient, error)
	ChangeRecipient(ctx context.Context, shopID, campaignID, sendID string, ch campaign.Change) (campaign.Recipient, error)
	Contacts(ctx context.Context, sh shop.Shop, shard int, fn func(customerID string, at time.Time) error) error
	CouponOwner(ctx context.Context, shopID, code string) (campaignID, customerID string, err error)

	Summaries(ctx context.Context, sh shop.Shop, ids []string) (map[string]customer.Summary, error)
	SuppressionList(ctx context.Context, sh shop.Shop) (func(email string) string, error)
	AddressKey(ctx context.Context, sh shop.Shop, email string) (string, error)
	SuppressKey(ctx context.Context, sh shop.Shop, key, reason string) error
	Suppressed(ctx context.Context, sh shop.Shop, email string) (string, error)

	StopSending(ctx context.Context, shopID string, stop campaign.Stop) (campaign.Stop, bool, error)
	SendingStop(ctx context.Context, shopID string) (campaign.Stop, error)
	LiftSendingStop(ctx context.Context, shopID string, at time.Time) (campaign.Stop, error)
	CountFeedback(ctx context.Context, shopID, campaignID, event string) (campaign.Campaign, error)
}

// RunCampaigns runs the campaign part of the contract against stores made
// by open, a new empty store for each test.
func RunCampaigns(t *testing.T, open func(t *testing.T) CampaignStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s CampaignStore)
	}{
		{"ConfigDefaultAndRoundTrip", testCampaignConfig},
		{"TokenKeyIsStable", testTokenKey},
		{"CampaignLifecycle", testCampaignLifecycle},
		{"CampaignsNewestFirst", testCampaignList},
		{"AddRecipientOutcomes", testAddRecipient},
		{"RecipientsAcrossBuckets", testRecipientListing},
		{"ChangeRecipientClaims", testChangeRecipient},
		{"SummariesInBulk", testSummaries},
		{"SuppressionList", testSuppressionList},
		{"SuppressByAddressKey", testSuppressKey},
		{"SendingStopFirstStays", testSendingStop},
		{"FeedbackCountedOnce", testFeedbackCounts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// Cap is the frequency cap the contract uses.
const Cap = 30 * 24 * time.Hour

// NewCampaign is a selecting campaign of shop sh for an as-of day.
func NewCampaign(sh shop.Shop, asOf string, dry bool) campaign.Campaign {
	return campaign.Campaign{
		ShopID: sh.ID, ID: campaign.ID(asOf, dry), AsOf: asOf, DryRun: dry,
		CreatedAt: T0, Status: campaign.StatusSelecting, Settings: campaign.DefaultSettings(),
	}
}

// NewRecipient is a mailed win-back recipient of a campaign, queued (or
// dry_run in a dry run's campaign), selected at at, with a 10% coupon
// when coupon is not empty.
func NewRecipient(sh shop.Shop, campaignID, customerID, coupon string, at time.Time) campaign.Recipient {
	r := campaign.Recipient{
		ShopID: sh.ID, CampaignID: campaignID, SendID: campaign.SendID(campaignID, customerID),
		CustomerID: customerID, Group: campaign.GroupMailed, Kind: campaign.KindWinback,
		SelectedAt: at, State: campaign.StateQueued,
	}
	if len(campaignID) > len(campaign.DrySuffix) && campaignID[len(campaignID)-len(campaign.DrySuffix):] == campaign.DrySuffix {
		r.State = campaign.StateDryRun
	}
	if coupon != "" {
		r.Percent, r.Coupon, r.ExpiresOn = 10, coupon, at.AddDate(0, 0, 14).Format(time.DateOnly)
	}
	return r
}

func begin(t *testing.T, s CampaignStore, c campaign.Campaign) campaign.Campaign {
	t.Helper()
	got, err := s.BeginCampaign(context.Background(), c)
	if err != nil {
		t.Fatalf("BeginCampaign(%s): %v", c.ID, err)
	}
	return got
}

func addRecipient(t *testing.T, s CampaignStore, sh shop.Shop, r campaign.Recipient) {
	t.Helper()
	created, err := s.AddRecipient(context.Background(), sh, r, r.SelectedAt.Add(-Cap))
	if err != nil || !created {
		t.Fatalf("AddRecipient(%s of %s): %v, %v; want created", r.CustomerID, r.CampaignID, created, err)
	}
}

// contacts lists the contacts of every shard of sh.
func contacts(t *testing.T, s CampaignStore, sh shop.Shop) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	for n := range sh.Shards {
		last := ""
		err := s.Contacts(context.Background(), sh, n, func(id string, at time.Time) error {
			if id <= last || sh.Shard(id) != n {
				return fmt.Errorf("contact %s listed after %s, in shard %d", id, last, n)
			}
			last = id
			out[id] = at
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func testCampaignConfig(t *testing.T, s CampaignStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	got, err := s.CampaignConfig(ctx, sh.ID)
	if err != nil || !reflect.DeepEqual(got, campaign.DefaultConfig()) {
		t.Fatalf("CampaignConfig of a new shop = %+v, %v; want the default", got, err)
	}
	c := campaign.DefaultConfig()
	c.Settings.From = "Shop <news@shop.example>"
	c.Settings.FrequencyCapDays = 45
	c.Template = &campaign.Template{Subject: "Hi {{.FirstName}}", HTML: "<p>Hi</p>", Text: "Hi"}
	for range 2 { // the second put overwrites the first
		if err := s.PutCampaignConfig(ctx, sh.ID, c); err != nil {
			t.Fatal(err)
		}
		if got, err := s.CampaignConfig(ctx, sh.ID); err != nil || !reflect.DeepEqual(got, c) {
			t.Fatalf("CampaignConfig = %+v, %v; want %+v", got, err, c)
		}
		c.Template = nil
		c.Settings.Tiers = c.Settings.Tiers[:1]
	}
	other := NewShop(t, s, "UTC")
	if got, _ := s.CampaignConfig(ctx, other.ID); !reflect.DeepEqual(got, campaign.DefaultConfig()) {
		t.Fatalf("another shop's config: %+v", got)
	}
}

func testTokenKey(t *testing.T, s CampaignStore) {
	ctx := context.Background()
	keys := make([]campaign.TokenKeys, 4)
	var wg sync.WaitGroup
	errs := make([]error, len(keys))
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = s.TokenKeys(ctx)
		}()
	}
	wg.Wait()
	for i, k := range keys {
		if errs[i] != nil || len(k) != 1 || len(k[0].Key) != 32 || k[0].Version != 1 || !reflect.DeepEqual(k, keys[0]) {
			t.Fatalf("racing callers got %+v (%v) and %+v", k, errs[i], keys[0])
		}
	}
	again, err := s.TokenKeys(ctx)
	if err != nil || !reflect.DeepEqual(again, keys[0]) {
		t.Fatalf("TokenKeys changed: %+v, %v", again, err)
	}
	again[0].Key[0] ^= 0xff // a caller's copy is its own
	if k, _ := s.TokenKeys(ctx); !reflect.DeepEqual(k, keys[0]) {
		t.Fatal("changing a returned key changed the stored one")
	}
}

func testCampaignLifecycle(t *testing.T, s CampaignStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	c := NewCampaign(sh, "2025-05-01", false)
	if _, err := s.Campaign(ctx, sh.ID, c.ID); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("Campaign before BeginCampaign: %v", err)
	}
	first := begin(t, s, c)
	if !reflect.DeepEqual(first, c) {
		t.Fatalf("BeginCampaign = %+v, want %+v", first, c)
	}
	second := c
	second.Status, second.CreatedAt, second.Settings.HoldoutShare = campaign.StatusDone, T0.Add(time.Hour), 0.5
	if got := begin(t, s, second); !reflect.DeepEqual(got, first) {
		t.Fatalf("BeginCampaign again = %+v, want the first %+v", got, first)
	}

	for _, n := range []int{5, 2, 5, 2, 40} {
		if err := s.MarkCampaignShard(ctx, sh.ID, c.ID, n); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Campaign(ctx, sh.ID, c.ID)
	if err != nil || !reflect.DeepEqual(got.Shards, []int{2, 5, 40}) || !got.ShardDone(5) || got.ShardDone(3) {
		t.Fatalf("after marking shards: %+v, %v", got.Shards, err)
	}
	if err := s.MarkCampaignShard(ctx, sh.ID, "1999-01-01", 1); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("marking a missing campaign: %v", err)
	}

	sending := []campaign.Status{campaign.StatusSelecting}
	got, err = s.SetCampaignStatus(ctx, sh.ID, c.ID, sending, campaign.StatusSending, "")
	if err != nil || got.Status != campaign.StatusSending || !reflect.DeepEqual(got.Shards, []int{2, 5, 40}) {
		t.Fatalf("selecting → sending: %+v, %v", got, err)
	}
	got, err = s.SetCampaignStatus(ctx, sh.ID, c.ID, sending, campaign.StatusDone, "")
	if !errors.Is(err, campaign.ErrStateChanged) || got.Status != campaign.StatusSending || got.ID != c.ID {
		t.Fatalf("a move from the wrong status: %+v, %v; want the current campaign and ErrStateChanged", got, err)
	}
	got, err = s.SetCampaignStatus(ctx, sh.ID, c.ID, []campaign.Status{campaign.StatusSelecting, campaign.StatusSending}, campaign.StatusPaused, "SendingPausedException")
	if err != nil || got.Status != campaign.StatusPaused || got.PausedReason != "SendingPausedException" {
		t.Fatalf("sending → paused: %+v, %v", got, err)
	}
	got, err = s.SetCampaignStatus(ctx, sh.ID, c.ID, nil, campaign.StatusSending, "")
	if err != nil || got.Status != campaign.StatusSending || got.PausedReason != "" {
		t.Fatalf("paused → sending from any status: %+v, %v", got, err)
	}
	if stored, _ := s.Campaign(ctx, sh.ID, c.ID); !reflect.DeepEqual(stored, got) {
		t.Fatalf("stored %+v, returned %+v", stored, got)
	}
	if _, err := s.SetCampaignStatus(ctx, sh.ID, "1999-01-01", nil, campaign.StatusDone, ""); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("status of a missing campaign: %v", err)
	}

	r := campaign.Report{
		CampaignID: c.ID, AsOf: c.AsOf, MeasuredAt: T0.Add(15 * 24 * time.Hour), Currency: "EUR", AttributionWindowDays: 14,
		Selected: 10, Holdout: 1, States: map[campaign.State]int{campaign.StateSent: 9}, Mailed: 9,
		Kinds: map[campaign.Kind]int{campaign.KindWinback: 10}, Offers: map[string]int{"10": 9},
		MailedGroup:  campaign.GroupResult{Customers: 9, Converted: 2, ConversionRate: 2.0 / 9, Orders: 2, Revenue: 5998, RevenuePerCustomer: 5998.0 / 9},
		HoldoutGroup: campaign.GroupResult{Customers: 1},
	}
	for range 2 {
		if err := s.PutCampaignReport(ctx, sh.ID, c.ID, r); err != nil {
			t.Fatal(err)
		}
		got, err = s.Campaign(ctx, sh.ID, c.ID)
		if err != nil || got.Report == nil || !reflect.DeepEqual(*got.Report, r) || got.Status != campaign.StatusSending {
			t.Fatalf("after PutCampaignReport: %+v, %v", got, err)
		}
		r.Mailed, r.States = 8, nil
	}
	if err := s.PutCampaignReport(ctx, sh.ID, "1999-01-01", r); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("report of a missing campaign: %v", err)
	}
	if _, err := s.Campaign(ctx, sh.ID, "1999-01-01"); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("a failed update must not create a campaign: %v", err)
	}
}

func testCampaignList(t *testing.T, s CampaignStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	other := NewShop(t, s, "UTC")
	if got, err := s.Campaigns(ctx, sh.ID, 0); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Campaigns of a new shop = %v, %v; want an empty list", got, err)
	}
	for _, c := range []campaign.Campaign{
		NewCampaign(sh, "2025-05-02", false), NewCampaign(sh, "2025-05-01", false),
		NewCampaign(sh, "2025-05-03", false), NewCampaign(sh, "2025-05-02", true),
		NewCampaign(other, "2025-06-01", false),
	} {
		begin(t, s, c)
	}
	ids := func(cs []campaign.Campaign) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	for _, tc := range []struct {
		limit int
		want  []string
	}{
		{0, []string{"2025-05-03", "2025-05-02-dry", "2025-05-02", "2025-05-01"}},
		{-1, []string{"2025-05-03", "2025-05-02-dry", "2025-05-02", "2025-05-01"}},
		{2, []string{"2025-05-03", "2025-05-02-dry"}},
		{1, []string{"2025-05-03"}},
		{10, []string{"2025-05-03", "2025-05-02-dry", "2025-05-02", "2025-05-01"}},
	} {
		got, err := s.Campaigns(ctx, sh.ID, tc.limit)
		if err != nil || !reflect.DeepEqual(ids(got), tc.want) {
			t.Errorf("Campaigns(limit %d) = %v, %v; want %v", tc.limit, ids(got), err, tc.want)
		}
	}
	if got, _ := s.Campaigns(ctx, sh.ID, 1); len(got) == 1 && !reflect.DeepEqual(got[0], NewCampaign(sh, "2025-05-03", false)) {
		t.Errorf("listed %+v", got[0])
	}
}

func testAddRecipient(t *testing.T, s CampaignStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	may := begin(t, s, NewCampaign(sh, "2025-05-01", false))
	r1 := NewRecipient(sh, may.ID, "cust-1", "WB-AAAA-0001", T0)
	capAt := func(r campaign.Recipient) time.Time { return r.SelectedAt.Add(-Cap) }

	created, err := s.AddRecipient(ctx, sh, r1, capAt(r1))
	if err != nil || !created {
		t.Fatalf("first AddRecipient: %v, %v", created, err)
	}
	if got, err := s.Recipient(ctx, sh.ID, may.ID, r1.SendID); err != nil || !reflect.DeepEqual(got, r1) {
		t.Fatalf("Recipient = %+v, %v; want %+v", got, err, r1)
	}
	// A resumed run records the same recipient again: nothing changes.
	resumed := r1
	resumed.SelectedAt, resumed.Coupon = T0.Add(time.Hour), "WB-AAAA-0009"
	for _, r := range []campaign.Recipient{r1, resumed} {
		if created, err := s.AddRecipient(ctx, sh, r, capAt(r)); err != nil || created {
			t.Fatalf("AddRecipient of a recorded recipient: %v, %v; want (false, nil)", created, err)
		}
	}
	if got, _ := s.Recipient(ctx, sh.ID, may.ID, r1.SendID); !reflect.DeepEqual(got, r1) {
		t.Fatalf("a resumed AddRecipient changed the recipient: %+v", got)
	}
	if _, _, err := s.CouponOwner(ctx, sh.ID, "WB-AAAA-0009"); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("a resumed AddRecipient reserved its coupon: %v", err)
	}

	// Another customer drawing the same code: refused, nothing written.
	r2 := NewRecipient(sh, may.ID, "cust-2", r1.Coupon, T0)
	if _, err := s.AddRecipient(ctx, sh, r2, capAt(r2)); !errors.Is(err, campaign.ErrCouponTaken) {
		t.Fatalf("a taken coupon: %v, want ErrCouponTaken", err)
	}
	if _, err := s.Recipient(ctx, sh.ID, may.ID, r2.SendID); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("a refused recipient was written: %v", err)
	}
	if _, ok := contacts(t, s, sh)["cust-2"]; ok {
		t.Fatal("a refused recipient's contact was written")
	}
	if camp, cust, err := s.CouponOwner(ctx, sh.ID, r1.Coupon); err != nil || camp != may.ID || cust != "cust-1" {
		t.Fatalf("CouponOwner = %q, %q, %v", camp, cust, err)
	}
	r2.Coupon = "WB-AAAA-0002"
	addRecipient(t, s, sh, r2)

	// Another campaign within the cap: refused, nothing written.
	mid := begin(t, s, NewCampaign(sh, "2025-05-10", false))
	r3 := NewRecipient(sh, mid.ID, "cust-1", "WB-AAAA-0003", T0.Add(9*24*time.Hour))
	if _, err := s.AddRecipient(ctx, sh, r3, capAt(r3)); !errors.Is(err, campaign.ErrContacted) {
		t.Fatalf("within the cap: %v, want ErrContacted", err)
	}
	if _, err := s.Recipient(ctx, sh.ID, mid.ID, r3.SendID); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("a capped recipient was written: %v", err)
	}
	if _, _, err := s.CouponOwner(ctx, sh.ID, r3.Coupon); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("a capped recipient's coupon was reserved: %v", err)
	}
	// Both a taken code and the cap: the cap (drawing again would not help).
	r3.Coupon = r1.Coupon
	if _, err := s.AddRecipient(ctx, sh, r3, capAt(r3)); !errors.Is(err, campaign.ErrContacted) {
		t.Fatalf("within the cap and a taken code: %v, want ErrContacted", err)
	}
	if got := contacts(t, s, sh); !got["cust-1"].Equal(T0) || !got["cust-2"].Equal(T0) || len(got) != 2 {
		t.Fatalf("contacts %v", got)
	}

	// After the cap, another campaign may record them: a contact exactly
	// at the cap's start still counts, one a nanosecond before it does not.
	june := begin(t, s, NewCampaign(sh, "2025-06-15", false))
	r4 := NewRecipient(sh, june.ID, "cust-1", "", T0.Add(Cap))
	if _, err := s.AddRecipient(ctx, sh, r4, capAt(r4)); !errors.Is(err, campaign.ErrContacted) {
		t.Fatalf("contacted exactly at the cap's start: %v, want ErrContacted", err)
	}
	r4.SelectedAt = T0.Add(Cap + time.Nanosecond)
	addRecipient(t, s, sh, r4)
	if got := contacts(t, s, sh)["cust-1"]; !got.Equal(r4.SelectedAt) {
		t.Fatalf("contact of cust-1 at %v, want %v", got, r4.SelectedAt)
	}
	// The campaign holding the contact is never refused by it (here
	// recording the customer under another send id).
	again := r4
	again.SendID, again.SelectedAt = campaign.SendID(june.ID, "cust-1/2"), r4.SelectedAt.Add(time.Hour)
	addRecipient(t, s, sh, again)

	// A dry run neither checks nor writes contacts, nor reserves coupon
	// codes: its recipients keep their codes (for previews), a code taken
	// by a real recipient included, and the codes stay free.
	dry := begin(t, s, NewCampaign(sh, "2025-06-15", true))
	dryCodes := map[string]string{"cust-1": r1.Coupon, "cust-8": "", "cust-9": "WB-DRYR-0009"}
	for cust, code := range dryCodes {
		r := NewRecipient(sh, dry.ID, cust, code, T0.Add(Cap+time.Hour))
		addRecipient(t, s, sh, r)
		if got, err := s.Recipient(ctx, sh.ID, dry.ID, r.SendID); err != nil || got.State != campaign.StateDryRun || got.Coupon != code {
			t.Fatalf("dry-run recipient: %+v, %v", got, err)
		}
	}
	if got := contacts(t, s, sh); len(got) != 2 || !got["cust-1"].Equal(again.SelectedAt) {
		t.Fatalf("contacts after a dry run: %v", got)
	}
	if camp, cust, err := s.CouponOwner(ctx, sh.ID, r1.Coupon); err != nil || camp != may.ID || cust != "cust-1" {
		t.Fatalf("a dry run took a real recipient's coupon: %q, %q, %v", camp, cust, err)
	}
	if _, _, err := s.CouponOwner(ctx, sh.ID, dryCodes["cust-9"]); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("a dry run reserved its coupon: %v", err)
	}
	taker := NewRecipient(sh, june.ID, "cust-4", dryCodes["cust-9"], T0.Add(Cap+2*time.Hour))
	addRecipient(t, s, sh, taker)
	if camp, cust, err := s.CouponOwner(ctx, sh.ID, taker.Coupon); err != nil || camp != june.ID || cust != "cust-4" {
		t.Fatalf("a dry run's code taken by a real recipient: CouponOwner = %q, %q, %v", camp, cust, err)
	}
	// A held-out recipient is a contact too.
	held := NewRecipient(sh, june.ID, "cust-3", "", T0.Add(Cap+time.Nanosecond))
	held.Group, held.State = campaign.GroupHoldout, campaign.StateHeldOut
	addRecipient(t, s, sh, held)
	if _, ok := contacts(t, s, sh)["cust-3"]; !ok {
		t.Fatal("a held-out recipient has no contact")
	}

	// Another shop is apart: the same code, the same customer.
	other := NewShop(t, s, "UTC")
	oc := begin(t, s, NewCampaign(other, "2025-05-01", false))
	addRecipient(t, s, other, NewRecipient(other, oc.ID, "cust-1", r1.Coupon, T0.Add(time.Hour)))
	if _, err := s.AddRecipient(ctx, other, r1, capAt(r1)); err == nil {
		t.Fatal("a recipient of another shop was accepted")
	}
}

func testRecipientListing(t *testing.T, s CampaignStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	c := begin(t, s, NewCampaign(sh, "2025-05-01", false))
	want := map[string]campaign.Recipient{}
	for i := range 48 {
		r := NewRecipient(sh, c.ID, fmt.Sprintf("r-%02d", i), "", T0.Add(time.Duration(i)*time.Second))
		if i%3 == 0 {
			r.Coupon, r.Percent, r.ExpiresOn = fmt.Sprintf("WB-LIST-%04d", i), 15, "2025-05-16"
		}
		addRecipient(t, s, sh, r)
		want[r.SendID] = r
	}
	// Another campaign's recipients are not listed.
	addRecipient(t, s, sh, NewRecipient(sh, begin(t, s, NewCampaign(sh, "2025-05-02", true)).ID, "r-00", "", T0))

	var all []campaign.Recipient
	if err := s.Recipients(ctx, sh.ID, c.ID, func(r campaign.Recipient) error {
		all = append(all, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want) {
		t.Fatalf("listed %d recipients, want %d", len(all), len(want))
	}
	buckets := map[int][]campaign.Recipient{}
	for i, r := range all {
		if !reflect.DeepEqual(r, want[r.SendID]) {
			t.Fatalf("listed %+v, want %+v", r, want[r.SendID])
		}
		if i > 0 {
			prev := all[i-1]
			if b, pb := campaign.Bucket(r.SendID), campaign.Bucket(prev.SendID); b < pb || b == pb && r.SendID <= prev.SendID {
				t.Fatalf("listed %s (bucket %d) after %s (bucket %d)", r.SendID, b, prev.SendID, pb)
			}
		}
		buckets[campaign.Bucket(r.SendID)] = append(buckets[campaign.Bucket(r.SendID)], r)
	}
	if len(buckets) < 8 {
		t.Fatalf("48 recipients in only %d buckets", len(buckets))
	}

	stop := errors.New("stop")
	n := 0
	err := s.Recipients(ctx, sh.ID, c.ID, func(campaign.Recipient) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("Recipients after fn failed: %v after %d calls; want fn's error after 3", err, n)
	}

	for b := range campaign.Buckets {
		var paged []campaign.Recipient
		after := ""
		for pages := 0; ; pages++ {
			page, err := s.BucketRecipients(ctx, sh.ID, c.ID, b, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 2 || pages > len(buckets[b]) {
				t.Fatalf("bucket %d: page of %d after %d pages", b, len(page), pages)
			}
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			after = page[len(page)-1].SendID
		}
		if !reflect.DeepEqual(paged, buckets[b]) {
			t.Fatalf("bucket %d paged: %d recipients, want %d in send id order", b, len(paged), len(buckets[b]))
		}
		if whole, err := s.BucketRecipients(ctx, sh.ID, c.ID, b, "", 1000); err != nil || len(whole) != len(buckets[b]) {
			t.Fatalf("bucket %d in one page: %d, %v", b, len(whole), err)
		}
	}
	if page, err := s.BucketRecipients(ctx, sh.ID, "1999-01-01", 3, "", 10); err != nil || page == nil || len(page) != 0 {
		t.Fatalf("a missing campaign's bucket: %v, %v; want an empty page", page, err)
	}
	if _, err := s.BucketRecipients(ctx, sh.ID, c.ID, campaign.Buckets, "", 10); err == nil {
		t.Fatal("a bucket out of range was listed")
	}
}

func testChangeRecipient(t *testing.T, s CampaignStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	c := begin(t, s, NewCampaign(sh, "2025-05-01", false))
	queued := []campaign.State{campaign.StateQueued}
	sending := []campaign.State{campaign.StateSending}
	claimedAt := T0.Add(time.Minute)

	// Two senders claim each queued recipient at once: one wins.
	for i := range 4 {
		r := NewRecipient(sh, c.ID, fmt.Sprintf("race-%d", i), "", T0)
		addRecipient(t, s, sh, r)
		var wg sync.WaitGroup
		got := make([]campaign.Recipient, 2)
		errs := make([]error, 2)
		for j, claim := range []string{"claim-a", "claim-b"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[j], errs[j] = s.ChangeRecipient(ctx, sh.ID, c.ID, r.SendID, campaign.Change{
					From: queued, To: campaign.StateSending, NewClaim: claim, ClaimedAt: claimedAt,
				})
			}()
		}
		wg.Wait()
		won := 0
		for j := range 2 {
			switch {
			case errs[j] == nil:
				won++
				if got[j].State != campaign.StateSending || got[j].ClaimID != []string{"claim-a", "claim-b"}[j] || !got[j].ClaimedAt.Equal(claimedAt) {
					t.Fatalf("the winner got %+v", got[j])
				}
			case errors.Is(errs[j], campaign.ErrStateChanged):
				if got[j].State != campaign.StateSending || got[j].SendID != r.SendID {
					t.Fatalf("the loser got %+v, want the claimed recipient", got[j])
				}
			default:
				t.Fatal(errs[j])
			}
		}
		if won != 1 {
			t.Fatalf("%d of two concurrent claims won: %v", won, errs)
		}
	}

	r := NewRecipient(sh, c.ID, "cust-1", "WB-CHNG-0001", T0)
	addRecipient(t, s, sh, r)
	sentAt := T0.Add(2 * time.Minute)
	steps := []struct {
		name string
		ch   campaign.Change
		err  error
	}{
		{"claim", campaign.Change{From: queued, To: campaign.StateSending, NewClaim: "c-1", ClaimedAt: claimedAt}, nil},
		{"claim again", campaign.Change{From: queued, To: campaign.StateSending, NewClaim: "c-2", ClaimedAt: claimedAt}, campaign.ErrStateChanged},
		{"another claim's result", campaign.Change{From: sending, Claim: "c-2", To: campaign.StateSent, MessageID: "m-2", SentAt: sentAt}, campaign.ErrStateChanged},
		{"sent", campaign.Change{From: sending, Claim: "c-1", To: campaign.StateSent, MessageID: "m-1", SentAt: sentAt, Event: campaign.EventSent, EventAt: sentAt}, nil},
		{"a condition only", campaign.Change{From: queued}, campaign.ErrStateChanged},
		{"nothing", campaign.Change{}, nil},
		{"delivered", campaign.Change{Event: campaign.EventDelivered, EventAt: sentAt.Add(time.Minute)}, nil},
		{"delivered again", campaign.Change{Event: campaign.EventDelivered, EventAt: sentAt.Add(time.Hour)}, nil},
		{"complained, with a reason", campaign.Change{From: []campaign.State{campaign.StateSent, campaign.StateInDoubt}, Reason: "complaint", Event: campaign.EventComplained, EventAt: sentAt.Add(2 * time.Hour)}, nil},
		{"delivered in doubt", campaign.Change{To: campaign.StateInDoubt, Event: campaign.EventDelivered, EventAt: sentAt.Add(3 * time.Hour)}, nil},
	}
	cur := r
	for _, st := range steps {
		want, wantErr := st.ch.Apply(cur)
		if (wantErr == nil) != (st.err == nil) {
			t.Fatalf("%s: the test disagrees with Apply: %v", st.name, wantErr)
		}
		got, err := s.ChangeRecipient(ctx, sh.ID, c.ID, r.SendID, st.ch)
		if st.err != nil && !errors.Is(err, st.err) || st.err == nil && err != nil {
			t.Fatalf("%s: %v, want %v", st.name, err, st.err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: got\n%+v\nwant\n%+v", st.name, got, want)
		}
		if stored, _ := s.Recipient(ctx, sh.ID, c.ID, r.SendID); !reflect.DeepEqual(stored, want) {
			t.Fatalf("%s: stored\n%+v\nwant\n%+v", st.name, stored, want)
		}
		cur = want
	}
	if !cur.Events[campaign.EventDelivered].Equal(sentAt.Add(time.Minute)) || len(cur.Events) != 3 {
		t.Fatalf("events %v: each once, with its first time", cur.Events)
	}
	if _, err := s.ChangeRecipient(ctx, sh.ID, c.ID, campaign.SendID(c.ID, "nobody"), campaign.Change{To: campaign.StateSent}); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("changing a missing recipient: %v", err)
	}
	if _, err := s.Recipient(ctx, sh.ID, c.ID, campaign.SendID(c.ID, "nobody")); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("a change of a missing recipient created it: %v", err)
	}
}

func testSummaries(t *testing.T, s CampaignStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	var ids []string
	for i := range 130 {
		id := fmt.Sprintf("sum-%03d", i)
		mustPut(t, s, sh, Order("O-"+id, id, T0.Add(time.Duration(i)*time.Hour), int64(100+i)), "", customer.Created)
		ids = append(ids, id)
	}
	ask := append(slices.Clone(ids), "absent-1", ids[7], "absent-2")
	got, err := s.Summaries(ctx, sh, ask)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("%d summaries, want %d", len(got), len(ids))
	}
	for _, id := range ids {
		want, err := s.Customer(ctx, sh, id)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(Canonical(got[id]), Canonical(want)) {
			t.Fatalf("summary of %s: %+v, want %+v", id, got[id], want)
		}
	}
	if got, err := s.Summaries(ctx, sh, nil); err != nil || len(got) != 0 {
		t.Fatalf("Summaries(nil) = %v, %v", got, err)
	}
	if got, _ := s.Summaries(ctx, NewShop(t, s, "UTC"), ids[:3]); len(got) != 0 {
		t.Fatalf("another shop's summaries: %v", got)
	}
}

func testSuppressionList(t *testing.T, s CampaignStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	other := NewShop(t, s, "UTC")
	for email, reason := range map[string]string{"a@example.com": "unsubscribe", " B@Example.com": "bounce"} {
		if err := s.Suppress(ctx, sh, email, reason); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Suppress(ctx, other, "c@example.com", "complaint"); err != nil {
		t.Fatal(err)
	}
	reason, err := s.SuppressionList(ctx, sh)
	if err != nil {
		t.Fatal(err)
	}
	for email, want := range map[string]string{
		"a@example.com": "unsubscribe", "A@EXAMPLE.COM ": "unsubscribe", "b@example.com": "bounce",
		"c@example.com": "", "": "",
	} {
		if got := reason(email); got != want {
			t.Errorf("reason(%q) = %q, want %q", email, got, want)
		}
	}
	if _, err := s.SuppressionList(ctx, shop.Shop{ID: "shop_missing"}); !errors.Is(err, shop.ErrNotFound) {
		t.Errorf("SuppressionList of a missing shop: %v", err)
	}
}

// testSuppressKey: an address's key, recorded on a recipient, suppresses
// that address later (whatever the customer's address becomes); keys are
// per shop, ignore case and spaces, and the first reason stays.
func testSuppressKey(t *testing.T, s CampaignStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	other := NewShop(t, s, "UTC")
	key, err := s.AddressKey(ctx, sh, "Ada@Example.com ")
	if err != nil || key == "" || strings.Contains(key, "ada") {
		t.Fatalf("AddressKey = %q, %v: want an opaque key", key, err)
	}
	if again, _ := s.AddressKey(ctx, sh, "ada@example.com"); again != key {
		t.Errorf("the key of the same address differs: %q, %q", again, key)
	}
	c := NewCampaign(sh, "2026-11-01", false)
	if _, err := s.BeginCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	r := NewRecipient(sh, c.ID, "c1", "", T0)
	if _, err := s.AddRecipient(ctx, sh, r, T0.Add(-Cap)); err != nil {
		t.Fatal(err)
	}
	got, err := s.ChangeRecipient(ctx, sh.ID, c.ID, r.SendID, campaign.Change{AddressKey: key})
	if err != nil || got.AddressKey != key {
		t.Fatalf("ChangeRecipient recorded %q, %v", got.AddressKey, err)
	}
	if got, _ := s.Recipient(ctx, sh.ID, c.ID, r.SendID); got.AddressKey != key {
		t.Errorf("read back address key %q", got.AddressKey)
	}
	if err := s.SuppressKey(ctx, sh, got.AddressKey, "unsubscribe"); err != nil {
		t.Fatal(err)
	}
	if err := s.SuppressKey(ctx, sh, key, "bounce"); err != nil {
		t.Fatal(err)
	}
	if why, _ := s.Suppressed(ctx, sh, "ada@example.com"); why != "unsubscribe" {
		t.Errorf("suppressed for %q, want the first reason, unsubscribe", why)
	}
	if why, _ := s.Suppressed(ctx, other, "ada@example.com"); why != "" {
		t.Errorf("another shop's address suppressed for %q", why)
	}
	if err := s.SuppressKey(ctx, sh, "ada@example.com", "unsubscribe"); err == nil {
		t.Error("SuppressKey took an address for a key")
	}
}
