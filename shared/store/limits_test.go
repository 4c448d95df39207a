package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// idKinds are the order ids the summary limit is measured with.
var idKinds = []struct {
	name string
	id   func(i int) string
}{
	{"8-character ids", func(i int) string { return fmt.Sprintf("%08d", i) }},
	{"128-character ids", func(i int) string { return fmt.Sprintf("%0128d", i) }},
	{"128-emoji ids", func(i int) string { return strings.Repeat("😀", 120) + fmt.Sprintf("%08d", i) }},
}

// limitOrder is the i-th order of a customer with a typical basket: three
// line items, each order on its own day.
func limitOrder(id string, i int) order.Order {
	o := mkOrder(id, "c-limit", t0.Add(time.Duration(i)*36*time.Hour), 8940+int64(i))
	o.LineItems = []order.LineItem{
		{SKU: "MUG-BLUE-350", Title: "Enamel mug, blue, 350 ml", Quantity: 2, Price: 2495},
		{SKU: "TEA-EARL-250", Title: "Earl Grey loose leaf tea, 250 g", Quantity: 1, Price: 1450},
		{SKU: "SHIP-STD", Title: "Standard shipping", Quantity: 1, Price: 2500},
	}
	return o
}

// summaryOf is the summary of the customer's first n orders.
func summaryOf(n int, id func(int) string) customer.Summary {
	orders := make([]order.Order, n)
	for i := range orders {
		orders[i] = limitOrder(id(i), i)
	}
	return customer.Recompute(orders, time.UTC)
}

// couponSummaryOf is summaryOf where every order redeemed its own
// campaign coupon, with the amount it took off: the largest entries a
// customer of win-back campaigns realistically has.
func couponSummaryOf(n int) customer.Summary {
	orders := make([]order.Order, n)
	for i := range orders {
		orders[i] = limitOrder(fmt.Sprintf("%08d", i), i)
		orders[i].DiscountCodes = []order.DiscountCode{{Code: fmt.Sprintf("WB-%04d-%04d", i/10000, i%10000), Amount: 894 + int64(i)}}
	}
	return customer.Recompute(orders, time.UTC)
}

// fitCache remembers ordersThatFit by name.
var fitCache sync.Map

// ordersThatFit is the largest n whose summary(n) the store still writes;
// name identifies summary in the cache.
func ordersThatFit(t testing.TB, sh shop.Shop, name string, summary func(n int) customer.Summary) int {
	t.Helper()
	if n, ok := fitCache.Load(name); ok {
		return n.(int)
	}
	size := func(n int) int {
		item, err := store.SummaryItem(sh, summary(n))
		if err != nil {
			t.Fatal(err)
		}
		return store.ItemSize(item)
	}
	fits := func(n int) bool { return size(n) <= store.MaxItemSize }
	// The size grows about linearly with the orders: extrapolate, bracket
	// and bisect.
	s1, s2 := size(1000), size(2000)
	guess := 1000 + (store.MaxItemSize-s1)*1000/(s2-s1)
	lo, hi := guess-256, guess+256
	for !fits(lo) {
		lo, hi = lo-1024, lo
	}
	for fits(hi) {
		lo, hi = hi, hi+1024
	}
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	fitCache.Store(name, lo)
	return lo
}

// idKindThatFits is ordersThatFit for the orders of idKinds[k].
func idKindThatFits(t testing.TB, sh shop.Shop, k int) int {
	return ordersThatFit(t, sh, idKinds[k].name, func(n int) customer.Summary { return summaryOf(n, idKinds[k].id) })
}

// TestSummaryLimit measures how many orders of one customer fit the 400 KB
// item limit: about 16,500 whatever the order ids look like
// (before entries were keyed by OrderKey: about 15,000 with 8-character
// ids, 2,900 with 128-character ids, 800 with 128-emoji ids).
func TestSummaryLimit(t *testing.T) {
	sh := shop.Shop{ID: "shop_limitlimitli", Shards: shop.DefaultShards}
	var counts []int
	for i, k := range idKinds {
		n := idKindThatFits(t, sh, i)
		t.Logf("%s: %d orders of one customer fit a summary", k.name, n)
		counts = append(counts, n)
	}
	for _, n := range counts {
		// Only the latest order's id (LastItemsFrom) grows with the ids.
		if n < 15000 || counts[0]-n > 50 {
			t.Fatalf("orders that fit: %v, want about the same for every kind of id, at least 15,000", counts)
		}
	}
}

// TestSummaryLimitWithCoupons measures the limit when every order
// redeemed a coupon (each entry then carries its code and discount), and
// checks with DynamoDB Local that a summary the store counts as full is
// one DynamoDB takes. A customer past the limit is refused with
// customer.ErrTooLarge, as always.
func TestSummaryLimitWithCoupons(t *testing.T) {
	sh := shop.Shop{ID: "shop_limitlimitli", Shards: shop.DefaultShards}
	n := ordersThatFit(t, sh, "coupons", couponSummaryOf)
	t.Logf("%d orders of one customer, each with a coupon, fit a summary", n)
	if n < 9000 {
		t.Fatalf("%d orders with coupons fit, want at least 9,000", n)
	}
	_, db, table := newStore(t)
	item, err := store.SummaryItem(sh, couponSummaryOf(n))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("DynamoDB refused a summary the store counts as %d bytes: %v", store.ItemSize(item), err)
	}
}

// TestTooLarge: a write over the item limit is customer.ErrTooLarge, a
// permanent failure, and writes nothing: whether the store sees it first
// or DynamoDB refuses it.
func TestTooLarge(t *testing.T) {
	ctx := context.Background()
	t.Run("summary full", func(t *testing.T) {
		s, db, table := newStore(t)
		sh := newShop(t, s, "UTC")
		id := idKinds[2].id
		n := idKindThatFits(t, shop.Shop{ID: "shop_limitlimitli", Shards: shop.DefaultShards}, 2)
		// A customer whose summary is full: write it directly.
		full := summaryOf(n, id)
		item, err := store.SummaryItem(sh, full)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatalf("DynamoDB refused a summary the store counts as %d bytes: %v", store.ItemSize(item), err)
		}
		next := limitOrder(id(n), n)
		_, _, err = s.PutOrders(ctx, sh, []order.Order{next}, "wh-full")
		if !errors.Is(err, customer.ErrTooLarge) {
			t.Fatalf("order %d: %v, want ErrTooLarge", n+1, err)
		}
		if _, err := s.Order(ctx, sh.ID, next.ID); !errors.Is(err, customer.ErrNotFound) {
			t.Fatalf("the refused order was stored: %v", err)
		}
		if got, err := s.Customer(ctx, sh, "c-limit"); err != nil || len(got.Orders) != n {
			t.Fatalf("summary after the refusal: %d orders, %v; want %d", len(got.Orders), err, n)
		}
		// The webhook delivery was not remembered: it is not a duplicate.
		if _, _, err = s.PutOrders(ctx, sh, []order.Order{next}, "wh-full"); !errors.Is(err, customer.ErrTooLarge) {
			t.Fatalf("second delivery: %v, want ErrTooLarge again", err)
		}
	})
	huge := mkOrder("huge", "c-huge", t0, 100)
	huge.LineItems = nil
	for i := range 10 {
		huge.LineItems = append(huge.LineItems, order.LineItem{Title: strings.Repeat(string(rune('a'+i)), 42_000), Quantity: 1, Price: 10})
	}
	for _, storeChecks := range []bool{true, false} {
		t.Run(fmt.Sprintf("order too large, store checks %v", storeChecks), func(t *testing.T) {
			s, _, _ := newStore(t)
			if !storeChecks {
				s.SetMaxItem(1 << 30) // let DynamoDB refuse it
			}
			sh := newShop(t, s, "UTC")
			_, _, err := s.PutOrders(ctx, sh, []order.Order{huge}, "")
			if !errors.Is(err, customer.ErrTooLarge) {
				t.Fatalf("err %v, want ErrTooLarge", err)
			}
			if _, err := s.Customer(ctx, sh, "c-huge"); !errors.Is(err, customer.ErrNotFound) {
				t.Fatalf("customer stored: %v", err)
			}
			if _, err := s.Order(ctx, sh.ID, "huge"); !errors.Is(err, customer.ErrNotFound) {
				t.Fatalf("order stored: %v", err)
			}
		})
	}
}
