package campaign

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/winback/winback/shared/customer"
)

// PurchasesOf lists a customer's counted (paid) orders as attribution sees
// them: OrderID is the summary entry's key (customer.OrderKey of the order
// id), At the order's creation time in UTC, Revenue its net value (total
// less refunds, after any discount), Discount what its codes took off (0
// when the order did not say) and Codes its discount codes. They are in
// time order, ties by key.
func PurchasesOf(sum customer.Summary) []Purchase {
	var out []Purchase
	for k, e := range sum.Orders {
		if !e.Counted() {
			continue
		}
		out = append(out, Purchase{
			OrderID: k, At: time.Unix(e.At, 0).UTC(), Revenue: e.Net,
			Discount: e.Discount, Codes: slices.Clone(e.Codes),
		})
	}
	slices.SortFunc(out, func(a, b Purchase) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.OrderID, b.OrderID))
	})
	return out
}

// Measure reports campaign c from its recipients and their customers'
// purchases (by customer id, as PurchasesOf lists them), as of now;
// money is in minor units of currency. The rules (RULES.md, "Campaign
// report"):
//
//   - Selected counts every recipient, Holdout those of the holdout group.
//     States counts the others, the mailed group, by State; Mailed is sent
//     plus in_doubt, InDoubt, Failed and Skipped are those states' counts,
//     Queued is queued plus sending. Delivered, Bounced, Complained and
//     Unsubscribed count the recipients having that event. Kinds counts
//     every recipient by Kind, Offers the mailed group's by Percent ("0",
//     "10", …).
//   - The experiment compares the groups as assigned (intention to treat,
//     Recipient.Contact): MailedGroup is every recipient of the mailed
//     group, whatever became of its e-mail (queued, sending, sent,
//     in_doubt, failed or skipped), HoldoutGroup every held-out one, both
//     from their selection (SelectedAt). A dry run's recipients are in
//     neither: a dry run has no experiment. Each customer's purchases at or
//     before now are attributed with Attribute and c's attribution window.
//   - A purchase carrying the recipient's coupon without a discount amount
//     gets an estimate: round(Revenue × p / (100 − p)) for the recipient's
//     Percent p, since Revenue is net of the discount.
//   - Uplift is the mailed minus the holdout conversion rate with its
//     Newcombe interval (undefined when either group is empty): the effect
//     of the campaign as run, undelivered e-mails included; the delivery
//     counts above say how much of the mailed group the e-mail reached.
//     IncrementalRevenue is the mailed group's revenue minus its customers
//     times the holdout's revenue per customer, rounded to the nearest
//     minor unit, when both groups have customers (else 0); DiscountCost
//     is the mailed group's.
//
// Measure is pure: it neither changes its arguments nor reads the clock.
func Measure(c Campaign, recipients []Recipient, purchases map[string][]Purchase, currency string, now time.Time) Report {
	r := Report{
		CampaignID: c.ID, AsOf: c.AsOf, MeasuredAt: now, Currency: currency,
		AttributionWindowDays: c.Settings.AttributionWindowDays,
		Selected:              len(recipients),
		States:                map[State]int{},
		Kinds:                 map[Kind]int{},
		Offers:                map[string]int{},
	}
	events := []struct {
		name  string
		count *int
	}{
		{EventDelivered, &r.Delivered}, {EventBounced, &r.Bounced}, {EventSoftBounced, &r.SoftBounced},
		{EventComplained, &r.Complained}, {EventUnsubscribed, &r.Unsubscribed},
	}
	for _, rc := range recipients {
		r.Kinds[rc.Kind]++
		if rc.Group == GroupHoldout {
			r.Holdout++
		} else {
			r.States[rc.State]++
			r.Offers[strconv.Itoa(rc.Percent)]++
		}
		for _, ev := range events {
			if _, ok := rc.Events[ev.name]; ok {
				*ev.count++
			}
		}

		contact, ok := rc.Contact()
		if !ok {
			continue
		}
		var g *GroupResult
		switch contact.Group {
		case GroupMailed:
			g = &r.MailedGroup
		case GroupHoldout:
			g = &r.HoldoutGroup
		default:
			continue
		}
		g.add(Attribute(contact, purchasesFor(rc, purchases[rc.CustomerID], now), c.Settings.AttributionWindowDays))
	}
	r.Mailed = r.States[StateSent] + r.States[StateInDoubt]
	r.InDoubt = r.States[StateInDoubt]
	r.Failed = r.States[StateFailed]
	r.Skipped = r.States[StateSkipped]
	r.Queued = r.States[StateQueued] + r.States[StateSending]

	m, h := &r.MailedGroup, &r.HoldoutGroup
	m.settle()
	h.settle()
	r.Uplift = Uplift(m.Converted, m.Customers, h.Converted, h.Customers)
	if m.Customers > 0 && h.Customers > 0 {
		r.IncrementalRevenue = int64(math.Round(float64(m.Revenue) - float64(m.Customers)*float64(h.Revenue)/float64(h.Customers)))
	}
	r.DiscountCost = m.DiscountCost
	return r
}

// purchasesFor is what attribution sees of a recipient's purchases: those
// at or before now, with the discount of their coupon orders estimated
// where the order gave none. ps is not modified.
func purchasesFor(rc Recipient, ps []Purchase, now time.Time) []Purchase {
	out := make([]Purchase, 0, len(ps))
	for _, p := range ps {
		if p.At.After(now) {
			continue
		}
		if p.Discount == 0 && rc.Coupon != "" && hasCode(p.Codes, rc.Coupon) {
			p.Discount = estimatedDiscount(p.Revenue, rc.Percent)
		}
		out = append(out, p)
	}
	return out
}

// estimatedDiscount is the discount a coupon of percent p took off an
// order whose net revenue (after the discount) is revenue:
// round(revenue × p / (100 − p)), halves up; 0 unless 0 < p < 100 and
// revenue > 0.
func estimatedDiscount(revenue int64, p int) int64 {
	if p <= 0 || p >= 100 || revenue <= 0 {
		return 0
	}
	num, den := revenue*int64(p), int64(100-p)
	return (2*num + den) / (2 * den)
}

// add counts one contact's conversion in g.
func (g *GroupResult) add(cv Conversion) {
	g.Customers++
	if cv.Converted {
		g.Converted++
	}
	g.Orders += cv.Orders
	g.Revenue += cv.Revenue
	g.Redeemed += cv.Redeemed
	g.DiscountCost += cv.DiscountCost
}

// settle derives g's rates from its counts (0 without customers).
func (g *GroupResult) settle() {
	if g.Customers == 0 {
		return
	}
	g.ConversionRate = float64(g.Converted) / float64(g.Customers)
	g.RevenuePerCustomer = float64(g.Revenue) / float64(g.Customers)
}
