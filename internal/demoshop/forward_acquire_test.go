package demoshop

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/shared/order"
)

// newCustomerEvents are the events of customers the history does not know.
func newCustomerEvents(h *History, events []Event) []Event {
	var out []Event
	for _, e := range events {
		if _, ok := h.index[e.Order.Customer.ID]; !ok {
			out = append(out, e)
		}
	}
	return out
}

// TestPlayForwardAcquires: PlayForward acquires new customers after End at
// the history's rate, with fresh ids, without touching the campaign.
func TestPlayForwardAcquires(t *testing.T) {
	var got, want, recent, wantRecent float64
	var shopifyOrders, orders float64
	for seed := int64(1); seed <= 4; seed++ {
		h := defaultShop(t, seed)
		from := h.End.Add(2 * time.Hour)
		contacts := someContacts(h, 5)
		events := h.PlayForward(from, 28, contacts, seed)
		if again := h.PlayForward(from, 28, contacts, seed); !reflect.DeepEqual(events, again) {
			t.Fatal("PlayForward with the same arguments differs")
		}
		fresh := newCustomerEvents(h, events)
		if other := newCustomerEvents(h, h.PlayForward(from, 28, contacts, seed+10)); reflect.DeepEqual(fresh, other) {
			t.Error("another seed acquires the same customers")
		}
		// The campaign plays no part in them (but for their order numbers,
		// which follow those of the history's customers).
		if without := newCustomerEvents(h, h.PlayForward(from, 28, nil, seed)); !reflect.DeepEqual(unnumbered(fresh), unnumbered(without)) {
			t.Error("the new customers depend on the campaign")
		}

		// Ids, order ids and webhook ids of the history.
		var lastAPI, lastShopify int64
		emails := map[string]bool{}
		for _, c := range h.Customers {
			emails[c.Email] = true
			if c.Shopify {
				n, _ := strconv.ParseInt(c.ID, 10, 64)
				lastShopify = max(lastShopify, n)
			} else {
				n, _ := strconv.ParseInt(strings.TrimPrefix(c.ID, "c"), 10, 64)
				lastAPI = max(lastAPI, n)
			}
		}
		orderIDs, hooks := map[string]bool{}, map[string]bool{}
		for _, e := range h.Events {
			orderIDs[e.Order.ID] = true
			if e.Shopify && e.Kind != KindDuplicate {
				hooks[e.WebhookID] = true
			}
		}
		for _, e := range events {
			if e.Shopify && e.Kind != KindDuplicate {
				if hooks[e.WebhookID] {
					t.Errorf("webhook id %s used twice", e.WebhookID)
				}
				hooks[e.WebhookID] = true
			}
			if e.Kind == KindCreate {
				if orderIDs[e.Order.ID] {
					t.Errorf("order id %s used twice", e.Order.ID)
				}
				orderIDs[e.Order.ID] = true
			}
		}

		customers := map[string]Buyer{}
		first := map[string]time.Time{}
		for _, e := range fresh {
			o, b := e.Order, e.Order.Customer
			if e.Kind == KindMalformed || e.Campaign || len(o.DiscountCodes) > 0 && strings.HasPrefix(o.DiscountCodes[0].Code, "WB-") {
				t.Errorf("%s %s of new customer %s: malformed, campaign or coupon", e.Kind, o.ID, b.ID)
			}
			if _, ok := contacts[b.ID]; ok {
				t.Errorf("new customer %s is a contact", b.ID)
			}
			if prev, ok := customers[b.ID]; ok && prev != b {
				t.Errorf("customer %s changed: %+v, %+v", b.ID, prev, b)
			}
			customers[b.ID] = b
			if e.Kind == KindCreate {
				orders++
				if e.Shopify {
					shopifyOrders++
				}
				if f, ok := first[b.ID]; !ok || o.CreatedAt.Before(f) {
					first[b.ID] = o.CreatedAt
				}
			}
			if e.Shopify {
				n, err := strconv.ParseInt(b.ID, 10, 64)
				if err != nil || len(b.ID) != 13 || n <= lastShopify {
					t.Errorf("new Shopify customer id %s (last %d)", b.ID, lastShopify)
				}
			} else if n, err := strconv.ParseInt(strings.TrimPrefix(b.ID, "c"), 10, 64); err != nil || len(b.ID) != 6 || b.ID[0] != 'c' || n <= lastAPI {
				t.Errorf("new API customer id %s (last c%05d)", b.ID, lastAPI)
			}
			checkParses(t, h, e)
		}
		for id, b := range customers {
			if emails[b.Email] {
				t.Errorf("new customer %s has the address %s of another", id, b.Email)
			}
			emails[b.Email] = true
			if f, ok := first[id]; !ok || !f.Equal(b.Since) || !f.After(h.End) {
				t.Errorf("new customer %s: first order %v, since %v", id, f, b.Since)
			}
		}

		// Their number: near the expected count, and near the history's
		// own last four weeks.
		g := newGen(h.Config)
		day := func(t time.Time) float64 { return t.Sub(g.start).Hours() / 24 }
		mean := g.acquiredMean(g.span, day(from.Add(28*24*time.Hour)))
		n := float64(len(customers))
		if math.Abs(n-mean) > 4*math.Sqrt(mean) {
			t.Errorf("seed %d: %.0f new customers, expected %.1f", seed, n, mean)
		}
		for _, c := range h.Customers {
			if h.End.Sub(c.Truth.FirstOrder) < 28*24*time.Hour {
				recent++
			}
		}
		// The rate is Generate's: the same formula over the history's
		// last four weeks.
		wantRecent += g.acquiredMean(day(h.End.Add(-28*24*time.Hour)), g.span)
		got, want = got+n, want+mean
	}
	t.Logf("new customers in 4×28 days: %.0f, expected %.1f, in the histories' last 28 days %.0f (expected %.1f); Shopify orders %.0f of %.0f", got, want, recent, wantRecent, shopifyOrders, orders)
	within(t, "the history's last weeks / acquiredMean", recent/wantRecent, 0.85, 1.15)
	within(t, "new customers / expected", got/want, 0.85, 1.15)
	within(t, "new customers / the history's last weeks", got/recent, 0.6, 1.6)
	within(t, "Shopify share of the new customers' orders", shopifyOrders/orders, 0.1, 0.3)

	// Shopify only: every new customer arrives through the webhook.
	h := shopFor(t, Config{Seed: 4, Customers: 400, End: today, Currency: "JPY", ShopifyShare: 1})
	fresh := newCustomerEvents(h, h.PlayForward(h.End, 28, nil, 1))
	if len(fresh) == 0 {
		t.Fatal("no new customers")
	}
	for _, e := range fresh {
		if !e.Shopify {
			t.Errorf("%s %s of %s not through Shopify", e.Kind, e.Order.ID, e.Order.Customer.ID)
		}
		checkParses(t, h, e)
	}
}

// unnumbered is events without their order and webhook ids.
func unnumbered(events []Event) []Event {
	out := make([]Event, len(events))
	for i, e := range events {
		e.Order.ID, e.WebhookID = "", ""
		out[i] = e
	}
	return out
}

// checkParses checks that the event parses as TestOrdersPassTheAPI and
// TestShopifyRoundTrip check it.
func checkParses(t *testing.T, h *History, e Event) {
	t.Helper()
	rules := order.Rules{Currency: h.Config.Currency, Now: e.At}
	if e.Shopify {
		body, err := ShopifyPayload(e.Order)
		if err != nil {
			t.Fatal(err)
		}
		o, ignored, err := order.ParseShopify(body, rules)
		if err != nil || ignored != "" {
			t.Fatalf("%s %s: %v %q\n%s", e.Kind, e.Order.ID, err, ignored, body)
		}
		if want := e.Order.Domain(order.SourceShopify); !reflect.DeepEqual(o, want) {
			t.Fatalf("%s %s mapped to\n%+v\nwant\n%+v", e.Kind, e.Order.ID, o, want)
		}
		if len(e.WebhookID) != 36 {
			t.Errorf("%s %s: webhook id %q", e.Kind, e.Order.ID, e.WebhookID)
		}
		return
	}
	body, err := json.Marshal(e.Order)
	if err != nil {
		t.Fatal(err)
	}
	b, err := order.ParseBatch(body, rules)
	if err != nil || b.Items[0].Err != nil {
		t.Fatalf("%s %s refused: %v %v\n%s", e.Kind, e.Order.ID, err, b.Items[0].Err, body)
	}
	if got, want := b.Items[0].Order, e.Order.Domain(order.SourceAPI); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s %s parsed as\n%+v\nwant\n%+v", e.Kind, e.Order.ID, got, want)
	}
}
