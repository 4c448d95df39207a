package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/customer/customertest"
	"github.com/winback/winback/shared/emulator"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

var tableSeq atomic.Int64

// newStore gives each test its own table on the test process's DynamoDB Local.
func newStore(t testing.TB) (*store.Store, *dynamodb.Client, string) {
	t.Helper()
	db := emulator.DynamoDB(t)
	table := fmt.Sprintf("winback-test-%d-%d", time.Now().UnixNano()%1e6, tableSeq.Add(1))
	if err := store.CreateTable(context.Background(), db, table); err != nil {
		t.Fatal(err)
	}
	return store.New(db, table), db, table
}

func newShop(t testing.TB, s *store.Store, tz string) shop.Shop {
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

var t0 = time.Date(2025, 5, 2, 9, 0, 0, 0, time.UTC)

func mkOrder(id, cust string, at time.Time, total int64) order.Order {
	return order.Order{
		ID: id, CreatedAt: at, UpdatedAt: at, Currency: "EUR", Total: total, Status: order.StatusPaid,
		Customer:  order.Customer{ID: cust, Email: cust + "@example.com", FirstName: "Kim", AcceptsMarketing: true},
		LineItems: []order.LineItem{{SKU: "SKU-" + id, Title: "Mug " + id, Quantity: 1, Price: total}},
		Source:    order.SourceAPI,
	}
}

func TestCreateShopAndLookUpItsKey(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	sh := shop.Shop{ID: shop.NewID(), Name: "Acme", Currency: "USD", Timezone: "America/Chicago", Shards: 8,
		WebhookSecret: "whsec", CreatedAt: t0}
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
	if err := s.CreateShop(ctx, sh, shop.NewCredentials()); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	if _, err := s.Shop(ctx, "shop_missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing shop: %v", err)
	}
	if _, _, err := s.APIKey(ctx, "nokeynokeynokey0"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	if err := s.SetWebhookSecret(ctx, sh.ID, "shpss_from_shopify"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Shop(ctx, sh.ID); got.WebhookSecret != "shpss_from_shopify" || got.Name != sh.Name {
		t.Fatalf("after SetWebhookSecret: %+v", got)
	}
	if err := s.SetWebhookSecret(ctx, "shop_missing", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetWebhookSecret on a missing shop: %v", err)
	}
	ids, err := s.ShopIDs(ctx)
	if err != nil || !reflect.DeepEqual(ids, []string{sh.ID}) {
		t.Fatalf("ShopIDs() = %v, %v", ids, err)
	}
}

func TestPutOrderOutcomes(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	sh := newShop(t, s, "Europe/Paris")
	o := mkOrder("1001", "c-1", t0, 2599)

	put := func(o order.Order, webhook string) store.PutResult {
		t.Helper()
		res, err := s.PutOrder(ctx, sh, o, webhook)
		if err != nil {
			t.Fatalf("PutOrder(%s): %v", o.ID, err)
		}
		return res
	}

	res := put(o, "")
	if res.Change != customer.Created || res.Usage.RoundTrips != 2 {
		t.Fatalf("first put: %+v, want created in 2 round trips", res)
	}
	if res := put(o, ""); res.Change != customer.Unchanged || res.Usage.RoundTrips != 1 {
		t.Fatalf("re-send: %+v, want unchanged after 1 read", res)
	}

	refunded := o
	refunded.Refunded = 599
	refunded.UpdatedAt = t0.Add(time.Hour)
	if res := put(refunded, ""); res.Change != customer.Updated {
		t.Fatalf("partial refund: %+v", res)
	}
	if res := put(o, ""); res.Change != customer.Stale || res.Usage.RoundTrips != 2 {
		t.Fatalf("late older version: %+v, want stale, confirmed by a consistent read", res)
	}
	sum, err := s.Customer(ctx, sh, "c-1")
	if err != nil {
		t.Fatal(err)
	}
	if sum.TotalSpend != 2000 || sum.PurchaseDays != 1 || sum.PaidOrders != 1 {
		t.Fatalf("after refund: %+v", sum)
	}

	stolen := mkOrder("1001", "c-2", t0, 2599)
	if _, err := s.PutOrder(ctx, sh, stolen, ""); !errors.Is(err, customer.ErrConflict) {
		t.Fatalf("reuse by another customer: %v, want ErrConflict", err)
	}
	if _, err := s.Customer(ctx, sh, "c-2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a conflict must write nothing, got customer c-2: %v", err)
	}
	stored, err := s.Order(ctx, sh.ID, "1001")
	if err != nil || stored.Hash() != refunded.Hash() {
		t.Fatalf("stored order changed by a conflict: %+v, %v", stored, err)
	}

	o2 := mkOrder("1002", "c-1", t0.Add(49*time.Hour), 1000)
	if res := put(o2, "wh-1"); res.Change != customer.Created {
		t.Fatalf("webhook put: %+v", res)
	}
	o2b := o2
	o2b.Status = order.StatusCancelled
	o2b.UpdatedAt = o2.UpdatedAt.Add(time.Minute)
	if res := put(o2b, "wh-1"); res.Change != customer.Duplicate {
		t.Fatalf("same webhook delivery again: %+v, want duplicate", res)
	}
	sum, _ = s.Customer(ctx, sh, "c-1")
	if sum.PurchaseDays != 2 || sum.RepeatSpend != 1000 || sum.LastItemsFrom != "1002" {
		t.Fatalf("after second order: %+v", sum)
	}

	// Cancelling the latest purchase brings back the previous one's items.
	if res := put(o2b, "wh-2"); res.Change != customer.Updated || res.Usage.RoundTrips != 3 {
		t.Fatalf("cancel latest: %+v, want updated in 3 round trips (read, items, write)", res)
	}
	sum, _ = s.Customer(ctx, sh, "c-1")
	if sum.LastItemsFrom != "1001" || len(sum.LastItems) != 1 || sum.LastItems[0].SKU != "SKU-1001" || sum.PurchaseDays != 1 {
		t.Fatalf("after cancelling the latest: %+v", sum)
	}
}

// TestConcurrentRandomHistoriesEqualRecomputation writes shuffled histories
// from several goroutines at once, so that the same customer's orders race
// each other, then checks every stored summary against a recomputation from
// the stored orders.
func TestConcurrentRandomHistoriesEqualRecomputation(t *testing.T) {
	t.Run("one by one", func(t *testing.T) { testRandomHistories(t, 1) })
	t.Run("in groups", func(t *testing.T) { testRandomHistories(t, 5) })
}

// testRandomHistories delivers the shuffled stream in runs of up to
// groupSize consecutive orders of one customer (PutOrders), or one by one
// (PutOrder) when groupSize is 1.
func testRandomHistories(t *testing.T, groupSize int) {
	s, db, table := newStore(t)
	ctx := context.Background()
	sh := newShop(t, s, "America/New_York")
	r := rand.New(rand.NewPCG(7, uint64(11+groupSize)))

	const customers, workers = 12, 6
	var all []order.Order
	var deliveries [][]order.Order // runs of 1..groupSize of one customer's stream
	for c := range customers {
		stream := customertest.History(r, fmt.Sprintf("cust-%02d", c), 6, t0)
		all = append(all, stream...)
		for len(stream) > 0 {
			n := min(1+r.IntN(groupSize), len(stream))
			deliveries = append(deliveries, stream[:n])
			stream = stream[n:]
		}
	}
	r.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	if groupSize > 1 && len(deliveries) == len(all) {
		t.Fatal("the stream formed no groups")
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[customer.Change]int{}
	errs := make(chan error, len(all))
	next := atomic.Int64{}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(deliveries) {
					return
				}
				var outs []store.Outcome
				if groupSize == 1 {
					res, err := s.PutOrder(ctx, sh, deliveries[i][0], "")
					outs = []store.Outcome{{Change: res.Change, Err: err}}
				} else {
					var err error
					if outs, _, err = s.PutOrders(ctx, sh, deliveries[i]); err != nil {
						errs <- err
						continue
					}
				}
				for _, o := range outs {
					if o.Err != nil {
						errs <- o.Err
						continue
					}
					mu.Lock()
					counts[o.Change]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, customer.ErrConflict) {
			t.Fatalf("put: %v", err)
		}
	}
	t.Logf("%d deliveries: %v", len(all), counts)
	if counts[customer.Created] == 0 || counts[customer.Unchanged] == 0 || counts[customer.Updated] == 0 {
		t.Fatalf("the random stream should exercise creates, re-sends and updates: %v", counts)
	}

	stored := scanOrders(t, db, table)
	byCustomer := map[string][]order.Order{}
	ids := map[string]bool{}
	for _, o := range all {
		ids[o.ID] = true
	}
	if len(stored) != len(ids) {
		t.Fatalf("%d orders stored, want %d distinct ids", len(stored), len(ids))
	}
	for _, o := range stored {
		byCustomer[o.Customer.ID] = append(byCustomer[o.Customer.ID], o)
	}
	for cust, orders := range byCustomer {
		got, err := s.Customer(ctx, sh, cust)
		if err != nil {
			t.Fatal(err)
		}
		want := customer.Recompute(orders, sh.Location())
		if !reflect.DeepEqual(canonical(got), canonical(want)) {
			t.Errorf("customer %s: stored summary\n%+v\n!= recomputed\n%+v", cust, got, want)
		}
	}
	if n := countCustomers(t, s, sh); n != len(byCustomer) {
		t.Fatalf("%d summaries over the shards, want %d", n, len(byCustomer))
	}
}

func canonical(s customer.Summary) customer.Summary {
	if len(s.LastItems) == 0 {
		s.LastItems = nil
	}
	return s
}

func countCustomers(t *testing.T, s *store.Store, sh shop.Shop) int {
	t.Helper()
	n := 0
	for shard := range sh.Shards {
		if err := s.Customers(context.Background(), sh, shard, func(customer.Summary) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// scanOrders reads every stored order straight from the table (test only).
func scanOrders(t *testing.T, db *dynamodb.Client, table string) []order.Order {
	t.Helper()
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	var out []order.Order
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			var rec struct {
				Type string `dynamodbav:"type"`
				ID   string `dynamodbav:"order_id"`
			}
			if err := attributevalue.UnmarshalMap(it, &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Type != "order" {
				continue
			}
			o, err := store.DecodeOrder(it)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, o)
		}
	}
	return out
}

// TestOneCustomerUnderHeavyContention has eight goroutines store forty
// orders of the same customer at once: every write races on the one
// summary, and none may be lost.
func TestOneCustomerUnderHeavyContention(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	sh := newShop(t, s, "UTC")
	const orders, workers = 40, 8
	var next atomic.Int64
	var wg sync.WaitGroup
	var attempts atomic.Int64
	errs := make(chan error, orders)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= orders {
					return
				}
				o := mkOrder(fmt.Sprintf("hot-%02d", i), "hot", t0.Add(time.Duration(i)*25*time.Hour), int64(100+i))
				res, err := s.PutOrder(ctx, sh, o, "")
				attempts.Add(int64(res.Usage.RoundTrips))
				if err == nil && res.Change != customer.Created {
					err = fmt.Errorf("order %s: %s, want created", o.ID, res.Change)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sum, err := s.Customer(ctx, sh, "hot")
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for i := range orders {
		want += int64(100 + i)
	}
	if sum.PaidOrders != orders || len(sum.Orders) != orders || sum.TotalSpend != want || sum.PurchaseDays != orders || sum.LastItemsFrom != "hot-39" {
		t.Fatalf("after %d concurrent orders: paid %d, entries %d, spend %d (want %d), days %d, last items of %s",
			orders, sum.PaidOrders, len(sum.Orders), sum.TotalSpend, want, sum.PurchaseDays, sum.LastItemsFrom)
	}
	t.Logf("%d orders, %d round trips (%.1f per order) under contention", orders, attempts.Load(), float64(attempts.Load())/orders)
}

func TestPutOrdersFoldsAGroupLikeSeparatePuts(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	sh := newShop(t, s, "UTC")
	a := mkOrder("A", "g-1", t0, 1000)
	b := mkOrder("B", "g-1", t0.Add(48*time.Hour), 700)
	aRefunded := a
	aRefunded.Status, aRefunded.Refunded, aRefunded.UpdatedAt = order.StatusRefunded, a.Total, t0.Add(time.Hour)
	aMoved := a
	aMoved.CreatedAt = t0.Add(time.Minute)

	outs, u, err := s.PutOrders(ctx, sh, []order.Order{a, a, b, aRefunded, aMoved, a})
	if err != nil {
		t.Fatal(err)
	}
	want := []customer.Change{customer.Created, customer.Unchanged, customer.Created, customer.Updated, "", customer.Stale}
	for i, o := range outs {
		if o.Change != want[i] || (want[i] == "") != errors.Is(o.Err, customer.ErrConflict) {
			t.Errorf("order %d: %+v, want %q", i, o, want[i])
		}
	}
	// The refusals are confirmed by a consistent re-read: 3 round trips.
	if u.RoundTrips != 3 {
		t.Errorf("%d round trips, want 3", u.RoundTrips)
	}
	sum, err := s.Customer(ctx, sh, "g-1")
	if err != nil {
		t.Fatal(err)
	}
	var stored []order.Order
	for _, id := range []string{"A", "B"} {
		o, err := s.Order(ctx, sh.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, o)
	}
	if stored[0].Status != order.StatusRefunded {
		t.Fatalf("order A stored as %s, want its latest version", stored[0].Status)
	}
	if got, want := canonical(sum), canonical(customer.Recompute(stored, time.UTC)); !reflect.DeepEqual(got, want) {
		t.Fatalf("summary %+v\n!= recomputed %+v", got, want)
	}
	if sum.PaidOrders != 1 || sum.LastItemsFrom != "B" {
		t.Fatalf("summary %+v", sum)
	}

	for name, group := range map[string][]order.Order{
		"empty":           nil,
		"two customers":   {a, mkOrder("C", "g-2", t0, 1)},
		"more than a max": make([]order.Order, store.MaxGroup+1),
	} {
		if _, _, err := s.PutOrders(ctx, sh, group); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
