package customer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/winback/winback/shared/customer/customertest"
	"github.com/winback/winback/shared/order"
)

var t0 = time.Date(2025, 3, 1, 22, 30, 0, 0, time.UTC)

func mk(id string, at time.Time, total int64, st order.Status) order.Order {
	o := order.Order{
		ID: id, CreatedAt: at, Currency: "EUR", Total: total, Status: st,
		Customer:  order.Customer{ID: "c1", Email: "c1@example.com", FirstName: "Ann"},
		LineItems: []order.LineItem{{SKU: "sku-" + id, Title: "Item " + id, Quantity: 1, Price: total}},
	}
	if st == order.StatusRefunded {
		o.Refunded = total
	}
	return o
}

func TestDeriveCountsDaysInShopTimezone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	orders := []order.Order{
		mk("a", t0, 1000, order.StatusPaid),                  // 22:30 UTC = 17:30 NY, 1 March
		mk("b", t0.Add(3*time.Hour), 500, order.StatusPaid),  // 01:30 UTC 2 March = 20:30 NY 1 March
		mk("c", t0.Add(48*time.Hour), 700, order.StatusPaid), // 3 March
		mk("d", t0.Add(72*time.Hour), 900, order.StatusRefunded),
		mk("e", t0.Add(96*time.Hour), 300, order.StatusPending),
	}
	tests := []struct {
		name                     string
		loc                      *time.Location
		days, repeat             int
		total, repeatSpend       int64
		firstDay, lastDay, items string
	}{
		{"utc", time.UTC, 3, 2, 2200, 1200, "2025-03-01", "2025-03-03", "c"},
		{"new york", ny, 2, 1, 2200, 700, "2025-03-01", "2025-03-03", "c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Recompute(orders, tc.loc)
			if s.PurchaseDays != tc.days || s.RepeatDays() != tc.repeat || s.TotalSpend != tc.total || s.RepeatSpend != tc.repeatSpend {
				t.Fatalf("days=%d repeat=%d total=%d repeatSpend=%d", s.PurchaseDays, s.RepeatDays(), s.TotalSpend, s.RepeatSpend)
			}
			if s.FirstDay != tc.firstDay || s.LastDay != tc.lastDay || s.LastItemsFrom != tc.items || s.PaidOrders != 3 {
				t.Fatalf("first=%s last=%s items=%s paid=%d", s.FirstDay, s.LastDay, s.LastItemsFrom, s.PaidOrders)
			}
			if got := s.MeanRepeatValue(); got != float64(tc.repeatSpend)/float64(tc.repeat) {
				t.Fatalf("mean repeat value %v", got)
			}
			if s.ProfileFrom.OrderID != "e" {
				t.Fatalf("profile from %q, want the latest order e", s.ProfileFrom.OrderID)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	paid := mk("o1", t0, 1000, order.StatusPaid)
	refunded := mk("o1", t0, 1000, order.StatusRefunded)
	withVersion := func(o order.Order, d time.Duration) order.Order { o.UpdatedAt = t0.Add(d); return o }
	other := paid
	other.Customer.ID = "c2"
	moved := paid
	moved.CreatedAt = t0.Add(time.Hour)
	yen := paid
	yen.Currency = "JPY"
	bumped := withVersion(paid, time.Hour)

	tests := []struct {
		name    string
		prev    *order.Order
		next    order.Order
		want    Change
		wantErr bool
	}{
		{"new order", nil, paid, Created, false},
		{"identical re-send", &paid, paid, Unchanged, false},
		{"re-send with only updated_at bumped", &paid, bumped, Unchanged, false},
		{"refund", &paid, refunded, Updated, false},
		{"older version arrives late", ptr(withVersion(refunded, 2*time.Hour)), withVersion(paid, time.Hour), Stale, false},
		{"refunded back to paid without version", &refunded, paid, "", true},
		{"refunded back to paid with newer version", ptr(withVersion(refunded, time.Hour)), withVersion(paid, 2*time.Hour), Updated, false},
		{"another customer", &paid, other, "", true},
		{"another created_at", &paid, moved, "", true},
		{"another currency", &paid, yen, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Classify(tc.prev, tc.next)
			if tc.wantErr {
				if !errors.Is(err, ErrConflict) {
					t.Fatalf("err = %v, want ErrConflict", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// memStore plays the store's part: the stored orders and the summary, with
// Classify deciding and Apply folding.
type memStore struct {
	orders map[string]order.Order
	sum    Summary
}

func (m *memStore) put(o order.Order, loc *time.Location) (Change, error) {
	var prev *order.Order
	if p, ok := m.orders[o.ID]; ok {
		prev = &p
	}
	ch, err := Classify(prev, o)
	if err != nil || ch == Unchanged || ch == Stale {
		return ch, err
	}
	next, need := Apply(m.sum, o, loc)
	if need != "" {
		next.SetLastItems(need, m.orders[need].LineItems)
	}
	m.orders[o.ID] = o
	m.sum = next
	return ch, nil
}

func TestApplyEqualsRecomputeWhateverTheArrivalOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	loc, _ := time.LoadLocation("Europe/Berlin")
	for run := range 2000 {
		m := &memStore{orders: map[string]order.Order{}}
		for _, o := range customertest.History(r, "c1", 8, t0) {
			if _, err := m.put(o, loc); err != nil && !errors.Is(err, ErrConflict) {
				t.Fatal(err)
			}
		}
		var all []order.Order
		for _, o := range m.orders {
			all = append(all, o)
		}
		want := Recompute(all, loc)
		if !reflect.DeepEqual(normalise(m.sum), normalise(want)) {
			t.Fatalf("run %d: incremental summary\n%+v\n!= recomputed\n%+v", run, m.sum, want)
		}
	}
}

func normalise(s Summary) Summary {
	if len(s.LastItems) == 0 {
		s.LastItems = nil
	}
	return s
}

func TestApplyDoesNotMutateItsInput(t *testing.T) {
	s := Recompute([]order.Order{mk("a", t0, 100, order.StatusPaid)}, time.UTC)
	before := fmt.Sprintf("%+v", s)
	_, _ = Apply(s, mk("b", t0.Add(time.Hour), 200, order.StatusPaid), time.UTC)
	if after := fmt.Sprintf("%+v", s); after != before {
		t.Fatalf("Apply changed its input:\n%s\n%s", before, after)
	}
}

// FuzzApplyEqualsRecompute lets the fuzzer pick the histories, the arrival
// order and the time zone: the folded summary must equal the recomputation.
func FuzzApplyEqualsRecompute(f *testing.F) {
	f.Add(uint64(1), uint64(2), uint8(8), "Europe/Berlin")
	f.Add(uint64(42), uint64(7), uint8(1), "UTC")
	f.Add(uint64(3), uint64(99), uint8(30), "Pacific/Kiritimati")
	f.Fuzz(func(t *testing.T, s1, s2 uint64, maxOrders uint8, tz string) {
		loc, err := time.LoadLocation(tz)
		if err != nil || maxOrders == 0 {
			t.Skip()
		}
		r := rand.New(rand.NewPCG(s1, s2))
		m := &memStore{orders: map[string]order.Order{}}
		for _, o := range customertest.History(r, "c1", int(maxOrders%40)+1, t0) {
			if _, err := m.put(o, loc); err != nil && !errors.Is(err, ErrConflict) {
				t.Fatal(err)
			}
		}
		var all []order.Order
		for _, o := range m.orders {
			all = append(all, o)
		}
		if want := Recompute(all, loc); !reflect.DeepEqual(normalise(m.sum), normalise(want)) {
			t.Fatalf("incremental summary\n%+v\n!= recomputed\n%+v", m.sum, want)
		}
	})
}
