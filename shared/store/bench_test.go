package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
)

var benchRun atomic.Int64

// benchOrder is a typical order: three line items, a customer with a name,
// an e-mail and consent.
func benchOrder(id, cust string, at time.Time) order.Order {
	o := mkOrder(id, cust, at, 8940)
	o.LineItems = []order.LineItem{
		{SKU: "MUG-BLUE-350", Title: "Enamel mug, blue, 350 ml", Quantity: 2, Price: 2495},
		{SKU: "TEA-EARL-250", Title: "Earl Grey loose leaf tea, 250 g", Quantity: 1, Price: 1450},
		{SKU: "SHIP-STD", Title: "Standard shipping", Quantity: 1, Price: 2500},
	}
	return o
}

// BenchmarkIngest measures storing orders against DynamoDB Local, per order:
// round trips, consumed capacity (ReturnConsumedCapacity) and latency as a
// ratio against a baseline single PutItem of the same order item on the
// same emulator in the same run. Cases: a new customer's first order, a new
// order of a customer who already has 10 or 50 purchase days, an identical
// re-send, and five new orders of one customer stored together (as a batch
// request does).
func BenchmarkIngest(b *testing.B) {
	s, db, table := newStore(b)
	ctx := context.Background()
	sh := newShop(b, s, "UTC")

	baseline := func(b *testing.B, o order.Order) (time.Duration, float64) {
		item, err := attributevalue.MarshalMap(struct {
			PK string `dynamodbav:"pk"`
			SK string `dynamodbav:"sk"`
			order.Order
		}{"SHOP#" + sh.ID + "#BASELINE#" + o.ID, "ORDER", o})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		out, err := db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(table), Item: item, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		d := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		return d, aws.ToFloat64(out.ConsumedCapacity.CapacityUnits)
	}

	// run measures storing `group` new orders of one customer who already
	// has `history` purchase days, with one PutOrders call, against as many
	// single PutItems. Figures are per order.
	run := func(b *testing.B, history int, resend bool, group int) {
		var base, cand time.Duration
		var rt, ru, wu, bru, bwu, baseWU float64
		for i := 0; i < b.N; i++ {
			// Realistic ids: 8-character customer ids, 10-digit order numbers.
			cust := fmt.Sprintf("c%07d", benchRun.Add(1))
			at := t0
			for range history { // the customer's earlier purchase days, not measured
				if _, _, err := s.PutOrders(ctx, sh, []order.Order{benchOrder(fmt.Sprint(4000000000+benchRun.Add(1)), cust, at)}, ""); err != nil {
					b.Fatal(err)
				}
				at = at.Add(36 * time.Hour)
			}
			var orders []order.Order
			for range group {
				orders = append(orders, benchOrder(fmt.Sprint(4000000000+benchRun.Add(1)), cust, at))
				at = at.Add(36 * time.Hour)
			}
			if resend {
				if _, _, err := s.PutOrders(ctx, sh, orders[:1], ""); err != nil {
					b.Fatal(err)
				}
			}
			for _, o := range orders {
				d, w := baseline(b, o)
				base += d
				baseWU += w
			}
			start := time.Now()
			outs, u, err := s.PutOrders(ctx, sh, orders, "")
			if err != nil || outs[group-1].Change != customer.Created {
				b.Fatal(err, outs)
			}
			cand += time.Since(start)
			rt += float64(u.RoundTrips)
			ru += u.ReadUnits
			wu += u.WriteUnits
			bru += u.BilledReadUnits
			bwu += u.BilledWriteUnits
		}
		n := float64(b.N * group)
		b.ReportMetric(rt/n, "round-trips/order")
		b.ReportMetric(ru/n, "RCU/order")
		b.ReportMetric(wu/n, "WCU/order")
		b.ReportMetric((ru+wu)/n, "CU/order")
		b.ReportMetric(bru/n, "billed-RCU/order")
		b.ReportMetric(bwu/n, "billed-WCU/order")
		b.ReportMetric(baseWU/n, "baseline-WCU")
		b.ReportMetric(float64(cand.Microseconds())/n, "µs/order")
		b.ReportMetric(float64(base.Microseconds())/n, "baseline-µs")
		b.ReportMetric(float64(cand)/float64(base), "latency-ratio")
	}
	b.Run("new-customer", func(b *testing.B) { run(b, 0, false, 1) })
	b.Run("returning-10-days", func(b *testing.B) { run(b, 10, false, 1) })
	b.Run("returning-50-days", func(b *testing.B) { run(b, 50, false, 1) })
	b.Run("identical-resend", func(b *testing.B) { run(b, 0, true, 1) })
	b.Run("batch-5-one-customer", func(b *testing.B) { run(b, 0, false, 5) })
}
