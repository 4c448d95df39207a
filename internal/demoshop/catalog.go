package demoshop

import (
	"math/rand/v2"
	"time"

	"github.com/winback/winback/shared/order"
)

// Product is one article of the demo shop's catalogue.
type Product struct {
	SKU   string
	Title string
	// Price is the unit price in minor units of the shop's currency. The
	// catalogue is written in cents (a loose-leaf tea is 890) and scaled to
	// the currency: ×10^(e−2) for a currency with e ≥ 2 decimals, unchanged
	// for one with fewer (so ¥890).
	Price int64
	// CycleDays is how long one unit of a consumable lasts a regular
	// customer (0 for durable goods): replenishers re-order close to it.
	CycleDays int
	// popularity weighs the product in baskets (seasonal for gifts).
	popularity float64
	// season multiplies the popularity from mid-November to Christmas.
	season float64
	cents  int64
}

// catalogue is the shop: teas and coffee that run out, and the things to
// brew and give them with.
var catalogue = []Product{
	{SKU: "TEA-EARLGREY-100", Title: "Earl Grey loose-leaf tea, 100 g", cents: 890, CycleDays: 42, popularity: 0.22, season: 1},
	{SKU: "TEA-SENCHA-100", Title: "Sencha green tea, 100 g", cents: 1150, CycleDays: 42, popularity: 0.14, season: 1},
	{SKU: "TEA-CHAI-200", Title: "Masala chai blend, 200 g", cents: 1390, CycleDays: 56, popularity: 0.10, season: 1.3},
	{SKU: "COFFEE-ESPRESSO-500", Title: "Espresso beans, 500 g", cents: 1990, CycleDays: 28, popularity: 0.16, season: 1},
	{SKU: "TEA-FILTERS-100", Title: "Paper tea filters, 100 pieces", cents: 390, CycleDays: 70, popularity: 0.10, season: 1},
	{SKU: "MUG-ENAMEL-350", Title: "Enamel mug, 350 ml", cents: 1450, popularity: 0.12, season: 1.5},
	{SKU: "TEAPOT-CASTIRON-800", Title: "Cast-iron teapot, 0.8 l", cents: 4900, popularity: 0.07, season: 2},
	{SKU: "GIFTBOX-TASTING", Title: "Tea tasting gift box", cents: 3400, popularity: 0.09, season: 4},
}

// favourites are the consumables a customer can replenish, and how often
// each is a customer's favourite.
var favourites = []struct {
	sku    string
	weight float64
}{
	{"TEA-EARLGREY-100", 0.35},
	{"TEA-SENCHA-100", 0.20},
	{"TEA-CHAI-200", 0.15},
	{"COFFEE-ESPRESSO-500", 0.30},
}

// scaleCents turns catalogue cents into minor units of a currency with exp
// decimals.
func scaleCents(cents int64, exp int) int64 {
	for ; exp > 2; exp-- {
		cents *= 10
	}
	return cents
}

// newCatalogue prices the catalogue in the currency.
func newCatalogue(currency string) []Product {
	exp, _ := order.Exponent(currency)
	ps := make([]Product, len(catalogue))
	for i, p := range catalogue {
		p.Price = scaleCents(p.cents, exp)
		ps[i] = p
	}
	return ps
}

// productIndex returns the index of the product with the SKU (-1 if none).
func productIndex(ps []Product, sku string) int {
	for i := range ps {
		if ps[i].SKU == sku {
			return i
		}
	}
	return -1
}

// giftSeason reports whether t is in the Christmas shopping weeks.
func giftSeason(t time.Time) bool {
	m, d := t.Month(), t.Day()
	return m == time.November && d >= 15 || m == time.December && d <= 24
}

// basket fills an order worth about budget minor units: first the
// replenished consumable (qty packs, when fav >= 0), then products drawn by
// popularity among those that still fit the budget, at most four lines.
func basket(rng *rand.Rand, ps []Product, at time.Time, budget int64, fav int, qty int64) []order.LineItem {
	var lines []order.LineItem
	add := func(i int, q int64) {
		for j := range lines {
			if lines[j].SKU == ps[i].SKU {
				lines[j].Quantity += q
				return
			}
		}
		lines = append(lines, order.LineItem{SKU: ps[i].SKU, Title: ps[i].Title, Quantity: q, Price: ps[i].Price})
	}
	cheapest := ps[0].Price
	for _, p := range ps {
		cheapest = min(cheapest, p.Price)
	}
	remaining := budget
	if fav >= 0 {
		add(fav, qty)
		remaining -= qty * ps[fav].Price
	}
	season := giftSeason(at)
	weights := make([]float64, len(ps))
	for len(lines) < 4 {
		if len(lines) > 0 && remaining < cheapest/2 {
			break
		}
		for i, p := range ps {
			weights[i] = 0
			// The first line may be anything up to a little over the budget
			// (or the cheapest article); later lines must fit.
			if p.Price <= remaining+remaining/2 || len(lines) == 0 && p.Price <= max(remaining+remaining/2, cheapest) {
				weights[i] = p.popularity
				if season {
					weights[i] *= p.season
				}
			}
		}
		i := pick(rng, weights)
		if i < 0 {
			break
		}
		add(i, 1)
		remaining -= ps[i].Price
	}
	return lines
}

// linesTotal is the sum of the lines' prices times quantities.
func linesTotal(lines []order.LineItem) int64 {
	var sum int64
	for _, l := range lines {
		sum += l.Price * l.Quantity
	}
	return sum
}
