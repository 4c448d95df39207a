package campaign

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
)

// The campaign the measurement tests report: run at runAt, 14-day window.
var (
	runAt       = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	sentAt      = runAt.Add(time.Hour)
	day         = 24 * time.Hour
	measureNow  = runAt.Add(30 * day)
	measuredOne = Campaign{ShopID: "shop_1", ID: "2026-12-01", AsOf: "2026-12-01", Settings: DefaultSettings()}
)

// sent is a mailed recipient SES accepted at sentAt, with an offer of
// percent and coupon ("" for none).
func sent(customerID string, percent int, coupon string) Recipient {
	return Recipient{
		CampaignID: measuredOne.ID, SendID: SendID(measuredOne.ID, customerID), CustomerID: customerID,
		Group: GroupMailed, Kind: KindWinback, Percent: percent, Coupon: coupon,
		SelectedAt: runAt, State: StateSent, ClaimedAt: runAt.Add(time.Minute), SentAt: sentAt,
	}
}

// held is a held-out recipient, selected at runAt.
func held(customerID string) Recipient {
	return Recipient{
		CampaignID: measuredOne.ID, SendID: SendID(measuredOne.ID, customerID), CustomerID: customerID,
		Group: GroupHoldout, Kind: KindWinback, SelectedAt: runAt, State: StateHeldOut,
	}
}

// in returns r in state s (claimed at claimed, never sent).
func in(r Recipient, s State, claimed time.Time) Recipient {
	r.State, r.ClaimedAt, r.SentAt = s, claimed, time.Time{}
	return r
}

// buy is a purchase at at.
func buy(id string, at time.Time, revenue, discount int64, codes ...string) Purchase {
	return Purchase{OrderID: id, At: at, Revenue: revenue, Discount: discount, Codes: codes}
}

// group builds a GroupResult from its counts, deriving the rates.
func group(customers, converted, orders int, revenue int64, redeemed int, discount int64) GroupResult {
	g := GroupResult{Customers: customers, Converted: converted, Orders: orders, Revenue: revenue, Redeemed: redeemed, DiscountCost: discount}
	if customers > 0 {
		g.ConversionRate = float64(converted) / float64(customers)
		g.RevenuePerCustomer = float64(revenue) / float64(customers)
	}
	return g
}

// TestMeasureExperiment checks the two groups, the uplift and the money
// against figures worked out by hand.
func TestMeasureExperiment(t *testing.T) {
	tests := []struct {
		name        string
		recipients  []Recipient
		purchases   map[string][]Purchase
		mailed      GroupResult
		holdout     GroupResult
		incremental int64
		discount    int64
	}{
		{
			// Mailed: 1 of 2 converts for 50.00; holdout: 1 of 3 for
			// 30.00, 10.00 per customer. Incremental: 5000 − 2 × 1000.
			name:       "mailed vs holdout",
			recipients: []Recipient{sent("a", 0, ""), sent("b", 0, ""), held("h1"), held("h2"), held("h3")},
			purchases: map[string][]Purchase{
				"a":  {buy("a1", sentAt.Add(3*day), 5000, 0)},
				"h1": {buy("h1", runAt.Add(5*day), 3000, 0)},
				"h2": {buy("h2", runAt.Add(15*day), 7000, 0)}, // after the window
			},
			mailed: group(2, 1, 1, 5000, 0, 0), holdout: group(3, 1, 1, 3000, 0, 0), incremental: 3000,
		},
		{
			// The coupon order on day 20 counts (window 14 days), the
			// other one of that day does not.
			name:       "coupon redeemed after the window still counts",
			recipients: []Recipient{sent("a", 10, "WB-AAAA-BBBB"), held("h")},
			purchases: map[string][]Purchase{
				"a": {buy("a1", sentAt.Add(20*day), 9000, 1000, "wb-aaaa-bbbb"), buy("a2", sentAt.Add(20*day), 4000, 0)},
			},
			mailed: group(1, 1, 1, 9000, 1, 1000), holdout: group(1, 0, 0, 0, 0, 0), incremental: 9000, discount: 1000,
		},
		{
			// Both groups count from the selection (runAt): an order a
			// minute before it never counts, coupon or not.
			name:       "a purchase before the selection does not count",
			recipients: []Recipient{sent("a", 10, "WB-AAAA-BBBB"), held("h")},
			purchases: map[string][]Purchase{
				"a": {buy("a1", runAt.Add(-time.Minute), 9000, 1000, "WB-AAAA-BBBB")},
				"h": {buy("h1", runAt.Add(-time.Second), 3000, 0)},
			},
			mailed: group(1, 0, 0, 0, 0, 0), holdout: group(1, 0, 0, 0, 0, 0),
		},
		{
			// Selected at runAt; a was sent at +1 h, b and c claimed at
			// +2 h and +4 h and left in doubt. Their orders at +30 min and
			// +3 h all count: the contact is the selection, not the send
			// or the claim. 2500 + 2500 + 1000 − 3 × 0.
			name: "the mailed group counts from the selection, not the send",
			recipients: []Recipient{
				sent("a", 0, ""),
				in(sent("b", 0, ""), StateInDoubt, runAt.Add(2*time.Hour)),
				in(sent("c", 0, ""), StateInDoubt, runAt.Add(4*time.Hour)),
				held("h"),
			},
			purchases: map[string][]Purchase{
				"a": {buy("a1", runAt.Add(30*time.Minute), 2500, 0)},
				"b": {buy("b1", runAt.Add(3*time.Hour), 2500, 0)},
				"c": {buy("c1", runAt.Add(3*time.Hour), 1000, 0)},
			},
			mailed: group(3, 3, 3, 6000, 0, 0), holdout: group(1, 0, 0, 0, 0, 0), incremental: 6000,
		},
		{
			// Intention to treat: the mailed group is everyone assigned to
			// it. q never bought; s, f and k bought 100, 200 and 300 (k
			// with the coupon it was never sent). Mailed: 3 of 4 for
			// 600.00; holdout: 1 of 2 for 100, 50 per customer.
			// Incremental: 600 − 4 × 50 = 400; k's coupon took 30.
			name: "skipped, failed, queued and sending recipients stay in the mailed group",
			recipients: []Recipient{
				in(sent("q", 0, ""), StateQueued, time.Time{}),
				in(sent("s", 0, ""), StateSending, runAt),
				in(sent("f", 0, ""), StateFailed, runAt),
				in(sent("k", 10, "WB-KKKK-KKKK"), StateSkipped, time.Time{}),
				held("h1"), held("h2"),
			},
			purchases: map[string][]Purchase{
				"s":  {buy("s1", runAt.Add(day), 100, 0)},
				"f":  {buy("f1", runAt.Add(day), 200, 0)},
				"k":  {buy("k1", runAt.Add(day), 300, 30, "WB-KKKK-KKKK")},
				"h1": {buy("h1", runAt.Add(day), 100, 0)},
			},
			mailed: group(4, 3, 3, 600, 1, 30), holdout: group(2, 1, 1, 100, 0, 0), incremental: 400, discount: 30,
		},
		{
			name:       "no holdout",
			recipients: []Recipient{sent("a", 0, "")},
			purchases:  map[string][]Purchase{"a": {buy("a1", sentAt.Add(day), 4000, 0)}},
			mailed:     group(1, 1, 1, 4000, 0, 0),
		},
		{
			// The order at now counts, the one a second later does not,
			// coupon or not.
			name:       "orders after now are ignored",
			recipients: []Recipient{sent("a", 10, "WB-AAAA-BBBB"), held("h")},
			purchases: map[string][]Purchase{
				"a": {buy("a1", measureNow, 1000, 100, "WB-AAAA-BBBB"), buy("a2", measureNow.Add(time.Second), 2000, 200, "WB-AAAA-BBBB")},
				"h": {buy("h1", runAt.Add(day), 500, 0)},
			},
			mailed: group(1, 1, 1, 1000, 1, 100), holdout: group(1, 1, 1, 500, 0, 0), incremental: 500, discount: 100,
		},
		{
			// 20% off left 80.00: 80.00 × 20/80 = 20.00; 15% off left
			// 10.00: 10.00 × 15/85 = 1.7647 → 1.76; an amount given is
			// kept; another code is not the coupon.
			name: "discount estimated from the offer when the order gave none",
			recipients: []Recipient{
				sent("a", 20, "WB-AAAA-AAAA"), sent("b", 15, "WB-BBBB-BBBB"), sent("c", 20, "WB-CCCC-CCCC"), sent("d", 20, "WB-DDDD-DDDD"),
				held("h"),
			},
			purchases: map[string][]Purchase{
				"a": {buy("a1", sentAt.Add(day), 8000, 0, "WB-AAAA-AAAA")},
				"b": {buy("b1", sentAt.Add(day), 1000, 0, "WB-BBBB-BBBB")},
				"c": {buy("c1", sentAt.Add(day), 8000, 1500, "WB-CCCC-CCCC")},
				"d": {buy("d1", sentAt.Add(day), 8000, 0, "SUMMER")},
				"h": {buy("h1", runAt.Add(day), 6000, 0)},
			},
			// Revenue 25000; incremental 25000 − 4 × 6000 = 1000;
			// discount 2000 + 176 + 1500.
			mailed: group(4, 4, 4, 25000, 3, 3676), holdout: group(1, 1, 1, 6000, 0, 0), incremental: 1000, discount: 3676,
		},
		{
			// Holdout revenue per customer 100/3: 1000 − 2 × 33.33 = 933.33.
			name:       "incremental revenue is rounded",
			recipients: []Recipient{sent("a", 0, ""), sent("b", 0, ""), held("h1"), held("h2"), held("h3")},
			purchases: map[string][]Purchase{
				"a":  {buy("a1", sentAt.Add(day), 1000, 0)},
				"h1": {buy("h1", runAt.Add(day), 100, 0)},
			},
			mailed: group(2, 1, 1, 1000, 0, 0), holdout: group(3, 1, 1, 100, 0, 0), incremental: 933,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Measure(measuredOne, tt.recipients, tt.purchases, "EUR", measureNow)
			if r.MailedGroup != tt.mailed {
				t.Errorf("mailed group\n got %+v\nwant %+v", r.MailedGroup, tt.mailed)
			}
			if r.HoldoutGroup != tt.holdout {
				t.Errorf("holdout group\n got %+v\nwant %+v", r.HoldoutGroup, tt.holdout)
			}
			if want := Uplift(tt.mailed.Converted, tt.mailed.Customers, tt.holdout.Converted, tt.holdout.Customers); r.Uplift != want {
				t.Errorf("uplift %+v, want %+v", r.Uplift, want)
			}
			if r.Uplift.Defined != (tt.mailed.Customers > 0 && tt.holdout.Customers > 0) {
				t.Errorf("uplift defined = %v with %d mailed and %d held out", r.Uplift.Defined, tt.mailed.Customers, tt.holdout.Customers)
			}
			if r.IncrementalRevenue != tt.incremental || r.DiscountCost != tt.discount {
				t.Errorf("incremental revenue %d, discount cost %d; want %d, %d", r.IncrementalRevenue, r.DiscountCost, tt.incremental, tt.discount)
			}
		})
	}
}

// TestMeasureCounts checks the counts of a campaign with recipients in
// every state, and the report's identity fields.
func TestMeasureCounts(t *testing.T) {
	withEvents := func(r Recipient, events ...string) Recipient {
		r.Events = map[string]time.Time{}
		for _, e := range events {
			r.Events[e] = sentAt.Add(time.Hour)
		}
		return r
	}
	replenish := func(r Recipient) Recipient { r.Kind, r.Percent, r.Coupon = KindReplenishment, 0, ""; return r }
	recipients := []Recipient{
		withEvents(sent("a", 10, "WB-AAAA-AAAA"), EventSent, EventDelivered),
		withEvents(sent("b", 10, "WB-BBBB-BBBB"), EventSent, EventDelivered, EventUnsubscribed),
		withEvents(sent("c", 20, "WB-CCCC-CCCC"), EventSent, EventBounced),
		withEvents(in(sent("d", 15, "WB-DDDD-DDDD"), StateInDoubt, runAt), EventDelivered, EventComplained),
		replenish(sent("e", 0, "")),
		in(sent("f", 10, "WB-FFFF-FFFF"), StateQueued, time.Time{}),
		in(sent("g", 10, "WB-GGGG-GGGG"), StateSending, runAt),
		in(sent("h", 10, "WB-HHHH-HHHH"), StateFailed, runAt),
		replenish(in(sent("i", 0, ""), StateSkipped, time.Time{})),
		held("x"), held("y"), replenish(held("z")),
	}
	got := Measure(measuredOne, recipients, nil, "EUR", measureNow)
	want := Report{
		CampaignID: "2026-12-01", AsOf: "2026-12-01", MeasuredAt: measureNow, Currency: "EUR", AttributionWindowDays: 14,
		Selected: 12, Holdout: 3,
		States: map[State]int{StateSent: 4, StateInDoubt: 1, StateQueued: 1, StateSending: 1, StateFailed: 1, StateSkipped: 1},
		Mailed: 5, InDoubt: 1, Failed: 1, Skipped: 1, Queued: 2,
		Delivered: 3, Bounced: 1, Complained: 1, Unsubscribed: 1,
		Kinds:        map[Kind]int{KindWinback: 9, KindReplenishment: 3},
		Offers:       map[string]int{"0": 2, "10": 5, "15": 1, "20": 1},
		MailedGroup:  group(9, 0, 0, 0, 0, 0),
		HoldoutGroup: group(3, 0, 0, 0, 0, 0),
		Uplift:       Uplift(0, 9, 0, 3),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("report\n got %+v\nwant %+v", got, want)
	}
}

func TestMeasureEmptyAndDryRun(t *testing.T) {
	empty := Measure(measuredOne, nil, nil, "EUR", measureNow)
	if empty.States == nil || empty.Kinds == nil || empty.Offers == nil {
		t.Fatalf("nil maps in %+v", empty)
	}
	if empty.Selected != 0 || empty.Uplift.Defined || empty.MailedGroup != (GroupResult{}) || empty.IncrementalRevenue != 0 {
		t.Errorf("empty campaign: %+v", empty)
	}

	// A dry run has no experiment: its recipients, mailed group and
	// holdout alike, are counted but attributed to neither group, however
	// they bought.
	dry := measuredOne
	dry.ID, dry.DryRun = ID(measuredOne.AsOf, true), true
	recipients := []Recipient{in(sent("a", 10, "WB-AAAA-AAAA"), StateDryRun, time.Time{}), held("h")}
	recipients[1].State = StateDryRun
	purchases := map[string][]Purchase{
		"a": {buy("a1", runAt.Add(day), 100, 10, "WB-AAAA-AAAA")},
		"h": {buy("h1", runAt.Add(day), 100, 0)},
	}
	r := Measure(dry, recipients, purchases, "EUR", measureNow)
	if r.CampaignID != dry.ID || r.Selected != 2 || r.States[StateDryRun] != 1 || r.Holdout != 1 || r.Mailed != 0 {
		t.Errorf("dry run counts: %+v", r)
	}
	if r.MailedGroup != (GroupResult{}) || r.HoldoutGroup != (GroupResult{}) || r.Uplift.Defined ||
		r.IncrementalRevenue != 0 || r.DiscountCost != 0 {
		t.Errorf("dry run has an experiment: mailed %+v, holdout %+v, uplift %+v, incremental %d, discount %d",
			r.MailedGroup, r.HoldoutGroup, r.Uplift, r.IncrementalRevenue, r.DiscountCost)
	}
}

// TestMeasureLeavesPurchasesAlone: the discount estimate is made on a copy.
func TestMeasureLeavesPurchasesAlone(t *testing.T) {
	purchases := map[string][]Purchase{"a": {buy("a1", sentAt.Add(day), 8000, 0, "WB-AAAA-AAAA")}}
	r := Measure(measuredOne, []Recipient{sent("a", 20, "WB-AAAA-AAAA")}, purchases, "EUR", measureNow)
	if r.DiscountCost != 2000 || purchases["a"][0].Discount != 0 {
		t.Errorf("discount cost %d, caller's purchase %+v", r.DiscountCost, purchases["a"][0])
	}
}

func TestEstimatedDiscount(t *testing.T) {
	tests := []struct {
		revenue int64
		percent int
		want    int64
	}{
		{8000, 20, 2000},
		{1000, 15, 176}, // 176.47
		{3, 40, 2},      // exactly 2
		{1, 60, 2},      // 1.5 rounds up
		{1, 33, 0},      // 0.49
		{1_000_000_000_000, 90, 9_000_000_000_000},
		{0, 10, 0},
		{-5, 10, 0},
		{100, 0, 0},
		{100, 100, 0},
		{100, -10, 0},
	}
	for _, tt := range tests {
		if got := estimatedDiscount(tt.revenue, tt.percent); got != tt.want {
			t.Errorf("estimatedDiscount(%d, %d) = %d, want %d", tt.revenue, tt.percent, got, tt.want)
		}
	}
}

// TestMeasureCountsAddUp checks, over random campaigns (every tenth a dry
// run), that the counts are consistent whatever the states, events and
// purchases, and that the experiment is every recipient as assigned.
func TestMeasureCountsAddUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 2026))
	states := []State{StateQueued, StateSending, StateSent, StateInDoubt, StateFailed, StateSkipped}
	events := []string{EventSent, EventDelivered, EventBounced, EventComplained, EventUnsubscribed}
	for run := range 500 {
		c, dry := measuredOne, run%10 == 0
		if dry {
			c.ID, c.DryRun = ID(c.AsOf, true), true
		}
		var recipients []Recipient
		purchases := map[string][]Purchase{}
		for i := range rng.IntN(60) {
			id := fmt.Sprintf("c%d", i)
			var r Recipient
			if rng.IntN(5) == 0 {
				r = held(id)
			} else {
				r = sent(id, []int{0, 10, 15, 20}[rng.IntN(4)], fmt.Sprintf("WB-%04d-%04d", run, i))
				r = in(r, states[rng.IntN(len(states))], runAt.Add(time.Duration(rng.IntN(120))*time.Minute))
				if r.State == StateSent {
					r.SentAt = r.ClaimedAt.Add(time.Second)
				}
				r.Events = map[string]time.Time{}
				for _, e := range events {
					if rng.IntN(3) == 0 {
						r.Events[e] = runAt.Add(day)
					}
				}
			}
			if dry {
				r.State, r.Events = StateDryRun, nil
			}
			for j := range rng.IntN(4) {
				var codes []string
				if rng.IntN(3) == 0 {
					codes = []string{r.Coupon}
				}
				at := runAt.Add(time.Duration(rng.IntN(40*24)-5*24) * time.Hour)
				purchases[id] = append(purchases[id], buy(fmt.Sprintf("%s-%d", id, j), at, rng.Int64N(20000), rng.Int64N(2)*rng.Int64N(500), codes...))
			}
			recipients = append(recipients, r)
		}
		r := Measure(c, recipients, purchases, "EUR", measureNow)
		sum := func(m map[State]int) (n int) {
			for _, v := range m {
				n += v
			}
			return n
		}
		kinds, offers := 0, 0
		for _, v := range r.Kinds {
			kinds += v
		}
		for _, v := range r.Offers {
			offers += v
		}
		m, h := r.MailedGroup, r.HoldoutGroup
		switch {
		case sum(r.States)+r.Holdout != r.Selected || r.Selected != len(recipients):
			t.Fatalf("run %d: states %v + holdout %d != selected %d", run, r.States, r.Holdout, r.Selected)
		case dry && (r.States[StateDryRun] != sum(r.States) || r.Mailed+r.Queued+r.Failed+r.Skipped != 0):
			t.Fatalf("run %d (dry): mailed %d, queued %d, failed %d, skipped %d; states %v", run, r.Mailed, r.Queued, r.Failed, r.Skipped, r.States)
		case !dry && r.Mailed+r.Queued+r.Failed+r.Skipped != sum(r.States):
			t.Fatalf("run %d: mailed %d, queued %d, failed %d, skipped %d; states %v", run, r.Mailed, r.Queued, r.Failed, r.Skipped, r.States)
		case kinds != r.Selected || offers != r.Selected-r.Holdout:
			t.Fatalf("run %d: kinds %v, offers %v", run, r.Kinds, r.Offers)
		case dry && (m != GroupResult{} || h != GroupResult{}):
			t.Fatalf("run %d: a dry run has an experiment: %+v, %+v", run, m, h)
		case !dry && (m.Customers != r.Selected-r.Holdout || h.Customers != r.Holdout):
			t.Fatalf("run %d: experiment of %d mailed and %d held out; selected %d, holdout %d", run, m.Customers, h.Customers, r.Selected, r.Holdout)
		case m.Converted > m.Customers || h.Converted > h.Customers || m.Converted > m.Orders || m.Redeemed > m.Orders || h.Redeemed != 0:
			t.Fatalf("run %d: groups %+v, %+v", run, m, h)
		case r.Delivered > r.Selected || r.Bounced > r.Selected || r.Complained > r.Selected || r.Unsubscribed > r.Selected:
			t.Fatalf("run %d: events %d %d %d %d", run, r.Delivered, r.Bounced, r.Complained, r.Unsubscribed)
		case m.ConversionRate < 0 || m.ConversionRate > 1 || h.ConversionRate < 0 || h.ConversionRate > 1:
			t.Fatalf("run %d: rates %v, %v", run, m.ConversionRate, h.ConversionRate)
		case r.Uplift.Defined != (m.Customers > 0 && h.Customers > 0):
			t.Fatalf("run %d: uplift %+v with %d and %d", run, r.Uplift, m.Customers, h.Customers)
		case r.DiscountCost != m.DiscountCost || r.DiscountCost < 0:
			t.Fatalf("run %d: discount cost %d, mailed group's %d", run, r.DiscountCost, m.DiscountCost)
		}
	}
}

// TestPurchasesOf reads a summary's paid orders with their codes.
func TestPurchasesOf(t *testing.T) {
	mk := func(id string, at time.Time, total int64, st order.Status, codes ...order.DiscountCode) order.Order {
		o := order.Order{ID: id, Customer: order.Customer{ID: "c1"}, CreatedAt: at, Currency: "EUR", Total: total, Status: st, DiscountCodes: codes}
		if st == order.StatusRefunded {
			o.Refunded = total
		}
		return o
	}
	partly := mk("o2", runAt.Add(2*day), 6000, order.StatusPaid, order.DiscountCode{Code: "WB-AAAA-AAAA", Amount: 1500}, order.DiscountCode{Code: "FREESHIP"})
	partly.Refunded = 1000
	sum := customer.Recompute([]order.Order{
		mk("o1", runAt.Add(-day), 4000, order.StatusPaid),
		partly,
		mk("o3", runAt.Add(3*day), 9000, order.StatusRefunded, order.DiscountCode{Code: "WB-AAAA-AAAA", Amount: 2000}),
		mk("o4", runAt.Add(4*day), 1000, order.StatusCancelled),
		mk("o5", runAt.Add(-day), 2500, order.StatusPaid, order.DiscountCode{Code: "SUMMER"}),
	}, time.UTC)
	got := PurchasesOf(sum)
	want := []Purchase{
		{OrderID: customer.OrderKey("o1"), At: runAt.Add(-day), Revenue: 4000},
		{OrderID: customer.OrderKey("o5"), At: runAt.Add(-day), Revenue: 2500, Codes: []string{"SUMMER"}},
		{OrderID: customer.OrderKey("o2"), At: runAt.Add(2 * day), Revenue: 5000, Discount: 1500, Codes: []string{"WB-AAAA-AAAA", "FREESHIP"}},
	}
	if customer.OrderKey("o5") < customer.OrderKey("o1") {
		want[0], want[1] = want[1], want[0] // same time: by key
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("PurchasesOf\n got %+v\nwant %+v", got, want)
	}
	if got[0].At.Location() != time.UTC {
		t.Errorf("At in %v, want UTC", got[0].At.Location())
	}
	if PurchasesOf(customer.Summary{}) != nil {
		t.Error("a summary without orders has purchases")
	}

	// Through to the report: o2 redeemed the coupon two days after the mail.
	rc := sent("c1", 20, "WB-AAAA-AAAA")
	r := Measure(measuredOne, []Recipient{rc}, map[string][]Purchase{"c1": got}, "EUR", measureNow)
	if r.MailedGroup != group(1, 1, 1, 5000, 1, 1500) {
		t.Errorf("mailed group %+v", r.MailedGroup)
	}
}
