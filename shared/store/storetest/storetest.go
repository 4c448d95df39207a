// Package storetest is the contract every store of shops, orders and
// customer summaries keeps: Run checks a store's behaviour (outcomes of
// storing orders, the summaries that result, errors) through its methods
// only. The DynamoDB store and the in-memory store both run it, so the fake
// the handlers' unit tests use cannot drift from the real one.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/customer/customertest"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
)

// Store is what the contract covers: the methods of store.Store and
// memstore.Store that handlers and jobs consume.
type Store interface {
	PutOrders(ctx context.Context, sh shop.Shop, orders []order.Order, webhookID string) ([]customer.Outcome, capacity.Usage, error)
	Order(ctx context.Context, shopID, orderID string) (order.Order, error)
	Customer(ctx context.Context, sh shop.Shop, customerID string) (customer.Summary, error)
	Customers(ctx context.Context, sh shop.Shop, n int, fn func(customer.Summary) error) error
	CreateShop(ctx context.Context, sh shop.Shop, cred shop.Credentials) error
	Shop(ctx context.Context, id string) (shop.Shop, error)
	APIKey(ctx context.Context, keyID string) (shopID, secretHash string, err error)
	SetWebhookSecret(ctx context.Context, shopID, secret, shopifyDomain string) error
	ShopIDs(ctx context.Context) ([]string, error)
}

// Run runs the contract against stores made by open, a new empty store
// for each test.
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"ShopCreateAndLookUp", testShops},
		{"PutOrderOutcomes", testPutOrderOutcomes},
		{"GroupFoldsLikeSeparatePuts", testGroup},
		{"InvalidGroups", testInvalidGroups},
		{"GuestOrderLinkedToAnAccount", testReattribution},
		{"NotFound", testNotFound},
		{"RandomHistoriesEqualRecomputation", testRandomHistories},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// T0 is the contract's reference time.
var T0 = time.Date(2025, 5, 2, 9, 0, 0, 0, time.UTC)

// NewShop creates a shop in s with a fresh id.
func NewShop(t testing.TB, s Store, tz string) shop.Shop {
	t.Helper()
	sh := shop.Shop{
		ID: shop.NewID(), Name: "Test shop", Currency: "EUR", Timezone: tz,
		Shards: shop.DefaultShards, CreatedAt: time.Now().UTC().Truncate(time.Second),
	}
	cred := shop.NewCredentials()
	sh.WebhookSecret = cred.WebhookSecret
	if err := s.CreateShop(context.Background(), sh, cred); err != nil {
		t.Fatal(err)
	}
	return sh
}

// Order is a paid order of one line item, versioned by its creation time.
func Order(id, cust string, at time.Time, total int64) order.Order {
	return order.Order{
		ID: id, CreatedAt: at, UpdatedAt: at, Currency: "EUR", Total: total, Status: order.StatusPaid,
		Customer:  order.Customer{ID: cust, Email: cust + "@example.com", FirstName: "Kim", AcceptsMarketing: true},
		LineItems: []order.LineItem{{SKU: "SKU-" + id, Title: "Mug " + id, Quantity: 1, Price: total}},
		Source:    order.SourceAPI,
	}
}

// Canonical makes summaries comparable with reflect.DeepEqual.
func Canonical(s customer.Summary) customer.Summary {
	if len(s.LastItems) == 0 {
		s.LastItems = nil
	}
	return s
}

// put stores one order and returns its outcome's change and error.
func put(t *testing.T, s Store, sh shop.Shop, o order.Order, webhookID string) (customer.Change, error) {
	t.Helper()
	outs, _, err := s.PutOrders(context.Background(), sh, []order.Order{o}, webhookID)
	if err != nil {
		t.Fatalf("PutOrders(%s): %v", o.ID, err)
	}
	if len(outs) != 1 {
		t.Fatalf("PutOrders(%s): %d outcomes", o.ID, len(outs))
	}
	return outs[0].Change, outs[0].Err
}

func mustPut(t *testing.T, s Store, sh shop.Shop, o order.Order, webhookID string, want customer.Change) {
	t.Helper()
	got, err := put(t, s, sh, o, webhookID)
	if err != nil || got != want {
		t.Fatalf("put %s (customer %s): %q, %v; want %q", o.ID, o.Customer.ID, got, err, want)
	}
}

// checkSummary compares a stored summary with a recomputation from the
// stored versions of the given orders.
func checkSummary(t *testing.T, s Store, sh shop.Shop, custID string, orderIDs ...string) customer.Summary {
	t.Helper()
	ctx := context.Background()
	var orders []order.Order
	for _, id := range orderIDs {
		o, err := s.Order(ctx, sh.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		orders = append(orders, o)
	}
	got, err := s.Customer(ctx, sh, custID)
	if err != nil {
		t.Fatalf("customer %s: %v", custID, err)
	}
	if want := customer.Recompute(orders, sh.Location()); !reflect.DeepEqual(Canonical(got), Canonical(want)) {
		t.Fatalf("customer %s: stored summary\n%+v\n!= recomputed\n%+v", custID, got, want)
	}
	return got
}

func testShops(t *testing.T, s Store) {
	ctx := context.Background()
	sh := shop.Shop{ID: shop.NewID(), Name: "Acme", Currency: "USD", Timezone: "America/Chicago", Shards: 8,
		WebhookSecret: "whsec", ShopifyDomain: "acme.myshopify.com", CreatedAt: T0}
	cred := shop.NewCredentials()
	if err := s.CreateShop(ctx, sh, cred); err != nil {
		t.Fatal(err)
	}
	got, err := s.Shop(ctx, sh.ID)
	if err != nil || !reflect.DeepEqual(got, sh) {
		t.Fatalf("Shop() = %+v, %v; want %+v", got, err, sh)
	}
	shopID, hash, err := s.APIKey(ctx, cred.KeyID)
	if err != nil || shopID != sh.ID || hash != cred.KeyHash {
		t.Fatalf("APIKey() = %q, %q, %v", shopID, hash, err)
	}
	if err := s.CreateShop(ctx, sh, shop.NewCredentials()); !errors.Is(err, shop.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	other := shop.Shop{ID: shop.NewID(), Name: "Other", Currency: "EUR", Shards: 4, CreatedAt: T0}
	if err := s.CreateShop(ctx, other, cred); !errors.Is(err, shop.ErrExists) {
		t.Fatalf("a new shop with a taken API key id: %v, want ErrExists", err)
	}
	if _, err := s.Shop(ctx, other.ID); !errors.Is(err, shop.ErrNotFound) {
		t.Fatalf("a refused create must write nothing, got shop %s: %v", other.ID, err)
	}
	if _, err := s.Shop(ctx, "shop_missing"); !errors.Is(err, shop.ErrNotFound) {
		t.Fatalf("missing shop: %v", err)
	}
	if _, _, err := s.APIKey(ctx, "nokeynokeynokey0"); !errors.Is(err, shop.ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	if err := s.SetWebhookSecret(ctx, sh.ID, "shpss_from_shopify", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Shop(ctx, sh.ID); got.WebhookSecret != "shpss_from_shopify" || got.ShopifyDomain != sh.ShopifyDomain || got.Name != sh.Name {
		t.Fatalf("after SetWebhookSecret without a domain: %+v", got)
	}
	if err := s.SetWebhookSecret(ctx, sh.ID, "shpss_2", "acme-2.myshopify.com"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Shop(ctx, sh.ID); got.WebhookSecret != "shpss_2" || got.ShopifyDomain != "acme-2.myshopify.com" {
		t.Fatalf("after SetWebhookSecret with a domain: %+v", got)
	}
	if err := s.SetWebhookSecret(ctx, "shop_missing", "x", ""); !errors.Is(err, shop.ErrNotFound) {
		t.Fatalf("SetWebhookSecret on a missing shop: %v", err)
	}
	ids, err := s.ShopIDs(ctx)
	if err != nil || !reflect.DeepEqual(ids, []string{sh.ID}) {
		t.Fatalf("ShopIDs() = %v, %v", ids, err)
	}
}

func testPutOrderOutcomes(t *testing.T, s Store) {
	ctx := context.Background()
	sh := NewShop(t, s, "Europe/Paris")
	o := Order("1001", "c-1", T0, 2599)

	mustPut(t, s, sh, o, "", customer.Created)
	mustPut(t, s, sh, o, "", customer.Unchanged)
	bumped := o
	bumped.UpdatedAt = T0.Add(time.Minute)
	mustPut(t, s, sh, bumped, "", customer.Unchanged) // only updated_at differs

	refunded := o
	refunded.Refunded = 599
	refunded.UpdatedAt = T0.Add(time.Hour)
	mustPut(t, s, sh, refunded, "", customer.Updated)
	mustPut(t, s, sh, o, "", customer.Stale)
	sum := checkSummary(t, s, sh, "c-1", "1001")
	if sum.TotalSpend != 2000 || sum.PurchaseDays != 1 || sum.PaidOrders != 1 {
		t.Fatalf("after refund: %+v", sum)
	}

	stolen := Order("1001", "c-2", T0, 2599)
	if _, err := put(t, s, sh, stolen, ""); !errors.Is(err, customer.ErrConflict) {
		t.Fatalf("reuse by another customer: %v, want ErrConflict", err)
	}
	if _, err := s.Customer(ctx, sh, "c-2"); !errors.Is(err, customer.ErrNotFound) {
		t.Fatalf("a conflict must write nothing, got customer c-2: %v", err)
	}
	stored, err := s.Order(ctx, sh.ID, "1001")
	if err != nil || stored.Hash() != refunded.Hash() {
		t.Fatalf("stored order changed by a conflict: %+v, %v", stored, err)
	}

	o2 := Order("1002", "c-1", T0.Add(49*time.Hour), 1000)
	mustPut(t, s, sh, o2, "wh-1", customer.Created)
	o2b := o2
	o2b.Status = order.StatusCancelled
	o2b.UpdatedAt = o2.UpdatedAt.Add(time.Minute)
	mustPut(t, s, sh, o2b, "wh-1", customer.Duplicate)
	sum = checkSummary(t, s, sh, "c-1", "1001", "1002")
	if sum.PurchaseDays != 2 || sum.RepeatSpend != 1000 || sum.LastItemsFrom != "1002" {
		t.Fatalf("after second order: %+v", sum)
	}

	// Cancelling the latest purchase brings back the previous one's items.
	mustPut(t, s, sh, o2b, "wh-2", customer.Updated)
	sum = checkSummary(t, s, sh, "c-1", "1001", "1002")
	if sum.LastItemsFrom != "1001" || len(sum.LastItems) != 1 || sum.LastItems[0].SKU != "SKU-1001" || sum.PurchaseDays != 1 {
		t.Fatalf("after cancelling the latest: %+v", sum)
	}
	if sum.ProfileFrom.Key != customer.OrderKey("1002") {
		t.Fatalf("profile from %+v, want the latest order 1002 (cancelled or not)", sum.ProfileFrom)
	}

	// Order ids of any length and script are stored and found under them.
	long := Order(string([]rune("😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀")), "c-1", T0.Add(99*time.Hour), 10)
	mustPut(t, s, sh, long, "", customer.Created)
	if got, err := s.Order(ctx, sh.ID, long.ID); err != nil || got.ID != long.ID {
		t.Fatalf("Order(long id) = %+v, %v", got, err)
	}
	checkSummary(t, s, sh, "c-1", "1001", "1002", long.ID)
}

func testGroup(t *testing.T, s Store) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	a := Order("A", "g-1", T0, 1000)
	b := Order("B", "g-1", T0.Add(48*time.Hour), 700)
	aRefunded := a
	aRefunded.Status, aRefunded.Refunded, aRefunded.UpdatedAt = order.StatusRefunded, a.Total, T0.Add(time.Hour)
	aMoved := a
	aMoved.CreatedAt = T0.Add(time.Minute)

	outs, _, err := s.PutOrders(ctx, sh, []order.Order{a, a, b, aRefunded, aMoved, a}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []customer.Change{customer.Created, customer.Unchanged, customer.Created, customer.Updated, "", customer.Stale}
	if len(outs) != len(want) {
		t.Fatalf("%d outcomes, want %d", len(outs), len(want))
	}
	for i, o := range outs {
		if o.Change != want[i] || (want[i] == "") != errors.Is(o.Err, customer.ErrConflict) {
			t.Errorf("order %d: %+v, want %q", i, o, want[i])
		}
	}
	if o, err := s.Order(ctx, sh.ID, "A"); err != nil || o.Status != order.StatusRefunded {
		t.Fatalf("order A stored as %+v, %v; want its latest version", o, err)
	}
	sum := checkSummary(t, s, sh, "g-1", "A", "B")
	if sum.PaidOrders != 1 || sum.LastItemsFrom != "B" {
		t.Fatalf("summary %+v", sum)
	}
}

func testInvalidGroups(t *testing.T, s Store) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	a := Order("A", "g-1", T0, 1000)
	for name, tc := range map[string]struct {
		group   []order.Order
		webhook string
	}{
		"empty":                   {nil, ""},
		"two customers":           {[]order.Order{a, Order("C", "g-2", T0, 1)}, ""},
		"more than a max":         {make([]order.Order, customer.MaxGroup+1), ""},
		"a webhook of two orders": {[]order.Order{a, Order("B", "g-1", T0, 1)}, "wh-1"},
	} {
		if _, _, err := s.PutOrders(ctx, sh, tc.group, tc.webhook); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := s.Customer(ctx, sh, "g-1"); !errors.Is(err, customer.ErrNotFound) {
		t.Fatalf("an invalid group must write nothing: %v", err)
	}
}

// testReattribution: Shopify adds customer.id to an order first placed as
// a guest; the order moves from the guest's summary to the account's, and
// later versions update it there.
func testReattribution(t *testing.T, s Store) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	guest := order.GuestCustomerID("kim@example.com")
	asGuest := func(o order.Order) order.Order {
		o.Customer.ID, o.Customer.FirstName = guest, "Guest Kim"
		return o
	}
	g1 := asGuest(Order("G1", "acct-1", T0.Add(72*time.Hour), 1500)) // the guest's latest order
	g2 := asGuest(Order("G2", "acct-1", T0, 800))
	mustPut(t, s, sh, g1, "", customer.Created)
	mustPut(t, s, sh, g2, "", customer.Created)
	acct0 := Order("A0", "acct-1", T0.Add(24*time.Hour), 300)
	mustPut(t, s, sh, acct0, "", customer.Created)

	// The shop links G1 to the account.
	linked := g1
	linked.Customer = Order("", "acct-1", T0, 0).Customer
	linked.UpdatedAt = g1.UpdatedAt.Add(time.Hour)
	mustPut(t, s, sh, linked, "", customer.Updated)
	if o, err := s.Order(ctx, sh.ID, "G1"); err != nil || o.Customer.ID != "acct-1" {
		t.Fatalf("order G1 after the link: %+v, %v", o, err)
	}
	sum := checkSummary(t, s, sh, "acct-1", "A0", "G1")
	if sum.PaidOrders != 2 || sum.LastItemsFrom != "G1" || sum.FirstName != "Kim" {
		t.Fatalf("account after the link: %+v", sum)
	}
	// The guest keeps G2, its items and its profile.
	gs := checkSummary(t, s, sh, guest, "G2")
	if gs.PaidOrders != 1 || gs.LastItemsFrom != "G2" || gs.FirstName != "Guest Kim" {
		t.Fatalf("guest after the link: %+v", gs)
	}

	// Later versions update the order where it is now.
	refunded := linked
	refunded.Status, refunded.Refunded, refunded.UpdatedAt = order.StatusRefunded, linked.Total, linked.UpdatedAt.Add(time.Hour)
	mustPut(t, s, sh, refunded, "", customer.Updated)
	sum = checkSummary(t, s, sh, "acct-1", "A0", "G1")
	if sum.PaidOrders != 1 || sum.LastItemsFrom != "A0" {
		t.Fatalf("account after refunding the linked order: %+v", sum)
	}
	// A late delivery of the guest version is stale; a newer guest
	// version cannot take the order back.
	mustPut(t, s, sh, g1, "", customer.Stale)
	newerGuest := asGuest(refunded)
	newerGuest.UpdatedAt = refunded.UpdatedAt.Add(time.Hour)
	if _, err := put(t, s, sh, newerGuest, ""); !errors.Is(err, customer.ErrConflict) {
		t.Fatalf("guest version after the link: %v, want ErrConflict", err)
	}
	// Another account cannot take it either.
	other := refunded
	other.Customer.ID, other.UpdatedAt = "acct-2", refunded.UpdatedAt.Add(2*time.Hour)
	if _, err := put(t, s, sh, other, ""); !errors.Is(err, customer.ErrConflict) {
		t.Fatalf("another account: %v, want ErrConflict", err)
	}

	// Linking the guest's last order, in a group with a new one, leaves
	// no guest.
	linked2 := g2
	linked2.Customer = linked.Customer
	linked2.UpdatedAt = g2.UpdatedAt.Add(time.Hour)
	outs, _, err := s.PutOrders(ctx, sh, []order.Order{linked2, Order("A1", "acct-1", T0.Add(96*time.Hour), 200)}, "")
	if err != nil || outs[0].Change != customer.Updated || outs[1].Change != customer.Created {
		t.Fatalf("link the guest's last order: %+v, %v", outs, err)
	}
	if _, err := s.Customer(ctx, sh, guest); !errors.Is(err, customer.ErrNotFound) {
		t.Fatalf("guest without orders: %v, want ErrNotFound", err)
	}
	checkSummary(t, s, sh, "acct-1", "A0", "A1", "G1", "G2")
	if n := countCustomers(t, s, sh); n != 1 {
		t.Fatalf("%d summaries over the shards, want 1", n)
	}
}

func testNotFound(t *testing.T, s Store) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	if _, err := s.Order(ctx, sh.ID, "nope"); !errors.Is(err, customer.ErrNotFound) {
		t.Fatalf("missing order: %v", err)
	}
	if _, err := s.Customer(ctx, sh, "nobody"); !errors.Is(err, customer.ErrNotFound) {
		t.Fatalf("missing customer: %v", err)
	}
	mustPut(t, s, sh, Order("1", "c", T0, 1), "", customer.Created)
	other := NewShop(t, s, "UTC")
	if _, err := s.Order(ctx, other.ID, "1"); !errors.Is(err, customer.ErrNotFound) {
		t.Fatalf("another shop's order: %v", err)
	}
	if _, err := s.Customer(ctx, other, "c"); !errors.Is(err, customer.ErrNotFound) {
		t.Fatalf("another shop's customer: %v", err)
	}
}

// testRandomHistories stores shuffled histories of several customers (some
// with guest checkouts linked later), one by one and in groups, and checks
// every summary against a recomputation from the stored orders.
func testRandomHistories(t *testing.T, s Store) {
	ctx := context.Background()
	sh := NewShop(t, s, "America/New_York")
	r := rand.New(rand.NewPCG(7, 11))
	ids := map[string]bool{}
	for c := range 6 {
		cust := fmt.Sprintf("cust-%02d", c)
		stream := customertest.History(r, cust, 6, T0)
		if c%2 == 1 {
			stream = customertest.Linked(stream, order.GuestCustomerID(cust+"@example.com"))
		}
		for len(stream) > 0 {
			n := 1
			for n < min(1+r.IntN(5), len(stream)) && stream[n].Customer.ID == stream[0].Customer.ID {
				n++
			}
			outs, _, err := s.PutOrders(ctx, sh, stream[:n], "")
			if err != nil {
				t.Fatal(err)
			}
			for i, out := range outs {
				if out.Err != nil && !errors.Is(out.Err, customer.ErrConflict) {
					t.Fatalf("order %s: %v", stream[i].ID, out.Err)
				}
			}
			for _, o := range stream[:n] {
				ids[o.ID] = true
			}
			stream = stream[n:]
		}
	}
	byCustomer := map[string][]string{}
	for id := range ids {
		o, err := s.Order(ctx, sh.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		byCustomer[o.Customer.ID] = append(byCustomer[o.Customer.ID], id)
	}
	for cust, orderIDs := range byCustomer {
		checkSummary(t, s, sh, cust, orderIDs...)
	}
	if n := countCustomers(t, s, sh); n != len(byCustomer) {
		t.Fatalf("%d summaries over the shards, want %d", n, len(byCustomer))
	}
}

// countCustomers counts the summaries over all shards, checking that each
// shard lists its customers in id order.
func countCustomers(t *testing.T, s Store, sh shop.Shop) int {
	t.Helper()
	n := 0
	for shard := range sh.Shards {
		last := ""
		err := s.Customers(context.Background(), sh, shard, func(c customer.Summary) error {
			if c.CustomerID <= last {
				return fmt.Errorf("shard %d lists %s after %s", shard, c.CustomerID, last)
			}
			if sh.Shard(c.CustomerID) != shard {
				return fmt.Errorf("customer %s listed in shard %d", c.CustomerID, shard)
			}
			last = c.CustomerID
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return n
}
