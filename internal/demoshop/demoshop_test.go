package demoshop

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin wherever the tests run

	"github.com/winback/winback/shared/ingest"
	"github.com/winback/winback/shared/order"
)

// today is the demo's "today" in the tests.
var today = time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// shops caches generated histories: they are read-only in the tests.
var shops sync.Map

func shopFor(t testing.TB, cfg Config) *History {
	t.Helper()
	key := fmt.Sprintf("%+v", cfg)
	if h, ok := shops.Load(key); ok {
		return h.(*History)
	}
	h, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	shops.Store(key, h)
	return h
}

// defaultShop is the default shop of a seed, in Berlin.
func defaultShop(t testing.TB, seed int64) *History {
	return shopFor(t, Config{Seed: seed, End: today, Location: berlin(t)})
}

func rules(h *History) order.Rules {
	return order.Rules{Currency: h.Config.Currency, Now: h.End}
}

func TestGenerateIsDeterministic(t *testing.T) {
	cfg := Config{Seed: 7, Customers: 800, End: today, Location: berlin(t)}
	a, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two histories of the same config differ")
	}
	ja, _ := json.Marshal(a.Events)
	jb, _ := json.Marshal(b.Events)
	if !bytes.Equal(ja, jb) {
		t.Fatal("the same config marshals differently")
	}
	contacts := someContacts(a, 15)
	from := a.End.Add(3 * time.Hour)
	if fa, fb := a.PlayForward(from, 28, contacts, 3), b.PlayForward(from, 28, contacts, 3); !reflect.DeepEqual(fa, fb) {
		t.Fatal("PlayForward with the same arguments differs")
	}
	cfg.Seed = 8
	c, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Customers, c.Customers) {
		t.Fatal("another seed gives the same customers")
	}
}

func TestConfig(t *testing.T) {
	h := shopFor(t, Config{Seed: 1, Customers: 50, End: today})
	c := h.Config
	if c.Currency != "EUR" || c.Days != 730 || c.Location != time.UTC || c.ShopifyShare != 0.2 || c.Params != DefaultParams() {
		t.Errorf("defaults: %+v", c)
	}
	if d := shopFor(t, Config{Seed: 1, End: today}); len(d.Customers) != DefaultCustomers {
		t.Errorf("%d customers, want %d", len(d.Customers), DefaultCustomers)
	}
	if want := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC); !h.Start.Equal(want) || !h.End.Equal(today) {
		t.Errorf("history %v .. %v, want %v .. %v", h.Start, h.End, want, today)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no end", Config{}},
		{"negative customers", Config{End: today, Customers: -1}},
		{"short history", Config{End: today, Days: 7}},
		{"unknown currency", Config{End: today, Currency: "EURO"}},
		{"share above 1", Config{End: today, ShopifyShare: 1.5}},
		{"q at most 1", Config{End: today, Params: Params{R: 1, Alpha: 1, A: 1, B: 1, P: 1, Q: 1, Gamma: 1, Regularity: 1}}},
		{"zero rate", Config{End: today, Params: Params{R: 0, Alpha: 1, A: 1, B: 1, P: 1, Q: 2, Gamma: 1, Regularity: 1}}},
		{"replenishers above 1", Config{End: today, Params: Params{R: 1, Alpha: 1, A: 1, B: 1, P: 1, Q: 2, Gamma: 1, Regularity: 1, Replenishers: 2}}},
	} {
		if _, err := Generate(tc.cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", tc.name, err)
		}
	}
}

func TestCatalogue(t *testing.T) {
	h := defaultShop(t, 1)
	if len(h.Products) < 6 {
		t.Fatalf("%d products", len(h.Products))
	}
	tea := h.Products[productIndex(h.Products, "TEA-EARLGREY-100")]
	if tea.CycleDays != 42 || tea.Price != 890 {
		t.Errorf("the tea: %+v, want a 42-day cycle at 8.90", tea)
	}
	var consumables, durables int
	for _, p := range h.Products {
		if p.CycleDays > 0 {
			consumables++
		} else {
			durables++
		}
	}
	if consumables < 3 || durables < 2 {
		t.Errorf("%d consumables and %d durable goods", consumables, durables)
	}
	for _, tc := range []struct {
		currency string
		want     int64
	}{{"JPY", 890}, {"KWD", 8900}, {"USD", 890}} {
		p := newCatalogue(tc.currency)[0]
		if p.Price != tc.want {
			t.Errorf("%s: tea at %d minor units, want %d", tc.currency, p.Price, tc.want)
		}
	}
}

// within checks that got is in [lo, hi].
func within(t *testing.T, what string, got, lo, hi float64) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s = %.4f, want %.4f..%.4f", what, got, lo, hi)
	} else {
		t.Logf("%s = %.4f", what, got)
	}
}

func TestCountsAndRatios(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			h := defaultShop(t, seed)
			k := CountKinds(h.Events)
			creates := float64(k[KindCreate])
			within(t, "orders per customer", creates/float64(len(h.Customers)), 2.5, 4.5)
			within(t, "partial refunds", float64(k[KindRefundPartial])/creates, 0.02, 0.04)
			within(t, "full refunds", float64(k[KindRefundFull])/creates, 0.005, 0.016)
			within(t, "cancellations", float64(k[KindCancel])/creates, 0.005, 0.016)
			within(t, "pending then paid", float64(k[KindPaid])/creates, 0.012, 0.028)
			within(t, "duplicates", float64(k[KindDuplicate])/creates, 0.002, 0.009)
			if k[KindMalformed] != MalformedOrders {
				t.Errorf("%d malformed, want %d", k[KindMalformed], MalformedOrders)
			}

			var shopify, consent, once float64
			ids, emails := map[string]bool{}, map[string]bool{}
			for _, e := range h.Events {
				if e.Kind == KindCreate && e.Shopify {
					shopify++
				}
			}
			within(t, "Shopify share of the orders", shopify/creates, 0.17, 0.23)
			for _, c := range h.Customers {
				if c.AcceptsMarketing {
					consent++
				}
				if c.Truth.Orders == 1 {
					once++
				}
				if ids[c.ID] || emails[c.Email] {
					t.Errorf("customer %s: id or e-mail %s taken", c.ID, c.Email)
				}
				ids[c.ID], emails[c.Email] = true, true
				if _, domain, _ := strings.Cut(c.Email, "@"); domain != "example.com" && domain != "example.org" && domain != "example.net" {
					t.Errorf("customer %s: %s is not under an RFC 2606 domain", c.ID, c.Email)
				}
			}
			n := float64(len(h.Customers))
			within(t, "consent", consent/n, 0.77, 0.83)
			within(t, "one-order customers", once/n, 0.3, 0.5)
			seg := h.Segments()
			for _, s := range Segments {
				within(t, "share "+string(s), float64(seg[s])/n, 0.04, 0.4)
			}
		})
	}
}

func TestShopifyShare(t *testing.T) {
	for _, share := range []float64{-1, 0.05, 0.5, 1} {
		h := shopFor(t, Config{Seed: 5, Customers: 1500, End: today, ShopifyShare: share})
		var creates, shopify float64
		for _, e := range h.Events {
			if e.Kind == KindCreate {
				creates++
				if e.Shopify {
					shopify++
				}
			}
			if e.Kind == KindMalformed && e.Shopify {
				t.Errorf("a malformed request through Shopify")
			}
		}
		want := max(0, share)
		if got := shopify / creates; math.Abs(got-want) > 0.03 {
			t.Errorf("share %g: %.3f of the orders through Shopify", share, got)
		}
	}
}

func TestAcquisitionSpreadsOverTheHistory(t *testing.T) {
	h := defaultShop(t, 1)
	var quarters [8]int
	var lastWeeks int
	for _, c := range h.Customers {
		q := int(c.Truth.FirstOrder.Sub(h.Start).Hours() / 24 / 91.25)
		quarters[min(q, 7)]++
		if h.End.Sub(c.Truth.FirstOrder) <= 28*24*time.Hour {
			lastWeeks++
		}
	}
	for q, n := range quarters {
		if n < len(h.Customers)/20 {
			t.Errorf("quarter %d: %d new customers", q, n)
		}
	}
	if quarters[7] <= quarters[0] {
		t.Errorf("the shop does not grow: %v", quarters)
	}
	if lastWeeks < 50 {
		t.Errorf("%d customers new in the last four weeks", lastWeeks)
	}
}

// TestOrdersPassTheAPI sends every order version through the API's parser
// (each on its own and in batches of 100) and every malformed body too.
func TestOrdersPassTheAPI(t *testing.T) {
	for _, cfg := range []Config{
		{Seed: 1, End: today, Location: berlin(t)},
		{Seed: 2, Customers: 300, End: today, Currency: "JPY", Location: time.FixedZone("JST", 9*3600)},
		{Seed: 3, Customers: 300, End: today, Currency: "KWD"},
	} {
		h := shopFor(t, cfg)
		var batch []Order
		send := func() {
			body, err := BatchBody(batch)
			if err != nil {
				t.Fatal(err)
			}
			b, err := order.ParseBatch(body, order.Rules{Currency: h.Config.Currency, Now: batch[len(batch)-1].UpdatedAt})
			if err != nil {
				t.Fatalf("%s batch: %v", cfg.Currency, err)
			}
			for i, it := range b.Items {
				if it.Err != nil {
					t.Errorf("%s batch order %s: %v", cfg.Currency, batch[i].ID, it.Err)
				}
			}
			batch = batch[:0]
		}
		var malformed int
		for _, e := range append(h.Events, h.PlayForward(h.End, 28, someContacts(h, 10), 1)...) {
			if e.Kind == KindMalformed {
				malformed++
				b, err := order.ParseBatch(e.Body, rules(h))
				if err == nil && b.Items[0].Err == nil {
					t.Errorf("malformed body accepted: %s", e.Body)
				}
				continue
			}
			if e.Body != nil {
				t.Errorf("%s event %s has a body", e.Kind, e.Order.ID)
			}
			body, err := json.Marshal(e.Order)
			if err != nil {
				t.Fatal(err)
			}
			b, err := order.ParseBatch(body, order.Rules{Currency: h.Config.Currency, Now: e.At})
			if err != nil || b.Items[0].Err != nil {
				t.Fatalf("%s %s refused: %v %v\n%s", e.Kind, e.Order.ID, err, b.Items[0].Err, body)
			}
			if got, want := b.Items[0].Order, e.Order.Domain(order.SourceAPI); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s %s parsed as\n%+v\nwant\n%+v", e.Kind, e.Order.ID, got, want)
			}
			if batch = append(batch, e.Order); len(batch) == order.MaxBatch {
				send()
			}
		}
		if len(batch) > 0 {
			send()
		}
		if malformed != MalformedOrders {
			t.Errorf("%d malformed bodies", malformed)
		}
	}
}

func TestAPISchema(t *testing.T) {
	loc := berlin(t)
	at := time.Date(2025, 11, 28, 20, 14, 3, 0, loc)
	o := Order{
		ID:        "100042",
		Customer:  Buyer{ID: "c00042", Email: "ada.lovelace@example.org", FirstName: "Ada", LastName: "Lovelace", AcceptsMarketing: true, Since: at},
		CreatedAt: at, UpdatedAt: at.Add(72 * time.Hour), Currency: "EUR",
		Total: 2521, Refunded: 890, Status: order.StatusPaid,
		LineItems:     []order.LineItem{{SKU: "TEA-EARLGREY-100", Title: "Earl Grey loose-leaf tea, 100 g", Quantity: 2, Price: 890}, {SKU: "TEA-FILTERS-100", Title: "Paper tea filters, 100 pieces", Quantity: 3, Price: 390}},
		DiscountCodes: []order.DiscountCode{{Code: "XMAS15", Amount: 445}},
	}
	got, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"order_id":"100042","customer":{"id":"c00042","email":"ada.lovelace@example.org","first_name":"Ada","accepts_marketing":true},` +
		`"created_at":"2025-11-28T20:14:03+01:00","updated_at":"2025-12-01T20:14:03+01:00","currency":"EUR","total":"25.21","refunded_total":"8.90","status":"paid",` +
		`"line_items":[{"sku":"TEA-EARLGREY-100","title":"Earl Grey loose-leaf tea, 100 g","quantity":2,"price":"8.90"},{"sku":"TEA-FILTERS-100","title":"Paper tea filters, 100 pieces","quantity":3,"price":"3.90"}],` +
		`"discount_codes":[{"code":"XMAS15","amount":"4.45"}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestShopifyRoundTrip maps every Shopify version of the history (and of
// the weeks after a campaign) back with the webhook's own mapper.
func TestShopifyRoundTrip(t *testing.T) {
	for _, cfg := range []Config{
		{Seed: 1, End: today, Location: berlin(t)},
		{Seed: 4, Customers: 400, End: today, Currency: "JPY", ShopifyShare: 1},
	} {
		h := shopFor(t, cfg)
		const secret = "shpss_demo"
		var n int
		for _, e := range append(h.Events, h.PlayForward(h.End, 28, someContacts(h, 20), 1)...) {
			if !e.Shopify {
				continue
			}
			n++
			body, err := ShopifyPayload(e.Order)
			if err != nil {
				t.Fatal(err)
			}
			o, ignored, err := order.ParseShopify(body, order.Rules{Currency: h.Config.Currency, Now: e.At})
			if err != nil || ignored != "" {
				t.Fatalf("%s %s: %v %q\n%s", e.Kind, e.Order.ID, err, ignored, body)
			}
			if want := e.Order.Domain(order.SourceShopify); !reflect.DeepEqual(o, want) {
				t.Fatalf("%s %s mapped to\n%+v\nwant\n%+v\n%s", e.Kind, e.Order.ID, o, want, body)
			}
			if !ingest.ValidShopifySignature(body, Sign(secret, body), secret) {
				t.Fatal("the webhook refuses Sign's signature")
			}
			if e.WebhookID == "" || len(e.WebhookID) != 36 {
				t.Errorf("%s %s: webhook id %q", e.Kind, e.Order.ID, e.WebhookID)
			}
		}
		if n < 500 {
			t.Errorf("%s: only %d Shopify events", cfg.Currency, n)
		}
	}
	if _, err := ShopifyPayload(Order{ID: "100001", Customer: Buyer{ID: "1"}, Currency: "EUR"}); err != nil {
		t.Errorf("a numeric id: %v", err)
	}
	for _, o := range []Order{
		{ID: "A-1", Customer: Buyer{ID: "1"}, Currency: "EUR"},
		{ID: "1", Customer: Buyer{ID: "c00001"}, Currency: "EUR"},
		{ID: "1", Customer: Buyer{ID: "1"}, Currency: "EURO"},
	} {
		if _, err := ShopifyPayload(o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestShopifyWebhookIDs(t *testing.T) {
	h := defaultShop(t, 1)
	created := map[string]string{}
	seen := map[string]bool{}
	var dups int
	for _, e := range h.Events {
		if !e.Shopify {
			continue
		}
		switch e.Kind {
		case KindDuplicate:
			dups++
			if e.WebhookID != created[e.Order.ID] || e.Topic() != "orders/create" {
				t.Errorf("duplicate of %s: delivery %s %s, want the create's %s", e.Order.ID, e.Topic(), e.WebhookID, created[e.Order.ID])
			}
			continue
		case KindCreate:
			created[e.Order.ID] = e.WebhookID
		}
		if seen[e.WebhookID] {
			t.Errorf("webhook id %s used twice", e.WebhookID)
		}
		seen[e.WebhookID] = true
	}
	if dups == 0 {
		t.Error("no Shopify duplicates")
	}
	for k, want := range map[Kind]string{KindCreate: "orders/create", KindPaid: "orders/paid", KindCancel: "orders/cancelled", KindRefundFull: "orders/updated", KindRefundPartial: "orders/updated"} {
		if got := (Event{Kind: k}).Topic(); got != want {
			t.Errorf("%s: topic %s, want %s", k, got, want)
		}
	}
}

// TestMoney checks the arithmetic of every version: the total is the lines
// less the discounts, refunds are within the total and match the status.
func TestMoney(t *testing.T) {
	h := defaultShop(t, 2)
	codes := map[string]int{}
	for _, e := range append(h.Events, h.PlayForward(h.End, 28, someContacts(h, 15), 1)...) {
		o := e.Order
		if o.Total != o.Subtotal()-o.Discount() {
			t.Errorf("%s: total %d, lines %d, discount %d", o.ID, o.Total, o.Subtotal(), o.Discount())
		}
		if o.Total <= 0 || o.Refunded < 0 || o.Refunded > o.Total {
			t.Errorf("%s: total %d, refunded %d", o.ID, o.Total, o.Refunded)
		}
		if len(o.LineItems) == 0 || len(o.LineItems) > 4 {
			t.Errorf("%s: %d lines", o.ID, len(o.LineItems))
		}
		for _, l := range o.LineItems {
			if p := h.Products[productIndex(h.Products, l.SKU)]; p.Price != l.Price || p.Title != l.Title || l.Quantity < 1 {
				t.Errorf("%s: line %+v", o.ID, l)
			}
		}
		for _, d := range o.DiscountCodes {
			codes[d.Code]++
			if pct := map[string]int64{WelcomeCode: 10, XmasCode: 15}[d.Code]; pct > 0 && d.Amount != percentOf(o.Subtotal(), int(pct)) {
				t.Errorf("%s: %s took %d of %d", o.ID, d.Code, d.Amount, o.Subtotal())
			}
		}
		switch e.Kind {
		case KindRefundPartial:
			if o.Status != order.StatusPaid || o.Refunded <= 0 || o.Refunded >= o.Total {
				t.Errorf("partial refund %s: %s %d of %d", o.ID, o.Status, o.Refunded, o.Total)
			}
		case KindRefundFull:
			if o.Status != order.StatusRefunded || o.Refunded != o.Total {
				t.Errorf("full refund %s: %s %d of %d", o.ID, o.Status, o.Refunded, o.Total)
			}
		case KindCancel:
			if o.Status != order.StatusCancelled || o.Refunded != 0 {
				t.Errorf("cancellation %s: %s %d", o.ID, o.Status, o.Refunded)
			}
		case KindPaid:
			if o.Status != order.StatusPaid {
				t.Errorf("payment %s: %s", o.ID, o.Status)
			}
		case KindCreate:
			if o.Refunded != 0 || o.Status != order.StatusPaid && o.Status != order.StatusPending {
				t.Errorf("create %s: %s refunded %d", o.ID, o.Status, o.Refunded)
			}
		}
	}
	if codes[WelcomeCode] < 50 || codes[XmasCode] < 50 {
		t.Errorf("the shop's codes: %v", codes)
	}
}

// TestChronology checks the order of events: in time, each order created
// before its updates, updates newer versions, duplicates the same version.
func TestChronology(t *testing.T) {
	h := defaultShop(t, 3)
	check := func(name string, events []Event, from, to time.Time, known map[string]Order) {
		if !slices.IsSortedFunc(events, func(a, b Event) int { return a.At.Compare(b.At) }) {
			t.Errorf("%s: events out of order", name)
		}
		for _, e := range events {
			o := e.Order
			if !e.At.After(from) || e.At.After(to) {
				t.Errorf("%s: %s %s at %v, outside (%v, %v]", name, e.Kind, o.ID, e.At, from, to)
			}
			if o.CreatedAt.Location() != h.Config.Location || o.CreatedAt.Nanosecond() != 0 {
				t.Errorf("%s: %s created at %v", name, o.ID, o.CreatedAt)
			}
			if e.Kind == KindMalformed {
				continue
			}
			prev, seen := known[o.ID]
			switch e.Kind {
			case KindCreate:
				if seen {
					t.Errorf("%s: %s created twice", name, o.ID)
				}
				if !e.At.Equal(o.CreatedAt) || !o.UpdatedAt.Equal(o.CreatedAt) {
					t.Errorf("%s: create %s at %v, created %v, updated %v", name, o.ID, e.At, o.CreatedAt, o.UpdatedAt)
				}
			case KindDuplicate:
				if !seen || !reflect.DeepEqual(prev, o) {
					t.Errorf("%s: duplicate %s is not the version sent before", name, o.ID)
				}
			default:
				if !seen || !o.UpdatedAt.After(prev.UpdatedAt) || !e.At.Equal(o.UpdatedAt) || !o.CreatedAt.Equal(prev.CreatedAt) {
					t.Errorf("%s: update %s (%s) at %v: before its create, or not a newer version", name, o.ID, e.Kind, e.At)
				}
				if e.Kind == KindPaid && prev.Status != order.StatusPending {
					t.Errorf("%s: %s paid, but was %s", name, o.ID, prev.Status)
				}
				if seen && prev.Customer != o.Customer {
					t.Errorf("%s: %s changed customer", name, o.ID)
				}
			}
			known[o.ID] = o
		}
	}
	known := map[string]Order{}
	check("history", h.Events, h.Start, h.End, known)
	from := h.End.Add(90 * time.Minute)
	check("forward", h.PlayForward(from, 21, someContacts(h, 10), 9), h.End, from.Add(21*24*time.Hour), known)
}

func TestLocalTime(t *testing.T) {
	h := defaultShop(t, 1)
	var night, n float64
	offsets := map[string]bool{}
	for _, e := range h.Events {
		if e.Kind != KindCreate {
			continue
		}
		n++
		if e.At.Hour() < 6 {
			night++
		}
		s := e.Order.CreatedAt.Format(time.RFC3339)
		offsets[s[len(s)-6:]] = true
	}
	within(t, "orders between midnight and 6", night/n, 0.01, 0.08)
	if !offsets["+01:00"] || !offsets["+02:00"] || len(offsets) != 2 {
		t.Errorf("offsets %v, want Berlin's winter and summer time", offsets)
	}
}

func TestReplenishers(t *testing.T) {
	h := defaultShop(t, 1)
	orders := map[string][]Order{}
	for _, e := range h.Events {
		if e.Kind == KindCreate {
			orders[e.Order.Customer.ID] = append(orders[e.Order.Customer.ID], e.Order)
		}
	}
	var ratios []float64
	var replenishers int
	for _, c := range h.Customers {
		sku := c.Truth.Replenishes
		if sku == "" {
			continue
		}
		replenishers++
		cycle := float64(h.Products[productIndex(h.Products, sku)].CycleDays * c.Truth.PacksPerOrder)
		os := orders[c.ID]
		for i, o := range os {
			if !slices.ContainsFunc(o.LineItems, func(l order.LineItem) bool {
				return l.SKU == sku && l.Quantity >= int64(c.Truth.PacksPerOrder)
			}) {
				t.Errorf("%s replenishes %d × %s but order %s lacks it", c.ID, c.Truth.PacksPerOrder, sku, o.ID)
			}
			if i > 0 {
				ratios = append(ratios, o.CreatedAt.Sub(os[i-1].CreatedAt).Hours()/24/cycle)
			}
		}
	}
	within(t, "share of replenishers", float64(replenishers)/float64(len(h.Customers)), 0.1, 0.4)
	slices.Sort(ratios)
	q := func(p float64) float64 { return ratios[int(p*float64(len(ratios)-1))] }
	within(t, "median gap / cycle", q(0.5), 0.8, 1.1)
	within(t, "lower quartile", q(0.25), 0.55, 1)
	within(t, "upper quartile", q(0.75), 1, 1.35)
}

// someContacts makes a campaign of every n-th customer who accepts
// marketing and is not new: alternately mailed with a coupon and held out.
func someContacts(h *History, n int) map[string]Contact {
	m := map[string]Contact{}
	k := 0
	for i, c := range h.Customers {
		if i%n != 0 || !c.AcceptsMarketing || c.Truth.Segment == SegmentNew {
			continue
		}
		if k++; k%2 == 0 {
			m[c.ID] = Contact{Group: GroupHoldout}
		} else {
			m[c.ID] = Contact{Group: GroupMailed, Coupon: fmt.Sprintf("WB-TEST-%04d", k), Percent: 15}
		}
	}
	return m
}

// converted reports the customers with a paid order created in [from,
// from+days) among the events.
func converted(events []Event, from time.Time, days int) map[string]bool {
	to := from.Add(time.Duration(days) * 24 * time.Hour)
	m := map[string]bool{}
	for _, o := range finalVersions(events) {
		if o.Status == order.StatusPaid && !o.CreatedAt.Before(from) && o.CreatedAt.Before(to) {
			m[o.Customer.ID] = true
		}
	}
	return m
}

func TestPlayForwardCampaign(t *testing.T) {
	var mailedRate, holdoutRate float64
	const seeds = 4
	for seed := int64(1); seed <= seeds; seed++ {
		h := defaultShop(t, seed)
		// Half of the consenting customers who are not new: mailed with
		// 15% off, or held out.
		contacts := map[string]Contact{}
		var mailed, holdout float64
		for i, c := range h.Customers {
			if !c.AcceptsMarketing || c.Truth.Segment == SegmentNew {
				continue
			}
			if i%2 == 0 {
				contacts[c.ID] = Contact{Group: GroupMailed, Coupon: "WB-" + c.ID, Percent: 15}
				mailed++
			} else {
				contacts[c.ID] = Contact{Group: GroupHoldout}
				holdout++
			}
		}
		events0 := slices.Clone(h.Events)
		from := h.End.Add(150 * time.Minute)
		events := h.PlayForward(from, 28, contacts, seed)
		if !reflect.DeepEqual(h.Events, events0) {
			t.Fatal("PlayForward changed the history")
		}

		conv := converted(events, from, ResponseDays)
		var m, ho float64
		for id := range conv {
			switch contacts[id].Group {
			case GroupMailed:
				m++
			case GroupHoldout:
				ho++
			}
		}
		mailedRate += m / mailed / seeds
		holdoutRate += ho / holdout / seeds

		used := map[string]int{}
		ids := map[string]bool{}
		for _, e := range h.Events {
			ids[e.Order.ID] = true
		}
		for _, e := range events {
			o := e.Order
			if e.Kind == KindCreate && ids[o.ID] {
				t.Errorf("order id %s of the history used again", o.ID)
			}
			c := contacts[o.Customer.ID]
			if e.Campaign && c.Group != GroupMailed {
				t.Errorf("%s: a campaign order of a customer who was not mailed (%q)", o.ID, c.Group)
			}
			if e.Campaign && o.CreatedAt.Before(from) {
				t.Errorf("%s: a campaign order before the campaign", o.ID)
			}
			for _, d := range o.DiscountCodes {
				if !strings.HasPrefix(d.Code, "WB-") {
					continue
				}
				if c.Group != GroupMailed || d.Code != c.Coupon {
					t.Errorf("%s: customer %s (%q, coupon %q) used %s", o.ID, o.Customer.ID, c.Group, c.Coupon, d.Code)
				}
				if d.Amount != percentOf(o.Subtotal(), c.Percent) || o.Total != o.Subtotal()-d.Amount {
					t.Errorf("%s: %s took %d of %d, total %d", o.ID, d.Code, d.Amount, o.Subtotal(), o.Total)
				}
				if o.CreatedAt.Before(from) || o.CreatedAt.After(from.Add(ResponseDays*24*time.Hour)) {
					t.Errorf("%s: coupon used at %v, outside the window", o.ID, o.CreatedAt)
				}
				if e.Kind == KindCreate {
					used[o.Customer.ID]++
				}
			}
		}
		for id, n := range used {
			if n > 1 {
				t.Errorf("%s used their coupon %d times", id, n)
			}
		}
		if len(used) < int(mailed)/20 {
			t.Errorf("seed %d: only %d of %.0f mailed customers redeemed", seed, len(used), mailed)
		}
	}
	t.Logf("conversion in %d days: mailed %.4f, holdout %.4f", ResponseDays, mailedRate, holdoutRate)
	within(t, "uplift", mailedRate-holdoutRate, 0.04, 0.12)
	within(t, "holdout conversion", holdoutRate, 0.02, 0.25)
}

// TestHoldoutIsTheBaseline: a held-out customer orders exactly as with no
// campaign at all.
func TestHoldoutIsTheBaseline(t *testing.T) {
	h := defaultShop(t, 1)
	contacts := someContacts(h, 3)
	key := func(e Event) string {
		return fmt.Sprintf("%s %s %s %d %d", e.Kind, e.Order.Customer.ID, e.Order.CreatedAt, e.Order.Total, e.Order.Refunded)
	}
	pick := func(events []Event, group string) []string {
		var ks []string
		for _, e := range events {
			if contacts[e.Order.Customer.ID].Group == group && e.Order.CreatedAt.After(h.End) {
				ks = append(ks, key(e))
			}
		}
		return ks
	}
	from := h.End.Add(time.Hour)
	with, without := h.PlayForward(from, 28, contacts, 5), h.PlayForward(from, 28, nil, 5)
	if a, b := pick(with, GroupHoldout), pick(without, GroupHoldout); !slices.Equal(a, b) || len(a) == 0 {
		t.Errorf("held-out customers: %d orders with the campaign, %d without", len(a), len(b))
	}
	if a, b := pick(with, GroupMailed), pick(without, GroupMailed); len(a) <= len(b) {
		t.Errorf("mailed customers: %d events with the campaign, %d without", len(a), len(b))
	}
}

func TestPlayForwardBringsDueUpdates(t *testing.T) {
	h := defaultShop(t, 1)
	if len(h.later) == 0 {
		t.Fatal("no updates due after the history")
	}
	events := h.PlayForward(h.End, 31, nil, 1)
	have := map[string]bool{}
	for _, e := range events {
		have[string(e.Kind)+e.Order.ID+e.At.String()] = true
	}
	for _, e := range h.later {
		if !e.At.After(h.End.Add(31*24*time.Hour)) && !have[string(e.Kind)+e.Order.ID+e.At.String()] {
			t.Errorf("%s %s due %v missing", e.Kind, e.Order.ID, e.At)
		}
	}
	if got := h.PlayForward(h.End.Add(-48*time.Hour), 0, nil, 1); len(got) != 0 {
		t.Errorf("zero days ahead: %d events", len(got))
	}
}

func TestUplift(t *testing.T) {
	for _, tc := range []struct {
		percent int
		want    float64
	}{{0, 0.05}, {10, 0.07}, {15, 0.08}, {20, 0.09}, {100, 0.15}, {-5, 0.05}} {
		if got := Uplift(tc.percent); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Uplift(%d) = %g, want %g", tc.percent, got, tc.want)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(Config{Seed: 1, End: today}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestShopifyStatuses maps each status, with and without refunds, through
// the webhook's mapper.
func TestShopifyStatuses(t *testing.T) {
	at := time.Date(2026, 1, 5, 18, 0, 0, 0, time.UTC)
	base := Order{
		ID: "5000000000042", Customer: Buyer{ID: "7000000000007", Email: "zoe.muller@example.net", FirstName: "Zoë"},
		CreatedAt: at, UpdatedAt: at.Add(time.Hour), Currency: "EUR", Total: 2000,
		LineItems:     []order.LineItem{{SKU: "TEA-SENCHA-100", Title: "Sencha green tea, 100 g", Quantity: 2, Price: 1150}},
		DiscountCodes: []order.DiscountCode{{Code: "WB-ABCD-EFGH", Amount: 300}},
	}
	for _, tc := range []struct {
		status    order.Status
		refunded  int64
		financial string
	}{
		{order.StatusPaid, 0, "paid"},
		{order.StatusPaid, 500, "partially_refunded"},
		{order.StatusRefunded, 2000, "refunded"},
		{order.StatusPending, 0, "pending"},
		{order.StatusCancelled, 0, "voided"},
		{order.StatusCancelled, 2000, "refunded"},
		{order.StatusCancelled, 700, "partially_refunded"},
	} {
		o := base
		o.Status, o.Refunded = tc.status, tc.refunded
		body, err := ShopifyPayload(o)
		if err != nil {
			t.Fatal(err)
		}
		var raw struct {
			FinancialStatus string  `json:"financial_status"`
			CancelledAt     *string `json:"cancelled_at"`
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		if raw.FinancialStatus != tc.financial || (raw.CancelledAt != nil) != (tc.status == order.StatusCancelled) {
			t.Errorf("%s refunded %d: financial_status %s, cancelled_at %v", tc.status, tc.refunded, raw.FinancialStatus, raw.CancelledAt)
		}
		got, ignored, err := order.ParseShopify(body, order.Rules{Currency: "EUR", Now: at})
		if err != nil || ignored != "" {
			t.Fatalf("%s: %v %q", tc.status, err, ignored)
		}
		if want := o.Domain(order.SourceShopify); !reflect.DeepEqual(got, want) {
			t.Errorf("%s refunded %d: mapped to\n%+v\nwant\n%+v", tc.status, tc.refunded, got, want)
		}
	}
}
