package customer

import (
	"fmt"
	"time"

	"github.com/winback/winback/shared/order"
)

// Plan is what storing a group of orders does to the stored state.
type Plan struct {
	// Outcomes holds one Outcome per order of the group, in its order.
	Outcomes []Outcome
	// Summaries holds every summary the group changed, by customer id:
	// the group's customer's and, when orders moved (Reattributed), the
	// guests' they left. A summary left without Orders is to be deleted.
	Summaries map[string]Summary
	// Orders holds, by OrderKey, the stored orders given to Fold updated
	// with the group: each order's version after it.
	Orders map[string]order.Order
	// Dirty lists the keys of the orders to write, in first-touched order.
	Dirty []string
	// Refused reports whether any order was refused (stale or conflicting):
	// a store working from a possibly lagging read confirms it first.
	Refused bool
}

// Fold applies a group of orders of one customer, one after the other, to
// the stored state, as separate stores of each order would.
//
// stored holds the stored versions of the group's orders, by OrderKey (an
// order stored under the key of another id is a collision, refused as a
// conflict). sums holds the stored summaries by customer id: the group's
// customer's and, for every stored order that an order of the group
// Reattributed, its previous owner's (a zero Summary for a customer not
// stored). Neither is modified.
//
// The summaries of the plan are complete as far as the group's orders
// allow; Missing names the stored orders the store must read and pass to
// Complete.
func Fold(stored map[string]order.Order, sums map[string]Summary, orders []order.Order, loc *time.Location) Plan {
	p := Plan{
		Outcomes:  make([]Outcome, len(orders)),
		Summaries: map[string]Summary{},
		Orders:    make(map[string]order.Order, len(stored)+len(orders)),
	}
	for k, o := range stored {
		p.Orders[k] = o
	}
	current := func(customerID string) Summary {
		s, ok := p.Summaries[customerID]
		if !ok {
			s = sums[customerID]
		}
		s.CustomerID = customerID
		return s
	}
	written := map[string]bool{}
	for i, o := range orders {
		k := OrderKey(o.ID)
		var prev *order.Order
		if w, ok := p.Orders[k]; ok {
			if w.ID != o.ID {
				p.Outcomes[i] = Outcome{Err: fmt.Errorf("%w: order id %q shares its storage key %s with the stored order %q", ErrConflict, o.ID, k, w.ID)}
				p.Refused = true
				continue
			}
			prev = &w
		}
		change, err := Classify(prev, o)
		p.Outcomes[i] = Outcome{Change: change, Err: err}
		if err != nil || change == Stale {
			p.Refused = true
		}
		if err != nil || change == Unchanged || change == Stale {
			continue
		}
		if prev != nil && prev.Customer.ID != o.Customer.ID {
			p.Summaries[prev.Customer.ID] = Remove(current(prev.Customer.ID), k, loc)
		}
		p.Summaries[o.Customer.ID] = Apply(current(o.Customer.ID), o, loc)
		p.Orders[k] = o
		if !written[k] {
			written[k] = true
			p.Dirty = append(p.Dirty, k)
		}
	}
	for id, s := range p.Summaries {
		for _, k := range s.Missing() {
			if o, ok := p.Orders[k]; ok {
				s.Complete(o)
			}
		}
		p.Summaries[id] = s
	}
	return p
}

// Missing lists the keys of stored orders outside the plan whose line
// items or profile its summaries still need.
func (p Plan) Missing() []string {
	var keys []string
	seen := map[string]bool{}
	for _, s := range p.Summaries {
		for _, k := range s.Missing() {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// Complete gives the plan's summaries the stored orders Missing named.
func (p *Plan) Complete(orders ...order.Order) {
	for id, s := range p.Summaries {
		for _, o := range orders {
			s.Complete(o)
		}
		p.Summaries[id] = s
	}
}
