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
			if s.ProfileFrom.Key != OrderKey("e") {
				t.Fatalf("profile from %q, want the latest order e", s.ProfileFrom.Key)
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
	guest := paid
	guest.Customer.ID = order.GuestCustomerID("c1@example.com")
	otherGuest := paid
	otherGuest.Customer.ID = order.GuestCustomerID("someone@example.com")

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
		{"guest order linked to an account", &guest, paid, Updated, false},
		{"guest order linked, late older version", ptr(withVersion(guest, 2*time.Hour)), withVersion(paid, time.Hour), Stale, false},
		{"guest version after the link, older", ptr(withVersion(paid, 2*time.Hour)), withVersion(guest, time.Hour), Stale, false},
		{"guest version after the link, newer", ptr(withVersion(paid, time.Hour)), withVersion(guest, 2*time.Hour), "", true},
		{"guest version after the link, unversioned", &paid, guest, "", true},
		{"guest to another guest", &guest, otherGuest, "", true},
		{"guest linked with another created_at", &guest, moved, "", true},
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

// memStore plays the store's part: the stored orders, by key, and the
// summaries, with Fold deciding and folding.
type memStore struct {
	orders map[string]order.Order
	sums   map[string]Summary
}

func newMemStore() *memStore {
	return &memStore{orders: map[string]order.Order{}, sums: map[string]Summary{}}
}

// put stores a group of orders of one customer as a store does.
func (m *memStore) put(group []order.Order, loc *time.Location) []Outcome {
	stored := map[string]order.Order{}
	for _, o := range group {
		if p, ok := m.orders[OrderKey(o.ID)]; ok {
			stored[OrderKey(o.ID)] = p
		}
	}
	p := Fold(stored, m.sums, group, loc)
	for _, k := range p.Missing() {
		p.Complete(m.orders[k])
	}
	for _, k := range p.Dirty {
		m.orders[k] = p.Orders[k]
	}
	for id, s := range p.Summaries {
		if len(s.Orders) == 0 {
			delete(m.sums, id)
		} else {
			m.sums[id] = s
		}
	}
	return p.Outcomes
}

// check compares every summary with a recomputation from the stored orders.
func (m *memStore) check(t *testing.T, loc *time.Location) {
	t.Helper()
	byCustomer := map[string][]order.Order{}
	for _, o := range m.orders {
		byCustomer[o.Customer.ID] = append(byCustomer[o.Customer.ID], o)
	}
	if len(byCustomer) != len(m.sums) {
		t.Fatalf("%d summaries for %d customers", len(m.sums), len(byCustomer))
	}
	for id, orders := range byCustomer {
		if got, want := normalise(m.sums[id]), normalise(Recompute(orders, loc)); !reflect.DeepEqual(got, want) {
			t.Fatalf("customer %s: incremental summary\n%+v\n!= recomputed\n%+v", id, got, want)
		}
	}
}

// deliver puts a stream one order at a time, or in runs of up to group
// consecutive orders of one customer.
func (m *memStore) deliver(t *testing.T, r *rand.Rand, stream []order.Order, group int, loc *time.Location) {
	t.Helper()
	for len(stream) > 0 {
		n := 1
		for n < min(1+r.IntN(group), len(stream)) && stream[n].Customer.ID == stream[0].Customer.ID {
			n++
		}
		for _, out := range m.put(stream[:n], loc) {
			if out.Err != nil && !errors.Is(out.Err, ErrConflict) {
				t.Fatal(out.Err)
			}
		}
		stream = stream[n:]
	}
}

func TestApplyEqualsRecomputeWhateverTheArrivalOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	loc, _ := time.LoadLocation("Europe/Berlin")
	for run := range 2000 {
		m := newMemStore()
		stream := customertest.History(r, "c1", 8, t0)
		if run%2 == 1 {
			stream = customertest.Linked(stream, order.GuestCustomerID("c1@example.com"))
		}
		m.deliver(t, r, stream, 1+run%4*3, loc)
		m.check(t, loc)
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
	_ = Apply(s, mk("b", t0.Add(time.Hour), 200, order.StatusPaid), time.UTC)
	_ = Remove(s, OrderKey("a"), time.UTC)
	if after := fmt.Sprintf("%+v", s); after != before {
		t.Fatalf("Apply changed its input:\n%s\n%s", before, after)
	}
}

// FuzzApplyEqualsRecompute lets the fuzzer pick the histories (with guest
// checkouts linked to the account or not), the arrival order, the grouping
// and the time zone: every folded summary must equal the recomputation.
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
		m := newMemStore()
		stream := customertest.History(r, "c1", int(maxOrders%40)+1, t0)
		if maxOrders%2 == 0 {
			stream = customertest.Linked(stream, order.GuestCustomerID("c1@example.com"))
		}
		m.deliver(t, r, stream, 1+int(maxOrders%4)*3, loc)
		m.check(t, loc)
	})
}

func TestEntryOfKeepsCodesOfPaidOrders(t *testing.T) {
	codes := []order.DiscountCode{{Code: "WB-7KQ2-M9XD", Amount: 500}, {Code: "FREESHIP"}, {Code: "VIP", Amount: 250}}
	with := func(o order.Order, refunded int64) order.Order {
		o.DiscountCodes = codes
		o.Refunded = max(o.Refunded, refunded)
		return o
	}
	tests := []struct {
		name string
		o    order.Order
		want Entry // nil Codes: DeepEqual tells nil from empty
	}{
		{"paid with codes", with(mk("a", t0, 4500, order.StatusPaid), 0),
			Entry{At: t0.Unix(), Net: 4500, Status: order.StatusPaid, Codes: []string{"WB-7KQ2-M9XD", "FREESHIP", "VIP"}, Discount: 750}},
		{"partly refunded keeps its codes", with(mk("a", t0, 4500, order.StatusPaid), 1000),
			Entry{At: t0.Unix(), Net: 3500, Status: order.StatusPaid, Codes: []string{"WB-7KQ2-M9XD", "FREESHIP", "VIP"}, Discount: 750}},
		{"paid without codes", mk("a", t0, 4500, order.StatusPaid),
			Entry{At: t0.Unix(), Net: 4500, Status: order.StatusPaid}},
		{"refunded", with(mk("a", t0, 4500, order.StatusRefunded), 0),
			Entry{At: t0.Unix(), Status: order.StatusRefunded}},
		{"cancelled", with(mk("a", t0, 4500, order.StatusCancelled), 0),
			Entry{At: t0.Unix(), Status: order.StatusCancelled}},
		{"pending", with(mk("a", t0, 4500, order.StatusPending), 0),
			Entry{At: t0.Unix(), Status: order.StatusPending}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := EntryOf(tc.o)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("EntryOf = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestApplyFollowsChangedCodes(t *testing.T) {
	o := mk("a", t0, 4500, order.StatusPaid)
	o.DiscountCodes = []order.DiscountCode{{Code: "SUMMER", Amount: 500}}
	s := Apply(Summary{}, o, time.UTC)
	edited := o
	edited.UpdatedAt = t0.Add(time.Hour)
	edited.DiscountCodes = []order.DiscountCode{{Code: "WB-7KQ2-M9XD", Amount: 900}}
	s = Apply(s, edited, time.UTC)
	if e := s.Orders[OrderKey("a")]; !reflect.DeepEqual(e.Codes, []string{"WB-7KQ2-M9XD"}) || e.Discount != 900 {
		t.Fatalf("entry after the edit: %+v", e)
	}
	cancelled := edited
	cancelled.UpdatedAt = t0.Add(2 * time.Hour)
	cancelled.Status = order.StatusCancelled
	if e := Apply(s, cancelled, time.UTC).Orders[OrderKey("a")]; e.Codes != nil || e.Discount != 0 {
		t.Fatalf("entry after the cancellation: %+v", e)
	}
}
