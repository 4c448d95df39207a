package demoshop

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// The groups of a campaign's contacts.
const (
	GroupMailed  = "mailed"
	GroupHoldout = "holdout"
)

// Contact is a customer's part in a campaign: mailed or held out, and the
// coupon they were given with its percentage ("" and 0 for none, as for a
// replenishment reminder or the holdout).
type Contact struct {
	Group   string
	Coupon  string
	Percent int
}

// The campaign's effect in PlayForward.
const (
	// ResponseBase and ResponsePerPercent make Uplift: the chance that a
	// mailed customer places an order because of the e-mail.
	ResponseBase       = 0.05
	ResponsePerPercent = 0.002
	ResponseMax        = 0.15
	// ResponseMeanDays is the mean delay of such an order after the
	// e-mail; none comes later than ResponseDays.
	ResponseMeanDays = 3.0
	ResponseDays     = 14
	// CouponUseResponse and CouponUseBaseline are the chances that a
	// mailed customer's first order within ResponseDays carries their
	// coupon, when the e-mail caused it and when they would have ordered
	// anyway. A coupon is used once.
	CouponUseResponse = 0.9
	CouponUseBaseline = 0.6
)

// Uplift is the chance that the e-mail makes a mailed customer order (the
// expected difference between a mailed and a held-out customer's
// conversion): 5 points, and 0.2 more per percent of discount (7 points
// for 10% off, 9 for 20%), at most 15.
func Uplift(percent int) float64 {
	return min(ResponseMax, ResponseBase+ResponsePerPercent*float64(max(0, percent)))
}

// PlayForward plays the shop on after the history's End until days after
// from (from is typically when a campaign was sent; an earlier one means
// End). Every customer's latent process goes on where it stood: those
// still active keep ordering at their rate, and may leave after each order.
// The history's orders bring their due updates (refunds, payments), and the
// new orders their own refunds, cancellations and re-sends.
//
// The shop also goes on acquiring customers in (End, from + days]: as many
// as a Poisson draw whose mean is Generate's acquisition rate carried on
// past End (Config.Customers spread over the history with its growth and
// seasons), each drawn like the history's customers, with the first order
// in the window and the later ones up to from + days. They are numbered by
// first order after the history's customers ("c%05d" for the JSON API, 13
// digits for Shopify, channels assigned as Generate assigns them), their
// e-mail addresses are unique among all, and they are never contacts of
// the campaign.
//
// On top of that, contacts (by customer id) are the campaign: a mailed
// customer orders because of the e-mail with probability Uplift(Percent)
// within ResponseDays of from (a customer who had left comes back, and may
// stay), and their first order in that window carries their coupon, if
// any, with probability CouponUseResponse or CouponUseBaseline, the code's
// amount being Percent of the lines (the total is net of it). Held-out
// customers follow their process only, and never use a coupon. Customers
// get their own random streams for the process and for the campaign, so a
// customer's orders up to a response do not depend on their group.
//
// The result is the events after End up to from + days, in time order;
// the same history, arguments and seed give the same events. Order
// numbers continue the history's: first the history's customers' orders,
// then the new customers', so that the former's do not depend on the new
// customers. PlayForward does not change h.
func (h *History) PlayForward(from time.Time, days int, contacts map[string]Contact, seed int64) []Event {
	g := newGen(h.Config)
	from = maxTime(from.In(h.Config.Location).Truncate(time.Second), h.End)
	stop := from.Add(time.Duration(max(0, days)) * 24 * time.Hour)
	day := func(t time.Time) float64 { return t.Sub(g.start).Hours() / 24 }
	endDay, fromDay, stopDay := g.span, day(from), day(stop)
	windowDay := fromDay + ResponseDays
	window := from.Add(ResponseDays * 24 * time.Hour)
	after := h.End.Add(time.Second)

	var drafts []draft
	for i, c := range h.Customers {
		rb := newRand(seed, streamForward|uint64(i))       // the process
		rc := newRand(seed, streamForward|1<<31|uint64(i)) // the campaign
		s := sim{st: h.state[i], truth: c.Truth}
		p, regular := c.Truth.P, s.st.fav >= 0
		contact := contacts[c.ID]
		mailed := contact.Group == GroupMailed
		respond := math.Inf(1)
		if mailed && rc.Float64() < Uplift(contact.Percent) {
			if r := fromDay + rc.ExpFloat64()*ResponseMeanDays; r < windowDay {
				respond = r
			}
		}
		couponLeft := mailed && contact.Coupon != ""
		alive := c.Truth.Alive
		next := g.resume(rb, c.Truth.Lambda, regular, alive, s.st.lastDay, endDay)
		for seq := 0; ; seq++ {
			t, rng, lo, hi := next, rb, after, stop
			caused := respond < next
			if caused {
				t, rng, lo, hi, respond = respond, rc, from, minTime(stop, window), math.Inf(1)
			}
			if t >= stopDay {
				break
			}
			at := g.instant(rng, t, lo, hi)
			var cp *offer
			if couponLeft && !at.Before(from) && at.Before(window) {
				use := CouponUseBaseline
				if caused {
					use = CouponUseResponse
				}
				if rc.Float64() < use {
					cp, couponLeft = &offer{code: contact.Coupon, percent: contact.Percent}, false
				}
			}
			d := g.orderAt(rng, &s, at, false, cp)
			d.cust, d.seq, d.campaign = i, seq, caused
			drafts = append(drafts, d)
			// Each order is a repeat order: the customer may leave after
			// it; one who had left and came back because of the e-mail
			// stays with probability 1−p.
			alive = rng.Float64() >= p
			next = math.Inf(1)
			if alive {
				next = t + g.gap(rb, c.Truth.Lambda, regular)
			}
		}
	}

	sortDrafts(drafts)
	var events, beyond []Event
	for _, e := range h.later {
		if !e.At.After(stop) {
			events = append(events, e)
		}
	}
	for k, d := range drafts {
		h.emit(d, h.nextOrder+k, &events, &beyond, stop, seed)
	}
	// The customers acquired after End: their orders are numbered after
	// those of the history's customers, which keep their numbers.
	fresh, freshDrafts := h.acquire(g, stop, seed)
	sortDrafts(freshDrafts)
	for k, d := range freshDrafts {
		h.emitFor(fresh[d.cust], d, h.nextOrder+len(drafts)+k, &events, &beyond, stop, seed)
	}
	sortEvents(events)
	return events
}

// acquire draws the customers the shop acquires in (End, stop] at the
// history's rate: as many as a Poisson draw with the mean of
// acquiredMean, each drawn as Generate draws its customers (who they are,
// their latent rates, their orders up to stop) with their first order in
// the window, numbered by first order after the history's customers and
// assigned to a channel as Generate does. The drafts' cust is an index
// into the customers returned.
func (h *History) acquire(g *gen, stop time.Time, seed int64) ([]Customer, []draft) {
	endDay, stopDay := g.span, stop.Sub(g.start).Hours()/24
	n := poissonDraw(newRand(seed, streamNewCount), g.acquiredMean(endDay, stopDay))
	if n == 0 {
		return nil, nil
	}
	after := h.End.Add(time.Second)
	sims := make([]sim, n)
	for k := range sims {
		rng := newRand(seed, streamNewCustomer|uint64(k))
		sims[k] = g.newSim(rng)
		g.purchases(rng, &sims[k], g.arrival(rng, endDay, stopDay), stopDay, after, stop)
	}
	slices.SortStableFunc(sims, func(a, b sim) int { return a.truth.FirstOrder.Compare(b.truth.FirstOrder) })
	shopify := channels(sims, h.Config.ShopifyShare, newRand(seed, streamNewChannel))

	width := max(5, len(strconv.Itoa(len(h.Customers)))) // as Generate's
	taken := make(map[string]bool, len(h.Customers)+n)
	for _, c := range h.Customers {
		taken[c.Email] = true
	}
	customers := make([]Customer, n)
	var drafts []draft
	for k := range sims {
		s, i := &sims[k], len(h.Customers)+k
		c := Customer{
			ID:        fmt.Sprintf("c%0*d", width, i+1),
			FirstName: s.p.first, LastName: s.p.last, Email: s.p.email(taken),
			AcceptsMarketing: s.consent, Shopify: shopify[k], Truth: s.truth,
		}
		if c.Shopify {
			c.ID = strconv.FormatInt(shopifyCustomerBase+int64(i)+1, 10)
		}
		customers[k] = c
		for _, d := range s.orders {
			d.cust = k
			drafts = append(drafts, d)
		}
	}
	return customers, drafts
}

// acquiredMean is the expected number of customers the shop acquires
// between days lo and hi (since the start) at the rate at which Generate
// spreads Config.Customers over the history (see gen.acquisition), its
// growth and seasons carried on past End.
func (g *gen) acquiredMean(lo, hi float64) float64 {
	if !(hi > lo) {
		return 0
	}
	return float64(g.cfg.Customers) * g.acquisitionMass(lo, hi) / g.acquisitionMass(0, g.span)
}

// acquisitionWeight is the density of first orders on day t, up to a
// constant: gen.acquisition's weight.
func (g *gen) acquisitionWeight(t float64) float64 {
	return (1 + growth*t/g.span) * seasonFactor(g.start.AddDate(0, 0, int(t)))
}

// acquisitionMass integrates acquisitionWeight over [lo, hi], day by day.
func (g *gen) acquisitionMass(lo, hi float64) float64 {
	var m float64
	for k := math.Floor(lo); k < hi; k++ {
		a, b := max(lo, k), min(hi, k+1)
		m += seasonFactor(g.start.AddDate(0, 0, int(k))) * ((b - a) + growth*(b*b-a*a)/(2*g.span))
	}
	return m
}

// arrival draws the day of a first order in (lo, hi] with density
// proportional to acquisitionWeight.
func (g *gen) arrival(rng *rand.Rand, lo, hi float64) float64 {
	bound := (1 + growth*max(1, hi/g.span)) * peakSeason
	for {
		t := hi - (hi-lo)*rng.Float64()
		if rng.Float64()*bound < g.acquisitionWeight(t) {
			return t
		}
	}
}

// poissonDraw draws from Poisson(mean): the number of arrivals of a
// unit-rate Poisson process before mean.
func poissonDraw(rng *rand.Rand, mean float64) int {
	n := 0
	for s := rng.ExpFloat64(); s < mean; s += rng.ExpFloat64() {
		n++
	}
	return n
}

// resume draws the next order of a customer after day (the end of the
// history) given their last order: for Poisson orders a fresh gap from day
// on, for a replenisher a gap from the last order that ends after day.
func (g *gen) resume(rng *rand.Rand, lambda float64, regular, alive bool, last, day float64) float64 {
	if !alive || lambda <= 0 {
		return math.Inf(1)
	}
	if !regular {
		return day + g.gap(rng, lambda, false)
	}
	for range 100 {
		if t := last + g.gap(rng, lambda, true); t > day {
			return t
		}
	}
	return day + g.gap(rng, lambda, false) // overdue by far: memoryless from here
}
