package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
	"github.com/winback/winback/shared/store/memstore"
)

// testStore is what the tests set up and check through: both stores
// have it.
type testStore interface {
	api.Store
	CreateShop(ctx context.Context, sh shop.Shop, cred shop.Credentials) error
	BeginCampaign(ctx context.Context, c campaign.Campaign) (campaign.Campaign, error)
	AddRecipient(ctx context.Context, sh shop.Shop, r campaign.Recipient, capSince time.Time) (bool, error)
	Recipient(ctx context.Context, shopID, campaignID, sendID string) (campaign.Recipient, error)
	PutCampaignReport(ctx context.Context, shopID, id string, r campaign.Report) error
	Suppressed(ctx context.Context, sh shop.Shop, email string) (string, error)
	AddressKey(ctx context.Context, sh shop.Shop, email string) (string, error)
}

var (
	_ testStore = (*memstore.Store)(nil)
	_ testStore = (*store.Store)(nil)
)

var tableSeq atomic.Int64

// backends are the stores the routes are tested over: the in-memory one
// and the DynamoDB adapter on DynamoDB Local, a fresh table per test.
var backends = []struct {
	name string
	open func(t *testing.T) testStore
}{
	{"memstore", func(t *testing.T) testStore { return memstore.New() }},
	{"dynamodb", dynamoStore},
}

func dynamoStore(t *testing.T) testStore {
	t.Helper()
	db := emulator.DynamoDB(t)
	table := fmt.Sprintf("web-test-%d-%d", time.Now().UnixNano()%1e6, tableSeq.Add(1))
	if err := store.CreateTable(context.Background(), db, table); err != nil {
		t.Fatal(err)
	}
	return store.New(db, table)
}

// now is the tests' clock: the day after the campaign of asOf.
var now = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

const asOf = "2026-11-01"

// fixture: shop one ("Tea & Co. <Berlin>", a name to escape) with
// customers c1 (ada@example.com) and c2, and shop two with a customer c1
// of the same address; each shop has campaign asOf, in which c1 was
// mailed with a coupon and (in one) c2 held out.
type fixture struct {
	st             testStore
	h              http.Handler
	one, two       shop.Shop
	oneKey, twoKey string
	tokenKey       []byte
	// logs is what the routes logged (JSON lines).
	logs *bytes.Buffer
}

const adaEmail = "ada@example.com"

func newFixture(t *testing.T, st testStore) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{st: st, logs: &bytes.Buffer{}}
	f.one, f.oneKey = newShop(t, st, "Tea & Co. <Berlin>")
	f.two, f.twoKey = newShop(t, st, "Other shop")
	putCustomer(t, st, f.one, "c1", adaEmail)
	putCustomer(t, st, f.one, "c2", "bea@example.com")
	putCustomer(t, st, f.two, "c1", adaEmail)
	for i, sh := range []shop.Shop{f.one, f.two} {
		beginCampaign(t, st, sh, asOf)
		addRecipient(t, st, sh, asOf, "c1", campaign.GroupMailed, coupon(i))
	}
	addRecipient(t, st, f.one, asOf, "c2", campaign.GroupHoldout, "")
	keys, err := st.TokenKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.tokenKey = keys[0].Key
	d := api.All(st, slog.New(slog.NewJSONHandler(f.logs, nil)))
	d.Now = func() time.Time { return now }
	f.h = api.Routes(d)
	return f
}

func newShop(t *testing.T, st testStore, name string) (shop.Shop, string) {
	t.Helper()
	cred := shop.NewCredentials()
	sh := shop.Shop{ID: shop.NewID(), Name: name, Currency: "EUR", Timezone: "UTC", Shards: 4, CreatedAt: now.AddDate(0, -6, 0)}
	if err := st.CreateShop(context.Background(), sh, cred); err != nil {
		t.Fatal(err)
	}
	return sh, cred.APIKey
}

func putCustomer(t *testing.T, st testStore, sh shop.Shop, id, email string) {
	t.Helper()
	putCustomerAt(t, st, sh, id, email, now.AddDate(0, -3, 0))
}

// putCustomerAt stores an order of the customer placed at at (its
// profile, the address among it, is the latest order's).
func putCustomerAt(t *testing.T, st testStore, sh shop.Shop, id, email string, at time.Time) {
	t.Helper()
	o := order.Order{ID: "o-" + id + "-" + at.Format("20060102"), CreatedAt: at, UpdatedAt: at, Currency: "EUR", Total: 2500, Status: order.StatusPaid,
		Customer: order.Customer{ID: id, Email: email, FirstName: "Ada", AcceptsMarketing: true}}
	if _, _, err := st.PutOrders(context.Background(), sh, []order.Order{o}, ""); err != nil {
		t.Fatal(err)
	}
}

func beginCampaign(t *testing.T, st testStore, sh shop.Shop, id string) campaign.Campaign {
	t.Helper()
	day := id[:len(time.DateOnly)]
	c, err := st.BeginCampaign(context.Background(), campaign.Campaign{
		ShopID: sh.ID, ID: id, AsOf: day, DryRun: strings.HasSuffix(id, campaign.DrySuffix),
		CreatedAt: now, Status: campaign.StatusSending, Settings: campaign.DefaultSettings(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// addRecipient records a customer in a campaign: mailed (sent, with the
// coupon when one is given) or held out.
func addRecipient(t *testing.T, st testStore, sh shop.Shop, campaignID, customerID string, g campaign.Group, coupon string) campaign.Recipient {
	t.Helper()
	r := campaign.Recipient{ShopID: sh.ID, CampaignID: campaignID, SendID: campaign.SendID(campaignID, customerID),
		CustomerID: customerID, Group: g, Kind: campaign.KindWinback, SelectedAt: now, State: campaign.StateHeldOut}
	if g == campaign.GroupMailed {
		r.State, r.MessageID, r.SentAt = campaign.StateSent, "msg-"+customerID, now
		if coupon != "" {
			r.Percent, r.Coupon, r.ExpiresOn = 15, coupon, "2026-11-16"
		}
	}
	if _, err := st.AddRecipient(context.Background(), sh, r, now.AddDate(0, 0, -30)); err != nil {
		t.Fatal(err)
	}
	return r
}

// coupon is a valid, distinct code for each n.
func coupon(n int) string {
	c, err := campaign.NewCoupon(rand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(n >> 16)}))
	if err != nil {
		panic(err)
	}
	return c
}

func (f *fixture) token(t *testing.T, shopID, customerID, campaignID string) string {
	t.Helper()
	tok, err := campaign.SignToken(f.tokenKey, campaign.Token{ShopID: shopID, CustomerID: customerID, CampaignID: campaignID, Issued: "2026-11-02"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// do serves one request; a body makes it a form POST unless
// headers say otherwise.
func (f *fixture) do(t *testing.T, method, target, key string, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	return rec
}

// getJSON serves a GET with the key and decodes the answer.
func (f *fixture) getJSON(t *testing.T, target, key string) (int, map[string]any) {
	t.Helper()
	rec := f.do(t, "GET", target, key, "")
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("GET %s: %v: %s", target, err, rec.Body)
	}
	if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("GET %s: %d with Content-Type %q", target, rec.Code, rec.Header().Get("Content-Type"))
	}
	return rec.Code, body
}
