package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/customer/customertest"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
	"github.com/winback/winback/shared/store/storetest"
)

var _ storetest.Store = (*store.Store)(nil)

var tableSeq atomic.Int64

// newTable gives each test its own table on the test process's DynamoDB Local.
func newTable(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	db := emulator.DynamoDB(t)
	table := fmt.Sprintf("winback-test-%d-%d", time.Now().UnixNano()%1e6, tableSeq.Add(1))
	if err := store.CreateTable(context.Background(), db, table); err != nil {
		t.Fatal(err)
	}
	return db, table
}

// newStore gives each test a store over its own table.
func newStore(t testing.TB) (*store.Store, *dynamodb.Client, string) {
	t.Helper()
	db, table := newTable(t)
	return store.New(db, table), db, table
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, _, _ := newStore(t)
		return s
	})
}

var (
	t0      = storetest.T0
	mkOrder = storetest.Order
	newShop = storetest.NewShop
)

// putOne stores one order and returns its outcome and what it cost.
func putOne(t testing.TB, s *store.Store, sh shop.Shop, o order.Order, webhookID string) (customer.Outcome, store.Usage) {
	t.Helper()
	outs, u, err := s.PutOrders(context.Background(), sh, []order.Order{o}, webhookID)
	if err != nil {
		t.Fatalf("PutOrders(%s): %v", o.ID, err)
	}
	return outs[0], u
}

// TestRoundTrips pins what each case costs in DynamoDB round trips.
func TestRoundTrips(t *testing.T) {
	s, _, _ := newStore(t)
	sh := newShop(t, s, "Europe/Paris")
	o := mkOrder("1001", "c-1", t0, 2599)
	check := func(name string, o order.Order, webhookID string, want customer.Change, trips int) {
		t.Helper()
		out, u := putOne(t, s, sh, o, webhookID)
		if out.Change != want || out.Err != nil || u.RoundTrips != trips {
			t.Fatalf("%s: %+v in %d round trips, want %q in %d", name, out, u.RoundTrips, want, trips)
		}
		if u.BilledReadUnits <= 0 || (want == customer.Created && u.BilledWriteUnits <= 0) {
			t.Fatalf("%s: billed %+v", name, u)
		}
	}
	check("first put", o, "", customer.Created, 2)
	check("re-send", o, "", customer.Unchanged, 1)
	refunded := o
	refunded.Refunded, refunded.UpdatedAt = 599, t0.Add(time.Hour)
	check("partial refund", refunded, "", customer.Updated, 2)
	check("late older version, confirmed by a consistent read", o, "", customer.Stale, 2)
	o2 := mkOrder("1002", "c-1", t0.Add(49*time.Hour), 1000)
	check("webhook", o2, "wh-1", customer.Created, 2)
	check("same delivery", o2, "wh-1", customer.Duplicate, 1)
	o2.Status, o2.UpdatedAt = order.StatusCancelled, o2.UpdatedAt.Add(time.Minute)
	check("cancel latest: read, items, write", o2, "wh-2", customer.Updated, 3)

	guest := order.GuestCustomerID("kim@example.com")
	g := mkOrder("G", guest, t0, 500)
	check("guest order", g, "", customer.Created, 2)
	g.Customer.ID, g.UpdatedAt = "c-1", g.UpdatedAt.Add(time.Hour)
	check("link: read, guest's summary, write", g, "", customer.Updated, 3)

	outs, u, err := s.PutOrders(context.Background(), sh, []order.Order{o, mkOrder("1003", "c-1", t0, 1)}, "")
	if err != nil || u.RoundTrips != 3 || outs[0].Change != customer.Stale || outs[1].Change != customer.Created {
		t.Fatalf("group with a refusal: %+v in %d round trips, %v; want 3 (lagging read, consistent read, write)", outs, u.RoundTrips, err)
	}
}

// TestConcurrentRandomHistoriesEqualRecomputation writes shuffled histories
// from several goroutines at once, so that the same customer's orders race
// each other (and, for linked guest checkouts, the guest's), then checks
// every stored summary against a recomputation from the stored orders.
func TestConcurrentRandomHistoriesEqualRecomputation(t *testing.T) {
	t.Run("one by one", func(t *testing.T) { testRandomHistories(t, 1) })
	t.Run("in groups", func(t *testing.T) { testRandomHistories(t, 5) })
}

// testRandomHistories delivers the shuffled stream in runs of up to
// groupSize consecutive orders of one customer.
func testRandomHistories(t *testing.T, groupSize int) {
	s, db, table := newStore(t)
	ctx := context.Background()
	sh := newShop(t, s, "America/New_York")
	r := rand.New(rand.NewPCG(7, uint64(11+groupSize)))

	const customers, workers = 12, 6
	var all []order.Order
	var deliveries [][]order.Order // runs of 1..groupSize of one customer's stream
	for c := range customers {
		cust := fmt.Sprintf("cust-%02d", c)
		stream := customertest.History(r, cust, 6, t0)
		if c%3 == 0 {
			stream = customertest.Linked(stream, order.GuestCustomerID(cust+"@example.com"))
		}
		all = append(all, stream...)
		for len(stream) > 0 {
			n := 1
			for n < min(1+r.IntN(groupSize), len(stream)) && stream[n].Customer.ID == stream[0].Customer.ID {
				n++
			}
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
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(deliveries) {
					return
				}
				outs, _, err := s.PutOrders(ctx, sh, deliveries[i], "")
				if err != nil {
					errs <- err
					continue
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
		})
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
		if !reflect.DeepEqual(storetest.Canonical(got), storetest.Canonical(want)) {
			t.Errorf("customer %s: stored summary\n%+v\n!= recomputed\n%+v", cust, got, want)
		}
	}
	if n := countCustomers(t, s, sh); n != len(byCustomer) {
		t.Fatalf("%d summaries over the shards, want %d", n, len(byCustomer))
	}
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
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= orders {
					return
				}
				o := mkOrder(fmt.Sprintf("hot-%02d", i), "hot", t0.Add(time.Duration(i)*25*time.Hour), int64(100+i))
				outs, u, err := s.PutOrders(ctx, sh, []order.Order{o}, "")
				attempts.Add(int64(u.RoundTrips))
				if err == nil && (outs[0].Err != nil || outs[0].Change != customer.Created) {
					err = fmt.Errorf("order %s: %+v, want created", o.ID, outs[0])
				}
				if err != nil {
					errs <- err
				}
			}
		})
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

// faultDB wraps the emulator's client to make DynamoDB misbehave.
type faultDB struct {
	*dynamodb.Client
	batchGet func(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	transact func(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

func (f *faultDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	if f.batchGet != nil {
		return f.batchGet(ctx, in, opts...)
	}
	return f.Client.BatchGetItem(ctx, in, opts...)
}

func (f *faultDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if f.transact != nil {
		return f.transact(ctx, in, opts...)
	}
	return f.Client.TransactWriteItems(ctx, in, opts...)
}

// TestLostResponseIsRecognised: a transaction commits but its response is
// lost. Whether the SDK retries it (same request, same token) or the error
// reaches the store, the outcome is what the transaction did: created, not
// unchanged (nor duplicate, for a webhook).
func TestLostResponseIsRecognised(t *testing.T) {
	for _, mode := range []string{"sdk retry", "error"} {
		t.Run(mode, func(t *testing.T) {
			client, table := newTable(t)
			db := &faultDB{Client: client}
			s := store.New(db, table)
			sh := newShop(t, s, "UTC")
			var calls, lost atomic.Int64
			db.transact = func(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
				calls.Add(1)
				if aws.ToString(in.ClientRequestToken) == "" || len(aws.ToString(in.ClientRequestToken)) > 36 {
					t.Errorf("ClientRequestToken %q", aws.ToString(in.ClientRequestToken))
				}
				out, err := client.TransactWriteItems(ctx, in, opts...)
				if err != nil || lost.Add(1) > 1 {
					return out, err
				}
				if mode == "sdk retry" {
					return client.TransactWriteItems(ctx, in, opts...) // what the SDK's retryer sends again
				}
				return nil, fmt.Errorf("operation error DynamoDB: TransactWriteItems: read response: %w", io.ErrUnexpectedEOF)
			}
			for i, webhook := range []string{"", "wh-1"} {
				o := mkOrder(fmt.Sprint("L", i), "c-1", t0.Add(time.Duration(i)*time.Hour), 100)
				lost.Store(0)
				out, _ := putOne(t, s, sh, o, webhook)
				if out.Change != customer.Created || out.Err != nil {
					t.Fatalf("order %s (webhook %q) whose response was lost: %+v, want created", o.ID, webhook, out)
				}
			}
			if calls.Load() != 2 {
				t.Fatalf("%d transactions sent, want 2 (the store must not write again)", calls.Load())
			}
			if sum, err := s.Customer(context.Background(), sh, "c-1"); err != nil || len(sum.Orders) != 2 {
				t.Fatalf("summary %+v, %v", sum, err)
			}
		})
	}
}

// TestFailedWriteIsReported: an unknown failure of a transaction that did
// not commit is the group's error, after one look.
func TestFailedWriteIsReported(t *testing.T) {
	client, table := newTable(t)
	db := &faultDB{Client: client}
	s := store.New(db, table)
	sh := newShop(t, s, "UTC")
	db.transact = func(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
		return nil, io.ErrUnexpectedEOF
	}
	_, u, err := s.PutOrders(context.Background(), sh, []order.Order{mkOrder("F", "c", t0, 1)}, "")
	if !errors.Is(err, io.ErrUnexpectedEOF) || u.RoundTrips != 3 {
		t.Fatalf("err %v after %d round trips; want the failure after read, write, read", err, u.RoundTrips)
	}
}

// TestItemsAreToldApartByKey: what a read returns is classified by its key,
// not by its type attribute; an item nobody asked for is an error.
func TestItemsAreToldApartByKey(t *testing.T) {
	client, table := newTable(t)
	db := &faultDB{Client: client}
	s := store.New(db, table)
	sh := newShop(t, s, "UTC")
	o := mkOrder("K", "c", t0, 1)
	putOne(t, s, sh, o, "")

	db.batchGet = func(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
		out, err := client.BatchGetItem(ctx, in, opts...)
		if err == nil {
			for _, it := range out.Responses[table] {
				it["type"] = &types.AttributeValueMemberS{Value: "something-else"}
			}
		}
		return out, err
	}
	if out, _ := putOne(t, s, sh, o, ""); out.Change != customer.Unchanged {
		t.Fatalf("re-send read back with odd types: %+v, want unchanged", out)
	}

	db.batchGet = func(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
		out, err := client.BatchGetItem(ctx, in, opts...)
		if err == nil {
			out.Responses[table] = append(out.Responses[table], map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "SHOP#" + sh.ID + "#SOMETHING"},
				"sk": &types.AttributeValueMemberS{Value: "ELSE"},
			})
		}
		return out, err
	}
	if _, _, err := s.PutOrders(context.Background(), sh, []order.Order{o}, "wh-x"); err == nil || !strings.Contains(err.Error(), "not asked for") {
		t.Fatalf("unexpected item: %v", err)
	}
}

// TestUnprocessedKeys: keys DynamoDB leaves unprocessed are read again, a
// bounded number of times.
func TestUnprocessedKeys(t *testing.T) {
	client, table := newTable(t)
	db := &faultDB{Client: client}
	s := store.New(db, table)
	sh := newShop(t, s, "UTC")
	var calls atomic.Int64
	unprocessed := func(first int) func(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
		calls.Store(0)
		return func(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
			if calls.Add(1) <= int64(first) {
				return &dynamodb.BatchGetItemOutput{UnprocessedKeys: in.RequestItems}, nil
			}
			return client.BatchGetItem(ctx, in, opts...)
		}
	}
	db.batchGet = unprocessed(2)
	if out, _ := putOne(t, s, sh, mkOrder("U", "c", t0, 1), ""); out.Change != customer.Created {
		t.Fatalf("after two unprocessed reads: %+v", out)
	}
	db.batchGet = unprocessed(1 << 30)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _, err := s.PutOrders(ctx, sh, []order.Order{mkOrder("V", "c", t0, 1)}, "")
	if err == nil || !strings.Contains(err.Error(), "unprocessed") || ctx.Err() != nil {
		t.Fatalf("keys never processed: %v (context: %v)", err, ctx.Err())
	}
	if calls.Load() > 10 {
		t.Fatalf("%d reads before giving up", calls.Load())
	}
}

// TestCreateShopExistsOnlyWhenSomethingExists: a transaction cancelled for
// another reason than a taken shop or key id is not ErrExists.
func TestCreateShopExistsOnlyWhenSomethingExists(t *testing.T) {
	client, table := newTable(t)
	db := &faultDB{Client: client}
	s := store.New(db, table)
	sh := newShop(t, s, "UTC")

	err := s.CreateShop(context.Background(), shop.Shop{ID: shop.NewID(), Name: "Other", Currency: "EUR", Shards: 4},
		shop.Credentials{KeyID: "taken-key-id-000", KeyHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	err = s.CreateShop(context.Background(), shop.Shop{ID: shop.NewID(), Name: "Third", Currency: "EUR", Shards: 4},
		shop.Credentials{KeyID: "taken-key-id-000", KeyHash: "h"})
	if !errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), "API key") {
		t.Fatalf("taken key id: %v, want ErrExists naming the API key", err)
	}

	for _, code := range []string{"TransactionConflict", "ThrottlingError", "ValidationError"} {
		db.transact = func(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
			return nil, &types.TransactionCanceledException{
				Message:             aws.String("Transaction cancelled"),
				CancellationReasons: []types.CancellationReason{{Code: aws.String("None")}, {Code: aws.String(code)}, {Code: aws.String("None")}},
			}
		}
		err := s.CreateShop(context.Background(), shop.Shop{ID: shop.NewID(), Name: "X", Currency: "EUR", Shards: 4}, shop.NewCredentials())
		if err == nil || errors.Is(err, store.ErrExists) {
			t.Errorf("cancelled for %s: %v, want another error than ErrExists", code, err)
		}
	}
	if _, err := s.Shop(context.Background(), sh.ID); err != nil {
		t.Fatal(err)
	}
}

// TestKeyCollisionIsAConflict: an order stored under the key of another
// order id (a digest collision, forged here) is never taken for it.
func TestKeyCollisionIsAConflict(t *testing.T) {
	s, db, table := newStore(t)
	ctx := context.Background()
	sh := newShop(t, s, "UTC")
	putOne(t, s, sh, mkOrder("Y", "c", t0, 1), "")
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "SHOP#" + sh.ID + "#ORDER#" + customer.OrderKey("Y")},
		"sk": &types.AttributeValueMemberS{Value: "ORDER"},
	}})
	if err != nil || out.Item == nil {
		t.Fatalf("order item of Y: %v", err)
	}
	out.Item["pk"] = &types.AttributeValueMemberS{Value: "SHOP#" + sh.ID + "#ORDER#" + customer.OrderKey("X")}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: out.Item}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Order(ctx, sh.ID, "X"); !errors.Is(err, customer.ErrNotFound) {
		t.Fatalf("Order(X) found Y's item: %v", err)
	}
	res, _ := putOne(t, s, sh, mkOrder("X", "c", t0, 1), "")
	if !errors.Is(res.Err, customer.ErrConflict) || !strings.Contains(res.Err.Error(), "storage key") {
		t.Fatalf("X colliding with Y: %+v, want a conflict naming the key", res)
	}
}
