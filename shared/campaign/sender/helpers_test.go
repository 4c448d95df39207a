package sender_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/sender"
	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/mail"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
	"github.com/winback/winback/shared/store/memstore"
)

// testStore is what the tests set up with, besides what the sender uses:
// both store.Store and memstore.Store have it.
type testStore interface {
	sender.Store
	CreateShop(ctx context.Context, sh shop.Shop, cred shop.Credentials) error
	PutOrders(ctx context.Context, sh shop.Shop, orders []order.Order, webhookID string) ([]customer.Outcome, capacity.Usage, error)
	PutCampaignConfig(ctx context.Context, shopID string, c campaign.Config) error
	BeginCampaign(ctx context.Context, c campaign.Campaign) (campaign.Campaign, error)
	AddRecipient(ctx context.Context, sh shop.Shop, r campaign.Recipient, capSince time.Time) (bool, error)
	Suppress(ctx context.Context, sh shop.Shop, email, reason string) error
	EraseCustomer(ctx context.Context, sh shop.Shop, customerID string) error
}

var (
	_ testStore = (*store.Store)(nil)
	_ testStore = (*memstore.Store)(nil)
)

// t0 is when the tests' campaigns send.
var t0 = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

const (
	campaignID = "2026-12-01"
	from       = "Bean & Leaf <news@beanleaf.example>"
	unsubBase  = "https://api.winback.example"
)

// fixture is one shop with a sending campaign in a store.
type fixture struct {
	t  testing.TB
	st testStore
	sh shop.Shop
	c  campaign.Campaign
	// prefix makes customer ids and addresses unique to the test, so that
	// tests can share the SES emulator.
	prefix string
	n      atomic.Int64
}

var fixtureSeq atomic.Int64

func newFixture(t testing.TB, st testStore) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, st: st, prefix: fmt.Sprintf("t%d-%d", time.Now().UnixNano(), fixtureSeq.Add(1))}
	f.sh = shop.Shop{ID: shop.NewID(), Name: "Bean & Leaf", Currency: "EUR", Timezone: "Europe/Berlin",
		Shards: shop.DefaultShards, CreatedAt: t0.Add(-90 * 24 * time.Hour)}
	if err := st.CreateShop(ctx, f.sh, shop.NewCredentials()); err != nil {
		t.Fatal(err)
	}
	cfg := campaign.DefaultConfig()
	cfg.Settings.From = from
	if err := st.PutCampaignConfig(ctx, f.sh.ID, cfg); err != nil {
		t.Fatal(err)
	}
	c, err := st.BeginCampaign(ctx, campaign.Campaign{
		ShopID: f.sh.ID, ID: campaignID, AsOf: campaignID, CreatedAt: t0.Add(-time.Hour),
		Status: campaign.StatusSending, Settings: cfg.Settings,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	return f
}

// address is the e-mail address of a customer of the fixture.
func (f *fixture) address(customerID string) string { return customerID + "@example.com" }

// customer stores a customer with one paid order of two items.
func (f *fixture) customer(edit func(*order.Customer)) string {
	f.t.Helper()
	id := fmt.Sprintf("%s-c%d", f.prefix, f.n.Add(1))
	c := order.Customer{ID: id, Email: f.address(id), FirstName: "Ada", AcceptsMarketing: true}
	if edit != nil {
		edit(&c)
	}
	at := t0.Add(-60 * 24 * time.Hour)
	o := order.Order{
		ID: id + "-o1", CreatedAt: at, UpdatedAt: at, Currency: "EUR", Total: 5990, Status: order.StatusPaid,
		Customer: c, Source: order.SourceAPI,
		LineItems: []order.LineItem{{SKU: "MUG", Title: "Enamel mug", Quantity: 2, Price: 2495}, {SKU: "TEA", Title: "Green tea", Quantity: 1, Price: 1000}},
	}
	outs, _, err := f.st.PutOrders(context.Background(), f.sh, []order.Order{o}, "")
	if err != nil || outs[0].Err != nil {
		f.t.Fatalf("put order of %s: %v %v", id, err, outs)
	}
	return id
}

// recipient records a queued recipient (a 15% win-back offer) of the
// fixture's campaign and returns its message.
func (f *fixture) recipient(customerID string, edit func(*campaign.Recipient)) campaign.SendMessage {
	f.t.Helper()
	code, err := campaign.NewCoupon(rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	r := campaign.Recipient{
		ShopID: f.sh.ID, CampaignID: f.c.ID, SendID: campaign.SendID(f.c.ID, customerID), CustomerID: customerID,
		Group: campaign.GroupMailed, Kind: campaign.KindWinback, Percent: 15, Coupon: code, ExpiresOn: "2026-12-15",
		SelectedAt: t0.Add(-time.Hour), State: campaign.StateQueued,
	}
	if edit != nil {
		edit(&r)
	}
	if _, err := f.st.AddRecipient(context.Background(), f.sh, r, t0.Add(-30*24*time.Hour)); err != nil {
		f.t.Fatal(err)
	}
	return campaign.SendMessage{ShopID: f.sh.ID, CampaignID: r.CampaignID, SendID: r.SendID}
}

// queued is a new customer and their queued recipient.
func (f *fixture) queued() (campaign.SendMessage, string) {
	id := f.customer(nil)
	return f.recipient(id, nil), id
}

// get reads a recipient back.
func (f *fixture) get(m campaign.SendMessage) campaign.Recipient {
	f.t.Helper()
	r, err := f.st.Recipient(context.Background(), m.ShopID, m.CampaignID, m.SendID)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// force moves a recipient to a state, as another sender would have.
func (f *fixture) force(m campaign.SendMessage, ch campaign.Change) {
	f.t.Helper()
	if _, err := f.st.ChangeRecipient(context.Background(), m.ShopID, m.CampaignID, m.SendID, ch); err != nil {
		f.t.Fatal(err)
	}
}

// sender is a Sender over the fixture's store at time now.
func (f *fixture) sender(m sender.Mailer, dl sender.DeadLetters, now time.Time) *sender.Sender {
	return &sender.Sender{
		Store: f.st, Mail: m, DeadLetters: dl, UnsubscribeBase: unsubBase,
		Rate: 1000, Now: func() time.Time { return now }, Log: testLog(f.t),
	}
}

// testLog writes the sender's logs to the test's log, and fails the test
// when a line shows an e-mail address.
func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	line := string(p)
	if strings.Contains(line, "@example.com") || strings.Contains(line, "news@") {
		w.t.Errorf("a log line shows an e-mail address: %s", line)
	}
	w.t.Log(strings.TrimSuffix(line, "\n"))
	return len(p), nil
}

// result is one scripted answer of fakeMailer.
type result struct {
	err error
	// accepted: the message is sent although err is returned (an answer
	// lost after SES accepted it).
	accepted bool
}

// fakeMailer keeps what it is given; its answers are scripted in turn,
// then it accepts everything.
type fakeMailer struct {
	mu     sync.Mutex
	script []result
	calls  int
	sent   []mail.Email
}

func (f *fakeMailer) Send(ctx context.Context, e mail.Email) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.calls
	f.calls++
	var r result
	if i < len(f.script) {
		r = f.script[i]
	}
	if r.err == nil || r.accepted {
		f.sent = append(f.sent, e)
	}
	if r.err != nil {
		return "", r.err
	}
	return fmt.Sprintf("0100-fake-%d", i), nil
}

func (f *fakeMailer) emails() []mail.Email {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]mail.Email(nil), f.sent...)
}

// letter is one dead letter.
type letter struct{ body, reason string }

// fakeDeadLetters keeps the dead letters.
type fakeDeadLetters struct {
	mu      sync.Mutex
	letters []letter
	err     error
}

func (d *fakeDeadLetters) Send(ctx context.Context, body, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	d.letters = append(d.letters, letter{body, reason})
	return nil
}

func (d *fakeDeadLetters) all() []letter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]letter(nil), d.letters...)
}
