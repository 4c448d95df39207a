package demoshop

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/winback/winback/shared/order"
)

// The shop's own discount codes, in the history before any campaign.
const (
	WelcomeCode    = "WELCOME10" // 10% off a first order
	welcomePercent = 10
	welcomeRate    = 0.12     // share of first orders using it
	XmasCode       = "XMAS15" // 15% off in the Christmas weeks
	xmasPercent    = 15
	xmasRate       = 0.15 // share of orders in the season using it
)

// Acquisition: the shop grows (twice as many new customers a day at the
// end as at the start) and acquires most in the Christmas weeks.
const (
	growth     = 1.0
	peakSeason = 1.8
)

// hourWeights is when in the day (local time) people order: a little at
// lunch, most in the evening, hardly at night.
var hourWeights = []float64{
	0.6, 0.3, 0.2, 0.15, 0.15, 0.25, 0.6, 1.2, 1.8, 2.2, 2.4, 2.6,
	2.9, 2.8, 2.5, 2.4, 2.5, 2.8, 3.2, 3.8, 4.2, 4.0, 3.0, 1.6,
}

// Order ids: the JSON API's are the shop's order numbers from 100001, the
// Shopify ones 64-bit numbers as Shopify gives them; Shopify customer ids
// likewise.
const (
	apiOrderBase        = 100000
	shopifyOrderBase    = 5_000_000_000_000
	shopifyCustomerBase = 7_000_000_000_000
)

// gen is what drawing orders needs to know about the shop.
type gen struct {
	cfg   Config
	ps    []Product
	exp   int
	start time.Time // local midnight, Days before End
	span  float64   // days from start to End
}

// draft is an order before it has an id, with its fate.
type draft struct {
	cust     int
	seq      int // position among the customer's orders, for stable sorting
	at       time.Time
	lines    []order.LineItem
	codes    []order.DiscountCode
	pending  bool      // created pending, paid at fateAt
	fate     Kind      // "", KindPaid, KindRefundPartial, KindRefundFull or KindCancel
	fateAt   time.Time // when the update is sent
	refund   int64     // a partial refund's amount
	dupAt    time.Time // when it is sent again unchanged (zero: never)
	spoil    int       // > 0: a malformed request of this kind
	campaign bool
}

// total is what the customer paid for the draft.
func (d *draft) total() int64 {
	t := linesTotal(d.lines)
	for _, c := range d.codes {
		t -= c.Amount
	}
	return t
}

// sim is one customer being simulated.
type sim struct {
	p       person
	consent bool
	truth   Truth
	st      latent
	orders  []draft
}

// Generate draws a shop's history from cfg: customers acquired over the
// Days before End, each buying by a BG/NBD process with Gamma-Gamma order
// values, their orders' refunds, cancellations and re-sends, and a few
// malformed requests. See the package documentation for the process.
func Generate(cfg Config) (*History, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := newGen(cfg)
	sims := make([]sim, cfg.Customers)
	for i := range sims {
		sims[i] = g.customer(newRand(cfg.Seed, streamCustomer|uint64(i)))
	}
	// Number the customers by their first order.
	slices.SortStableFunc(sims, func(a, b sim) int { return a.truth.FirstOrder.Compare(b.truth.FirstOrder) })
	shopify := g.channels(sims)

	h := &History{
		Config: cfg, Start: g.start, End: cfg.End, Products: g.ps,
		Customers: make([]Customer, len(sims)),
		state:     make([]latent, len(sims)),
		index:     make(map[string]int, len(sims)),
	}
	width := max(5, len(strconv.Itoa(len(sims))))
	taken := make(map[string]bool, len(sims))
	var drafts []draft
	for i := range sims {
		s := &sims[i]
		c := Customer{
			ID:        fmt.Sprintf("c%0*d", width, i+1),
			FirstName: s.p.first, LastName: s.p.last, Email: s.p.email(taken),
			AcceptsMarketing: s.consent, Shopify: shopify[i], Truth: s.truth,
		}
		if c.Shopify {
			c.ID = strconv.FormatInt(shopifyCustomerBase+int64(i)+1, 10)
		}
		h.Customers[i], h.state[i], h.index[c.ID] = c, s.st, i
		for _, d := range s.orders {
			d.cust = i
			drafts = append(drafts, d)
		}
	}
	drafts = append(drafts, g.malformed(h)...)
	sortDrafts(drafts)
	h.Events = make([]Event, 0, len(drafts)+len(drafts)/8) // creates, and a few updates
	for n, d := range drafts {
		h.emit(d, n+1, &h.Events, &h.later, h.End, cfg.Seed)
	}
	h.nextOrder = len(drafts) + 1
	sortEvents(h.Events)
	sortEvents(h.later)
	return h, nil
}

func newGen(cfg Config) *gen {
	exp, _ := order.Exponent(cfg.Currency)
	y, m, d := cfg.End.AddDate(0, 0, -cfg.Days).Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, cfg.Location)
	return &gen{cfg: cfg, ps: newCatalogue(cfg.Currency), exp: exp, start: start, span: cfg.End.Sub(start).Hours() / 24}
}

// customer draws one customer: who they are, when they first ordered,
// their latent rates and every order of the history.
func (g *gen) customer(rng *rand.Rand) sim {
	s := g.newSim(rng)
	g.purchases(rng, &s, g.acquisition(rng), g.span, g.start, g.cfg.End)
	return s
}

// newSim draws who a customer is and their latent rates.
func (g *gen) newSim(rng *rand.Rand) sim {
	par := g.cfg.Params
	s := sim{p: newPerson(rng), consent: rng.Float64() < ConsentRate}
	s.st.nu = gammaDraw(rng, par.Q) / par.Gamma / 100 // per cent: values are Gamma(P, nu) in cents
	s.st.fav = -1
	tr := &s.truth
	tr.Lambda = gammaDraw(rng, par.R) / par.Alpha
	tr.P = betaDraw(rng, par.A, par.B)
	tr.MeanOrderValue = float64(scaleCents(1, g.exp)) * par.P / s.st.nu
	fav := productIndex(g.ps, favourites[pick(rng, favouriteWeights())].sku)
	if q := g.packs(tr.Lambda, fav); q > 0 && rng.Float64() < par.Replenishers {
		s.st.fav, tr.Replenishes, tr.PacksPerOrder = fav, g.ps[fav].SKU, q
	}
	return s
}

// purchases draws the purchase process of s: the first order on day t,
// repeat orders at gaps drawn from the rate, leaving with probability P
// after each, until day last; orders are placed within [lo, hi].
func (g *gen) purchases(rng *rand.Rand, s *sim, t, last float64, lo, hi time.Time) {
	tr := &s.truth
	alive := true
	for n := 0; ; n++ {
		s.orders = append(s.orders, g.orderAt(rng, s, g.instant(rng, t, lo, hi), n == 0, nil))
		s.st.lastDay = t
		if n > 0 && rng.Float64() < tr.P {
			alive = false
			break
		}
		if t += g.gap(rng, tr.Lambda, s.st.fav >= 0); t > last {
			break
		}
	}
	slices.SortStableFunc(s.orders, func(a, b draft) int { return a.at.Compare(b.at) })
	for i := range s.orders {
		s.orders[i].seq = i
	}
	tr.Orders = len(s.orders)
	tr.FirstOrder, tr.LastOrder = s.orders[0].at, s.orders[len(s.orders)-1].at
	tr.Alive = alive
	tr.Segment = g.segment(tr)
}

// favouriteWeights are the weights of favourites.
func favouriteWeights() []float64 {
	w := make([]float64, len(favourites))
	for i, f := range favourites {
		w[i] = f.weight
	}
	return w
}

// packs is how many packs of the consumable a customer ordering at rate
// lambda (per week) buys to last until their next order: the number q of
// 1 to 3 whose cycles their mean gap matches within 25%, 0 (not a
// replenisher) when there is none.
func (g *gen) packs(lambda float64, fav int) int {
	if lambda <= 0 || fav < 0 {
		return 0
	}
	cycles := 7 / lambda / float64(g.ps[fav].CycleDays)
	q := math.Round(cycles)
	if q < 1 || q > 3 || math.Abs(cycles/q-1) > 0.25 {
		return 0
	}
	return int(q)
}

// gap draws the days to a customer's next order: exponential (Poisson
// orders) or, for a replenisher, Gamma with shape Regularity around the
// same mean.
func (g *gen) gap(rng *rand.Rand, lambda float64, regular bool) float64 {
	if lambda <= 0 {
		return math.Inf(1)
	}
	if regular {
		k := g.cfg.Params.Regularity
		return 7 * gammaDraw(rng, k) / (k * lambda)
	}
	return 7 * rng.ExpFloat64() / lambda
}

// acquisition draws the day of a customer's first order: more towards the
// end (growth) and in the Christmas weeks, fewer in January and summer.
func (g *gen) acquisition(rng *rand.Rand) float64 {
	for {
		u := rng.Float64()
		t := u * g.span
		w := (1 + growth*u) * seasonFactor(g.start.AddDate(0, 0, int(t)))
		if rng.Float64()*(1+growth)*peakSeason < w {
			return t
		}
	}
}

// seasonFactor is how much a day's acquisition differs from the usual.
func seasonFactor(t time.Time) float64 {
	switch m, d := t.Month(), t.Day(); {
	case m == time.November && d >= 20, m == time.December && d <= 22:
		return peakSeason
	case m == time.January, m == time.July, m == time.August:
		return 0.85
	}
	return 1
}

// instant turns a time in days since the start into a timestamp on that
// day at an hour people order at, within [lo, hi] (whole seconds): when the
// hour drawn is outside, a time of the part of the day inside.
func (g *gen) instant(rng *rand.Rand, t float64, lo, hi time.Time) time.Time {
	day := g.start.AddDate(0, 0, int(t))
	y, m, d := day.Date()
	at := time.Date(y, m, d, pick(rng, hourWeights), rng.IntN(60), rng.IntN(60), 0, g.cfg.Location)
	if at.Before(lo) || at.After(hi) {
		from := time.Date(y, m, d, 0, 0, 0, 0, g.cfg.Location)
		to := time.Date(y, m, d+1, 0, 0, 0, 0, g.cfg.Location).Add(-time.Second)
		from, to = maxTime(from, lo), minTime(to, hi)
		if to.Before(from) {
			to = from
		}
		at = from.Add(time.Duration(rng.Float64() * float64(to.Sub(from)))).Truncate(time.Second)
		if at.Before(lo) {
			at = lo
		}
	}
	return at
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// order draws one order of customer s on day t: its basket, the shop's
// codes it uses (or the campaign coupon, when given), and its fate.
func (g *gen) order(rng *rand.Rand, s *sim, t float64, first bool, coupon *offer) draft {
	return g.orderAt(rng, s, g.instant(rng, t, g.start, g.cfg.End), first, coupon)
}

// orderAt is order at a given instant.
func (g *gen) orderAt(rng *rand.Rand, s *sim, at time.Time, first bool, coupon *offer) draft {
	par := g.cfg.Params
	d := draft{at: at}
	budget := scaleCents(int64(math.Round(gammaDraw(rng, par.P)/s.st.nu)), g.exp)
	d.lines = basket(rng, g.ps, d.at, budget, s.st.fav, int64(max(1, s.truth.PacksPerOrder)))
	pre := linesTotal(d.lines)
	switch u := rng.Float64(); { // drawn even with a coupon: it changes nothing else
	case coupon != nil:
		d.codes = []order.DiscountCode{{Code: coupon.code, Amount: percentOf(pre, min(max(coupon.percent, 0), 100))}}
	case first && u < welcomeRate:
		d.codes = []order.DiscountCode{{Code: WelcomeCode, Amount: percentOf(pre, welcomePercent)}}
	case giftSeason(d.at) && u < xmasRate:
		d.codes = []order.DiscountCode{{Code: XmasCode, Amount: percentOf(pre, xmasPercent)}}
	}
	hours := func(lo, hi float64) time.Time {
		return d.at.Add(time.Duration(uniformDuration(rng, lo, hi) * float64(time.Hour))).Truncate(time.Second)
	}
	switch u := rng.Float64(); {
	case u < PartialRefundRate:
		d.fate, d.fateAt = KindRefundPartial, hours(3*24, 30*24)
		d.refund = partialRefund(rng, d.lines, d.total())
	case u < PartialRefundRate+FullRefundRate:
		d.fate, d.fateAt = KindRefundFull, hours(4*24, 30*24)
	case u < PartialRefundRate+FullRefundRate+CancelRate:
		d.fate, d.fateAt = KindCancel, hours(3, 48)
	case u < PartialRefundRate+FullRefundRate+CancelRate+PendingRate:
		d.pending = true
		d.fate, d.fateAt = KindPaid, hours(20, 96)
	}
	if rng.Float64() < DuplicateRate {
		d.dupAt = d.at.Add(time.Duration(uniformDuration(rng, 30, 7200)) * time.Second)
	}
	if d.fate == KindRefundPartial && d.refund <= 0 {
		d.fate = "" // nothing left to refund partly
	}
	return d
}

// offer is a discount code and its percentage.
type offer struct {
	code    string
	percent int
}

// percentOf is pct% of amount, rounded half up.
func percentOf(amount int64, pct int) int64 {
	return (amount*int64(pct) + 50) / 100
}

// partialRefund is a unit of one of the lines when there are several
// units (a damaged pack sent back), else a goodwill 20–50% of the total;
// always less than the total.
func partialRefund(rng *rand.Rand, lines []order.LineItem, total int64) int64 {
	var units int64
	for _, l := range lines {
		units += l.Quantity
	}
	var r int64
	if units > 1 {
		r = lines[rng.IntN(len(lines))].Price
	} else {
		r = int64(float64(total) * uniformDuration(rng, 0.2, 0.5))
	}
	return min(r, total-1)
}

// segment is the customer's true state at the end.
func (g *gen) segment(tr *Truth) Segment {
	since := func(t time.Time) float64 { return g.cfg.End.Sub(t).Hours() / 24 }
	switch {
	case since(tr.FirstOrder) <= NewDays:
		return SegmentNew
	case !tr.Alive && since(tr.LastOrder) <= LapsingDays:
		return SegmentLapsing
	case !tr.Alive:
		return SegmentLost
	case tr.Orders >= LoyalOrders:
		return SegmentLoyal
	case tr.Orders > 1:
		return SegmentOccasional
	}
	return SegmentOneTime
}

// channels assigns whole customers to the Shopify webhook until their
// orders are as close as possible to ShopifyShare of all orders, taking
// customers in a random order.
func (g *gen) channels(sims []sim) []bool {
	return channels(sims, g.cfg.ShopifyShare, newRand(g.cfg.Seed, streamChannel))
}

// channels is gen.channels with the share and the random stream given.
func channels(sims []sim, share float64, rng *rand.Rand) []bool {
	shopify := make([]bool, len(sims))
	var total int
	for i := range sims {
		total += len(sims[i].orders)
	}
	target := share * float64(total)
	var n float64
	for _, i := range rng.Perm(len(sims)) {
		k := float64(len(sims[i].orders))
		if n+k/2 <= target {
			shopify[i] = true
			n += k
		}
	}
	return shopify
}

// malformed draws the history's malformed requests, all to the JSON API
// (Shopify signs what it sends): orders of customers of the API (of any
// customer when there are none) spoilt in each of the ways of spoil.
func (g *gen) malformed(h *History) []draft {
	rng := newRand(g.cfg.Seed, streamMalformed)
	var api, all []int
	for i, c := range h.Customers {
		if !c.Shopify {
			api = append(api, i)
		}
		all = append(all, i)
	}
	if len(api) == 0 {
		api = all
	}
	out := make([]draft, MalformedOrders)
	for k := range out {
		ci := api[rng.IntN(len(api))]
		s := sim{st: h.state[ci], truth: h.Customers[ci].Truth}
		t := rng.Float64() * g.span
		d := g.order(rng, &s, t, false, nil)
		out[k] = draft{cust: ci, seq: -1, at: d.at, lines: d.lines, codes: d.codes, spoil: k%spoilKinds + 1}
	}
	return out
}

// sortDrafts orders drafts by creation, then customer, then their order.
func sortDrafts(ds []draft) {
	slices.SortStableFunc(ds, func(a, b draft) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		if c := cmp.Compare(a.cust, b.cust); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
}

// sortEvents orders events by time, keeping the order of equal times.
func sortEvents(es []Event) {
	slices.SortStableFunc(es, func(a, b Event) int { return a.At.Compare(b.At) })
}

// emit gives a draft the id of order number n and appends its events:
// those up to until to now, the later ones to later.
func (h *History) emit(d draft, n int, now, later *[]Event, until time.Time, seed int64) {
	h.emitFor(h.Customers[d.cust], d, n, now, later, until, seed)
}

// emitFor is emit for a draft of customer c.
func (h *History) emitFor(c Customer, d draft, n int, now, later *[]Event, until time.Time, seed int64) {
	id := strconv.Itoa(apiOrderBase + n)
	if c.Shopify {
		id = strconv.FormatInt(shopifyOrderBase+int64(n), 10)
	}
	o := Order{
		ID: id,
		Customer: Buyer{
			ID: c.ID, Email: c.Email, FirstName: c.FirstName, AcceptsMarketing: c.AcceptsMarketing,
			LastName: c.LastName, Since: c.Truth.FirstOrder,
		},
		CreatedAt: d.at, UpdatedAt: d.at,
		Currency:  h.Config.Currency,
		Total:     d.total(),
		Status:    order.StatusPaid,
		LineItems: d.lines, DiscountCodes: d.codes,
	}
	put := func(e Event) {
		if e.Shopify && e.WebhookID == "" {
			e.WebhookID = webhookID(seed, e.Order.ID, e.Kind, e.Order.UpdatedAt)
		}
		if e.At.After(until) {
			*later = append(*later, e)
		} else {
			*now = append(*now, e)
		}
	}
	if d.spoil > 0 {
		put(Event{At: d.at, Kind: KindMalformed, Order: o, Body: spoil(o, d.spoil)})
		return
	}
	if d.pending {
		o.Status = order.StatusPending
	}
	create := Event{At: d.at, Kind: KindCreate, Order: o, Shopify: c.Shopify, Campaign: d.campaign}
	if c.Shopify {
		create.WebhookID = webhookID(seed, o.ID, KindCreate, o.UpdatedAt)
	}
	put(create)
	if !d.dupAt.IsZero() {
		dup := create // a Shopify duplicate is the same delivery again, webhook id included
		dup.At, dup.Kind = d.dupAt, KindDuplicate
		put(dup)
	}
	if d.fate == "" {
		return
	}
	u := o
	u.UpdatedAt = d.fateAt
	switch d.fate {
	case KindPaid:
		u.Status = order.StatusPaid
	case KindRefundPartial:
		u.Refunded = d.refund
	case KindRefundFull:
		u.Status, u.Refunded = order.StatusRefunded, u.Total
	case KindCancel:
		u.Status = order.StatusCancelled
	}
	put(Event{At: d.fateAt, Kind: d.fate, Order: u, Shopify: c.Shopify})
}

// webhookID is a delivery id in the form Shopify uses (a UUID), derived
// from the delivery so that it is reproducible.
func webhookID(seed int64, orderID string, kind Kind, version time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seed))
	sum := sha256.Sum256([]byte(string(b[:]) + "\x00" + orderID + "\x00" + string(kind) + "\x00" + version.UTC().Format(time.RFC3339)))
	sum[6] = sum[6]&0x0f | 0x40 // version 4
	sum[8] = sum[8]&0x3f | 0x80 // RFC 4122 variant
	x := hex.EncodeToString(sum[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
