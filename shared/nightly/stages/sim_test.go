package stages_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/winback/winback/shared/clv"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
)

// The generating process of the simulated shops, in days and EUR: BG/NBD
// (CDNOW-like: a purchase every ~4 months on average, 25% chance to leave
// after each repeat purchase) and Gamma-Gamma (mean repeat-day spend
// p·γ/(q−1) = 45 EUR).
var (
	trueBGNBD = clv.BGNBD{R: 0.5, Alpha: 60, A: 0.8, B: 2.4}
	trueGG    = clv.GammaGamma{P: 6, Q: 4, Gamma: 22.5}
)

// simShop is a simulated customer base as orders: each customer's first
// purchase day is T days before asOf, the last Tx days after it, and X
// repeat days in between; every repeat day's order is the customer's
// Monetary (rounded to cents), the first order a draw around it.
type simShop struct {
	asOf      string
	customers []clv.Customer           // the process's draws, in days
	orders    map[string][]order.Order // customer id → orders
	ids       []string                 // customer ids in draw order
}

func simulate(n int, seed uint64, asOf string, loc *time.Location) simShop {
	cs, _ := clv.SimulateBGNBD(trueBGNBD, clv.SimOptions{N: n, TMin: 1, TMax: 730, Resolution: 1, Seed: seed})
	clv.SimulateSpend(trueGG, cs, seed+1)
	end, _ := time.ParseInLocation(time.DateOnly, asOf, loc)
	rng := rand.New(rand.NewPCG(seed, 7))
	s := simShop{asOf: asOf, customers: cs, orders: map[string][]order.Order{}}
	for i := range cs {
		c := &cs[i]
		c.ID = fmt.Sprintf("c-%05d", i)
		x, tx, T := int(c.X), int(c.Tx), int(c.T)
		first := end.AddDate(0, 0, -T)
		days := []int{0}
		if x > 0 {
			// x distinct days in (0, tx], the last one tx.
			picked := map[int]bool{tx: true}
			for len(picked) < x {
				picked[1+rng.IntN(tx)] = true
			}
			for d := range picked {
				days = append(days, d)
			}
		}
		repeat := int64(math.Round(c.Monetary * 100))
		c.Monetary = float64(repeat) / 100 // what the orders carry
		for k, d := range days {
			total := repeat
			if k == 0 {
				total = int64(1000 + rng.IntN(9000))
			}
			at := time.Date(first.Year(), first.Month(), first.Day()+d, 12, 0, 0, 0, loc)
			s.orders[c.ID] = append(s.orders[c.ID], order.Order{
				ID: fmt.Sprintf("o-%05d-%03d", i, k), CreatedAt: at, UpdatedAt: at, Currency: "EUR",
				Total: total, Status: order.StatusPaid, Source: order.SourceAPI,
				Customer:  order.Customer{ID: c.ID, Email: fmt.Sprintf("%s@example.com", c.ID), AcceptsMarketing: true},
				LineItems: []order.LineItem{{SKU: "SKU-1", Title: "Tea", Quantity: 1, Price: total}},
			})
		}
		s.ids = append(s.ids, c.ID)
	}
	return s
}

// putAll stores the simulated orders customer by customer, 25 at a time.
func (s simShop) putAll(t testing.TB, put func(sh shop.Shop, orders []order.Order) error, sh shop.Shop) {
	t.Helper()
	for _, id := range s.ids {
		os := s.orders[id]
		for len(os) > 0 {
			k := min(len(os), customer.MaxGroup)
			if err := put(sh, os[:k]); err != nil {
				t.Fatalf("put orders of %s: %v", id, err)
			}
			os = os[k:]
		}
	}
}
