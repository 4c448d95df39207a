package shopreport

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/scoring"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
	"github.com/winback/winback/shared/store/memstore"
)

// Both stores satisfy the port.
var (
	_ Store = (*memstore.Store)(nil)
	_ Store = (*store.Store)(nil)
)

// newShop creates a shop in a new memstore.
func newShop(t testing.TB, currency, tz string) (*memstore.Store, shop.Shop, string) {
	t.Helper()
	st := memstore.New()
	cred := shop.NewCredentials()
	sh := shop.Shop{ID: shop.NewID(), Name: "Tea & Co.", Currency: currency, Timezone: tz, Shards: 4,
		WebhookSecret: cred.WebhookSecret, CreatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := st.CreateShop(context.Background(), sh, cred); err != nil {
		t.Fatal(err)
	}
	return st, sh, cred.APIKey
}

// paid is a paid order of customer at time at.
func paid(customerID, id string, at time.Time, total int64) order.Order {
	return order.Order{ID: id, CreatedAt: at, UpdatedAt: at, Currency: "EUR", Total: total, Status: order.StatusPaid,
		Source: order.SourceAPI, Customer: order.Customer{ID: customerID, Email: customerID + "@example.com", AcceptsMarketing: true},
		LineItems: []order.LineItem{{Title: "Tea", Quantity: 1, Price: total}}}
}

// putOrders stores orders, grouped by customer as the store takes them.
func putOrders(t testing.TB, st *memstore.Store, sh shop.Shop, orders []order.Order) {
	t.Helper()
	byCustomer := map[string][]order.Order{}
	var ids []string
	for _, o := range orders {
		if byCustomer[o.Customer.ID] == nil {
			ids = append(ids, o.Customer.ID)
		}
		byCustomer[o.Customer.ID] = append(byCustomer[o.Customer.ID], o)
	}
	for _, id := range ids {
		os := byCustomer[id]
		for len(os) > 0 {
			n := min(len(os), customer.MaxGroup)
			if _, _, err := st.PutOrders(context.Background(), sh, os[:n], ""); err != nil {
				t.Fatal(err)
			}
			os = os[n:]
		}
	}
}

// putDay stores d as the shop's KPIs of its day.
func putDay(t testing.TB, st *memstore.Store, sh shop.Shop, d scoring.Day) {
	t.Helper()
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutDay(context.Background(), sh.ID, scores.Day{AsOf: d.AsOf, Data: data}); err != nil {
		t.Fatal(err)
	}
}

// night scores the shop as of asOf as the nightly job does (map, fit,
// score, finish, in one process) and stores the day's KPIs and scores.
func night(t testing.TB, st *memstore.Store, sh shop.Shop, asOf string) scoring.Day {
	t.Helper()
	ctx := context.Background()
	loc := sh.Location()
	var ins []scoring.Input
	var prospects []string
	var stats scoring.Stats
	for n := range sh.Shards {
		if err := st.Customers(ctx, sh, n, func(s customer.Summary) error {
			if in, ok := scoring.InputOf(s, asOf, loc); ok {
				ins = append(ins, in)
				stats.Add(in)
			} else {
				prospects = append(prospects, s.CustomerID)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := scoring.Fit(stats, scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var p scoring.Partial
	for _, in := range ins {
		p.Add(in, scoring.Score(m, in))
	}
	for _, id := range prospects {
		p.Add(scoring.Input{}, scoring.Prospect(m, id))
	}
	d := scoring.Report(p, m)
	putDay(t, st, sh, d)
	return d
}

// simulatedOrders draws a BG/NBD customer base: n customers whose first
// purchase falls in the first acquireDays days after start; while active a
// customer buys at rate λ ~ Gamma(r, α) per day and drops out after each
// purchase with probability p ~ Beta(a, b). Orders after end are not made.
func simulatedOrders(seed uint64, n, acquireDays int, start, end time.Time) []order.Order {
	src := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	rng := rand.New(src)
	lambda := distuv.Gamma{Alpha: 0.9, Beta: 40, Src: src}
	drop := distuv.Beta{Alpha: 0.7, Beta: 3, Src: src}
	var out []order.Order
	for i := range n {
		id := fmt.Sprintf("c%05d", i)
		l, p := lambda.Rand(), drop.Rand()
		at := start.Add(time.Duration(rng.Float64() * float64(acquireDays) * 24 * float64(time.Hour)))
		for k := 0; at.Before(end); k++ {
			out = append(out, paid(id, fmt.Sprintf("%s-%d", id, k), at.Truncate(time.Second), int64(1000+rng.IntN(9000))))
			if rng.Float64() < p || l <= 0 {
				break
			}
			gap := rng.ExpFloat64() / l
			if gap > 5000 {
				break
			}
			at = at.Add(time.Duration(gap * 24 * float64(time.Hour)))
		}
	}
	return out
}

// beginCampaign stores a campaign, with its report when r is not nil.
func beginCampaign(t testing.TB, st *memstore.Store, sh shop.Shop, id string, dry bool, r *campaign.Report) {
	t.Helper()
	ctx := context.Background()
	asOf := id[:10]
	c := campaign.Campaign{ShopID: sh.ID, ID: id, AsOf: asOf, DryRun: dry, Status: campaign.StatusSending,
		CreatedAt: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC), Settings: campaign.DefaultSettings()}
	if dry {
		c.Status = campaign.StatusDone
	}
	if _, err := st.BeginCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	if r != nil {
		if err := st.PutCampaignReport(ctx, sh.ID, id, *r); err != nil {
			t.Fatal(err)
		}
	}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }
