package customer

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/winback/winback/shared/order"
)

func TestFold(t *testing.T) {
	guestID := order.GuestCustomerID("c1@example.com")
	versioned := func(o order.Order) order.Order { o.UpdatedAt = o.CreatedAt; return o }
	a := versioned(mk("A", t0, 1000, order.StatusPaid))
	b := versioned(mk("B", t0.Add(48*time.Hour), 700, order.StatusPaid))
	aRefunded := a
	aRefunded.Status, aRefunded.Refunded, aRefunded.UpdatedAt = order.StatusRefunded, a.Total, t0.Add(time.Hour)
	aMoved := a
	aMoved.CreatedAt = t0.Add(time.Minute)
	bCancelled := b
	bCancelled.Status, bCancelled.UpdatedAt = order.StatusCancelled, b.CreatedAt.Add(time.Hour)
	asGuest := func(o order.Order) order.Order { o.Customer.ID = guestID; return o }
	// impostor has another id stored under A's key: a digest collision.
	impostor := mk("not-A", t0, 1, order.StatusPaid)

	type want struct {
		changes  []Change // "" for a conflict
		dirty    []string // order ids
		refused  bool
		missing  []string // order ids
		deleted  []string // customers left without orders
		recomput map[string][]order.Order
	}
	tests := []struct {
		name   string
		stored []order.Order
		group  []order.Order
		want   want
	}{
		{
			name:  "new orders, re-sends, update, conflict and stale in one group",
			group: []order.Order{a, a, b, aRefunded, aMoved, a},
			want: want{
				changes: []Change{Created, Unchanged, Created, Updated, "", Stale},
				dirty:   []string{"A", "B"}, refused: true,
				recomput: map[string][]order.Order{"c1": {aRefunded, b}},
			},
		},
		{
			name:   "identical re-send of a stored order writes nothing",
			stored: []order.Order{a},
			group:  []order.Order{a},
			want:   want{changes: []Change{Unchanged}},
		},
		{
			name:   "cancelling the latest purchase needs the previous one's items",
			stored: []order.Order{a, b},
			group:  []order.Order{bCancelled},
			want:   want{changes: []Change{Updated}, dirty: []string{"B"}, missing: []string{"A"}},
		},
		{
			name:   "the previous purchase in the group completes the items itself",
			stored: []order.Order{a, b},
			group:  []order.Order{bCancelled, a},
			want: want{changes: []Change{Updated, Unchanged}, dirty: []string{"B"},
				recomput: map[string][]order.Order{"c1": {a, bCancelled}}},
		},
		{
			name:   "a guest order linked to the account moves, the guest is left empty",
			stored: []order.Order{asGuest(a)},
			group:  []order.Order{a},
			want: want{changes: []Change{Updated}, dirty: []string{"A"}, deleted: []string{guestID},
				recomput: map[string][]order.Order{"c1": {a}}},
		},
		{
			name:   "a linked order leaves the guest's other orders, whose profile and items come back",
			stored: []order.Order{asGuest(a), asGuest(b)},
			group:  []order.Order{b},
			want:   want{changes: []Change{Updated}, dirty: []string{"B"}, missing: []string{"A"}},
		},
		{
			name:   "the guest version after the link is refused",
			stored: []order.Order{a},
			group:  []order.Order{asGuest(a)},
			want:   want{changes: []Change{""}, refused: true},
		},
		{
			name:   "an id colliding with a stored order's key is a conflict",
			stored: []order.Order{impostor},
			group:  []order.Order{a},
			want:   want{changes: []Change{""}, refused: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A store reads the stored versions of the group's orders only.
			all := map[string]order.Order{}
			byCustomer := map[string][]order.Order{}
			for _, o := range tc.stored {
				all[OrderKey(o.ID)] = o
				byCustomer[o.Customer.ID] = append(byCustomer[o.Customer.ID], o)
			}
			if tc.name == "an id colliding with a stored order's key is a conflict" {
				all = map[string]order.Order{OrderKey("A"): impostor}
			}
			stored := map[string]order.Order{}
			for _, o := range tc.group {
				if s, ok := all[OrderKey(o.ID)]; ok {
					stored[OrderKey(o.ID)] = s
				}
			}
			sums := map[string]Summary{}
			for id, orders := range byCustomer {
				sums[id] = Recompute(orders, time.UTC)
			}
			before := map[string]Summary{}
			for id, s := range sums {
				before[id] = s.clone()
			}

			p := Fold(stored, sums, tc.group, time.UTC)

			if !reflect.DeepEqual(sums, before) {
				t.Fatal("Fold modified the stored summaries")
			}
			for i, out := range p.Outcomes {
				if w := tc.want.changes[i]; out.Change != w || (w == "") != errors.Is(out.Err, ErrConflict) {
					t.Errorf("order %d: %+v, want %q", i, out, w)
				}
			}
			if got := ids(p.Dirty, p.Orders); !reflect.DeepEqual(got, tc.want.dirty) {
				t.Errorf("dirty %v, want %v", got, tc.want.dirty)
			}
			if p.Refused != tc.want.refused {
				t.Errorf("refused %v", p.Refused)
			}
			if got := ids(p.Missing(), all); !reflect.DeepEqual(got, tc.want.missing) {
				t.Errorf("missing %v, want %v", got, tc.want.missing)
			}
			var deleted []string
			for id, s := range p.Summaries {
				if len(s.Orders) == 0 {
					deleted = append(deleted, id)
				}
			}
			if !reflect.DeepEqual(deleted, tc.want.deleted) {
				t.Errorf("deleted %v, want %v", deleted, tc.want.deleted)
			}
			for id, orders := range tc.want.recomput {
				if got, want := normalise(p.Summaries[id]), normalise(Recompute(orders, time.UTC)); !reflect.DeepEqual(got, want) {
					t.Errorf("summary of %s\n%+v\n!= recomputed\n%+v", id, got, want)
				}
			}
			// Completing with the stored orders always gives the recomputation.
			for _, k := range p.Missing() {
				p.Complete(all[k])
			}
			for k, o := range p.Orders {
				all[k] = o
			}
			final := map[string][]order.Order{}
			for k, o := range all {
				if o.ID == "not-A" && k == OrderKey("A") {
					continue
				}
				final[o.Customer.ID] = append(final[o.Customer.ID], o)
			}
			for id, s := range p.Summaries {
				if got, want := normalise(s), normalise(Recompute(final[id], time.UTC)); len(s.Orders) > 0 && !reflect.DeepEqual(got, want) {
					t.Errorf("completed summary of %s\n%+v\n!= recomputed\n%+v", id, got, want)
				}
			}
		})
	}
}

// ids maps order keys to order ids.
func ids(keys []string, orders map[string]order.Order) []string {
	var out []string
	for _, k := range keys {
		out = append(out, orders[k].ID)
	}
	return out
}

func TestOrderKeyIsFixedLength(t *testing.T) {
	for _, id := range []string{"1", "1001", string(make([]byte, 128)), "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀"} {
		if k := OrderKey(id); len(k) != KeyLen {
			t.Errorf("OrderKey(%q) = %q, %d characters", id, k, len(k))
		}
	}
	if OrderKey("1001") == OrderKey("1002") {
		t.Fatal("distinct ids share a key")
	}
}
