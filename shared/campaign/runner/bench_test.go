package runner_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/runner"
	"github.com/winback/winback/shared/campaign/sender"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// benchCampaignCustomers is BENCH_CAMPAIGN_CUSTOMERS, or 5,000.
func benchCampaignCustomers(b *testing.B) int {
	if v := os.Getenv("BENCH_CAMPAIGN_CUSTOMERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("BENCH_CAMPAIGN_CUSTOMERS=%q: want a number ≥ 100", v)
		}
		return n
	}
	return 5000
}

// BenchmarkRun measures a shop's campaign run (Runner.Run) against
// DynamoDB Local: one shop of BENCH_CAMPAIGN_CUSTOMERS customers (default
// 5,000) in 16 shards, with summaries, the night's scores (most at risk,
// values spread over every offer tier, a few due for a replenishment
// reminder) and a finished nightly run; a fake send queue counts the
// messages. scripts/bench-campaign runs it with -benchtime 1x.
//
//   - render: selection, recording (AddRecipient) and each mailed
//     recipient's e-mail rendered by the sender's Compose, as the CLI's
//     render check does;
//   - no-render: the same without rendering, to show what rendering costs.
//
// Each iteration runs the first campaign of a new shop seeded outside the
// timer (a second run of the same day does nothing, and the next day's
// would find everybody within the frequency cap); an untimed campaign of
// 500 customers warms DynamoDB Local up first. Each case reports
// recipients (mailed and held out) recorded per second, customers
// examined per second, the time Compose took per e-mail (summed over the
// runner's goroutines), round trips and the mean AddRecipient transaction
// time, and the capacity units per recipient: as DynamoDB Local reports
// them and by AWS's on-demand rules applied to the items read and written
// (meter).
func BenchmarkRun(b *testing.B) {
	db := emulator.DynamoDB(b)
	table := fmt.Sprintf("winback-bench-campaign-%d", time.Now().UnixNano()%1e9)
	if err := store.CreateTable(context.Background(), db, table); err != nil {
		b.Fatal(err)
	}
	seed := store.New(db, table) // unmetered: seeding is not the run's cost
	m := &meter{Client: db}
	st := store.New(m, table)
	n := benchCampaignCustomers(b)
	// A small campaign first, untimed: DynamoDB Local's JVM compiles its
	// hot paths during the first thousands of calls, which would otherwise
	// slow whichever case runs first.
	warm := benchShop(b, seed, 500)
	wr := &runner.Runner{Store: st, Queue: &countingQueue{}, Now: func() time.Time { return now }}
	if _, err := wr.Run(context.Background(), warm.ID, asOf, runner.Options{}); err != nil {
		b.Fatal(err)
	}
	for _, render := range []bool{true, false} {
		name := "no-render"
		if render {
			name = "render"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var (
				took        time.Duration
				composeTook atomic.Int64 // nanoseconds, summed over the runner's goroutines
				use         units
				res         runner.Result
			)
			for range b.N {
				b.StopTimer()
				sh := benchShop(b, seed, n)
				q := &countingQueue{}
				r := &runner.Runner{Store: st, Queue: q, Now: func() time.Time { return now }}
				var opt runner.Options
				if render {
					s := &sender.Sender{Store: st, UnsubscribeBase: "http://127.0.0.1:8080", Now: func() time.Time { return now }}
					opt.Render = func(rec campaign.Recipient, sum customer.Summary) error {
						t0 := time.Now()
						_, err := s.Compose(ctx, sh, rec, sum)
						composeTook.Add(int64(time.Since(t0)))
						return err
					}
				}
				m.reset()
				b.StartTimer()
				t0 := time.Now()
				var err error
				res, err = r.Run(ctx, sh.ID, asOf, opt)
				took += time.Since(t0)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if res.Customers != n || res.Resumed != 0 || res.RenderErrors != 0 || res.Status != campaign.StatusSending {
					b.Fatalf("run %+v: want %d customers examined, nothing resumed, no render errors, sending", res, n)
				}
				if got := int(q.n.Load()); got != res.Mailed || res.Queued != res.Mailed {
					b.Fatalf("%d messages queued (result says %d), %d mailed", got, res.Queued, res.Mailed)
				}
				use.add(m.units())
			}
			perRun := took.Seconds() / float64(b.N)
			recipients := float64(res.Mailed + res.Holdout)
			per := recipients * float64(b.N)
			b.ReportMetric(recipients/perRun, "recipients/s")
			b.ReportMetric(float64(res.Customers)/perRun, "customers/s")
			b.ReportMetric(float64(res.Mailed)/perRun, "mailed/s")
			if render {
				b.ReportMetric(float64(composeTook.Load())/1e3/float64(res.Mailed*b.N), "render-µs/email")
			}
			b.ReportMetric(use.billedRead/per, "billed-RCU/recipient")
			b.ReportMetric(use.billedWrite/per, "billed-WCU/recipient")
			b.ReportMetric(use.read/per, "RCU/recipient")
			b.ReportMetric(use.write/per, "WCU/recipient")
			b.ReportMetric(float64(use.roundTrips)/per, "round-trips/recipient")
			// AddRecipient's transaction is most of a recipient's time: the
			// runner's 4 shards at a time wait on it.
			b.ReportMetric(float64(use.txnTime.Microseconds())/1e3/float64(max(use.txns, 1)), "ms/transaction")
			b.ReportMetric(recipients, "recipients")
			b.ReportMetric(float64(res.Mailed), "mailed")
		})
	}
}

// benchShop creates a shop of n customers in 16 shards, each with one
// paid order (an address, a first name, one or two line items; 95% accept
// marketing), their scores of asOf, and asOf's nightly run finished.
// The scores are drawn from a fixed seed, so every shop is the same: 80%
// of the customers in the high churn band, 12% medium, 8% low; predicted
// values log-uniform over 15–1,200 (every offer tier, the cost cap biting
// for some); 6% expected to order again within days of the campaign (a
// replenishment reminder).
func benchShop(b *testing.B, st *store.Store, n int) shop.Shop {
	b.Helper()
	ctx := context.Background()
	sh := shop.Shop{ID: shop.NewID(), Name: "Bean & Leaf", Currency: "EUR", Timezone: "Europe/Berlin",
		Shards: shop.DefaultShards, CreatedAt: now.AddDate(-2, 0, 0)}
	if err := st.CreateShop(ctx, sh, shop.NewCredentials()); err != nil {
		b.Fatal(err)
	}
	cfg := campaign.DefaultConfig()
	cfg.Settings.From = "Bean & Leaf <news@bean.example>"
	if err := st.PutCampaignConfig(ctx, sh.ID, cfg); err != nil {
		b.Fatal(err)
	}
	day, _ := time.Parse(time.DateOnly, asOf)
	rng := rand.New(rand.NewPCG(8, 2025))
	names := []string{"Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances"}
	products := []order.LineItem{
		{SKU: "MUG", Title: "Enamel mug", Price: 2495}, {SKU: "SENCHA", Title: "Sencha, 100 g", Price: 1290},
		{SKU: "ASSAM", Title: "Assam breakfast, 250 g", Price: 1650}, {SKU: "POT", Title: "Glass teapot", Price: 3900},
		{SKU: "FILTER", Title: "Paper filters", Price: 450},
	}
	orders := make([]order.Order, n)
	perShard := map[int][]scores.Score{}
	for i := range n {
		id := fmt.Sprintf("c%06d", i)
		c := order.Customer{ID: id, Email: id + "@example.com", FirstName: names[rng.IntN(len(names))], AcceptsMarketing: rng.Float64() < 0.95}
		at := now.Add(-time.Duration(30+rng.IntN(400)) * 24 * time.Hour)
		items := []order.LineItem{products[rng.IntN(len(products))]}
		if rng.IntN(2) == 0 {
			items = append(items, products[rng.IntN(len(products))])
		}
		var total int64
		for k := range items {
			items[k].Quantity = int64(1 + rng.IntN(3))
			total += items[k].Quantity * items[k].Price
		}
		orders[i] = order.Order{ID: "o-" + id, Customer: c, CreatedAt: at, UpdatedAt: at, Currency: "EUR",
			Total: total, Status: order.StatusPaid, LineItems: items, Source: order.SourceAPI}

		band, pAlive := "high", 0.05+0.3*rng.Float64()
		switch u := rng.Float64(); {
		case u < 0.08:
			band, pAlive = "low", 0.8+0.2*rng.Float64()
		case u < 0.20:
			band, pAlive = "medium", 0.4+0.3*rng.Float64()
		}
		next := day.AddDate(0, 0, 30+rng.IntN(180))
		if rng.Float64() < 0.06 {
			next = day.AddDate(0, 0, rng.IntN(9)-3)
		}
		e30 := 0.02 + 0.3*rng.Float64()
		sc := scores.Score{
			CustomerID: id, AsOf: asOf, Model: "mbgnbd", PAlive: pAlive, ChurnRisk: 1 - pAlive, ChurnBand: band,
			ExpectedPurchases30d: e30, ExpectedPurchases90d: 2.5 * e30, ExpectedPurchases365d: 8 * e30,
			ExpectedOrderValue: float64(total) * (0.8 + 0.4*rng.Float64()),
			CLV:                math.Exp(math.Log(1500) + rng.Float64()*math.Log(120000.0/1500)),
			NextOrderDate:      next.Format(time.DateOnly),
		}
		perShard[sh.Shard(id)] = append(perShard[sh.Shard(id)], sc)
	}
	putOrders(b, st, sh, orders)
	for shard, put := range perShard {
		if _, err := st.PutScores(ctx, sh, shard, put, nil); err != nil {
			b.Fatal(err)
		}
	}
	if _, _, _, err := st.BeginRun(ctx, sh, asOf, false); err != nil {
		b.Fatal(err)
	}
	if _, _, err := st.MarkRun(ctx, sh.ID, asOf, scores.Mark{Stage: scores.StageFinish, At: now}); err != nil {
		b.Fatal(err)
	}
	return sh
}

// putOrders stores each customer's order (PutOrders takes one customer's
// orders at a time) from a few goroutines.
func putOrders(b *testing.B, st *store.Store, sh shop.Shop, orders []order.Order) {
	b.Helper()
	work := make(chan order.Order)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				outs, _, err := st.PutOrders(context.Background(), sh, []order.Order{o}, "")
				if err == nil && outs[0].Err != nil {
					err = outs[0].Err
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("order %s: %w", o.ID, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, o := range orders {
		work <- o
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}

// countingQueue is the send queue of the benchmark: it counts the
// message bodies it is given.
type countingQueue struct{ n atomic.Int64 }

func (q *countingQueue) Send(ctx context.Context, bodies []string) error {
	q.n.Add(int64(len(bodies)))
	return nil
}

// units are capacity units, as DynamoDB reported them and as AWS bills
// them, the round trips that consumed them, and the transactions among
// them with the time they took.
type units struct {
	read, write             float64
	billedRead, billedWrite float64
	roundTrips, txns        int
	txnTime                 time.Duration
}

func (u *units) add(v units) {
	u.read += v.read
	u.write += v.write
	u.billedRead += v.billedRead
	u.billedWrite += v.billedWrite
	u.roundTrips += v.roundTrips
	u.txns += v.txns
	u.txnTime += v.txnTime
}

// meter is a DynamoDB client that asks for the consumed capacity of every
// call and adds it up, and applies AWS's published on-demand rules to the
// sizes of the items each call read and wrote: what the runner's store
// calls cost, without the store reporting it. The rules are those of
// shared/store/size.go, which the store applies to its own usage records
// but does not export: a read of up to 4 KB is 1 unit strongly
// consistent, 0.5 eventually (a missing item too; a Query page sums its
// items' sizes first), a write 1 unit per started KB, a transactional
// write 2. Sizes of items a write replaces are not known here: the new
// item's size counts (an UpdateItem asks for the item as updated).
type meter struct {
	*dynamodb.Client
	mu sync.Mutex
	u  units
}

var _ store.DB = (*meter)(nil)

func (m *meter) units() units {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.u
}

func (m *meter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.u = units{}
}

// count adds a call's reported capacity and its billed units.
func (m *meter) count(write bool, billed float64, cc ...types.ConsumedCapacity) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.u.roundTrips++
	reported := 0.0
	for _, c := range cc {
		reported += aws.ToFloat64(c.CapacityUnits)
	}
	if write {
		m.u.write += reported
		m.u.billedWrite += billed
	} else {
		m.u.read += reported
		m.u.billedRead += billed
	}
}

const consumedTotal = types.ReturnConsumedCapacityTotal

func one(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}

// conditionFailed reports whether a write was refused by its condition:
// AWS bills it as a write of the item all the same.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	var tc *types.TransactionCanceledException
	return errors.As(err, &ccf) || errors.As(err, &tc)
}

func (m *meter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	out, err := m.Client.GetItem(ctx, in, o...)
	if err == nil {
		m.count(false, store.ReadUnits(store.ItemSize(out.Item), aws.ToBool(in.ConsistentRead)), one(out.ConsumedCapacity)...)
	}
	return out, err
}

func (m *meter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	out, err := m.Client.BatchGetItem(ctx, in, o...)
	if err == nil {
		billed := 0.0
		for table, req := range in.RequestItems {
			consistent := aws.ToBool(req.ConsistentRead)
			got := out.Responses[table]
			for _, it := range got {
				billed += store.ReadUnits(store.ItemSize(it), consistent)
			}
			// Keys read but not found are billed as minimal reads.
			missing := len(req.Keys) - len(out.UnprocessedKeys[table].Keys) - len(got)
			billed += float64(max(missing, 0)) * store.ReadUnits(0, consistent)
		}
		m.count(false, billed, out.ConsumedCapacity...)
	}
	return out, err
}

func (m *meter) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	out, err := m.Client.Query(ctx, in, o...)
	if err == nil {
		size := 0
		for _, it := range out.Items {
			size += store.ItemSize(it)
		}
		m.count(false, store.ReadUnits(size, aws.ToBool(in.ConsistentRead)), one(out.ConsumedCapacity)...)
	}
	return out, err
}

func (m *meter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	t0 := time.Now()
	out, err := m.Client.TransactWriteItems(ctx, in, o...)
	took := time.Since(t0)
	m.mu.Lock()
	m.u.txns++
	m.u.txnTime += took
	m.mu.Unlock()
	if err == nil || conditionFailed(err) { // a cancelled transaction is billed too
		billed := 0.0
		for _, it := range in.TransactItems {
			size := 0
			if it.Put != nil {
				size = store.ItemSize(it.Put.Item)
			}
			billed += 2 * store.WriteUnits(size)
		}
		var cc []types.ConsumedCapacity
		if out != nil {
			cc = out.ConsumedCapacity
		}
		m.count(true, billed, cc...)
	}
	return out, err
}

func (m *meter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	// The item as updated tells its size; the caller asked for nothing
	// back, so it gets nothing back.
	asked := in.ReturnValues
	none := asked == "" || asked == types.ReturnValueNone
	if none {
		in.ReturnValues = types.ReturnValueAllNew
	}
	out, err := m.Client.UpdateItem(ctx, in, o...)
	in.ReturnValues = asked
	switch {
	case err == nil:
		m.count(true, store.WriteUnits(store.ItemSize(out.Attributes)), one(out.ConsumedCapacity)...)
		if none {
			out.Attributes = nil
		}
	case conditionFailed(err):
		m.count(true, store.WriteUnits(0))
	}
	return out, err
}

func (m *meter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	out, err := m.Client.PutItem(ctx, in, o...)
	switch {
	case err == nil:
		m.count(true, store.WriteUnits(store.ItemSize(in.Item)), one(out.ConsumedCapacity)...)
	case conditionFailed(err):
		m.count(true, store.WriteUnits(store.ItemSize(in.Item)))
	}
	return out, err
}

func (m *meter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	out, err := m.Client.BatchWriteItem(ctx, in, o...)
	if err == nil {
		billed := 0.0
		for table, reqs := range in.RequestItems {
			unprocessed := len(out.UnprocessedItems[table])
			for _, r := range reqs[:len(reqs)-unprocessed] { // an approximation: which ones is not said
				size := 0
				if r.PutRequest != nil {
					size = store.ItemSize(r.PutRequest.Item)
				}
				billed += store.WriteUnits(size)
			}
		}
		m.count(true, billed, out.ConsumedCapacity...)
	}
	return out, err
}

func (m *meter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	out, err := m.Client.DeleteItem(ctx, in, o...)
	if err == nil || conditionFailed(err) {
		var cc []types.ConsumedCapacity
		if out != nil {
			cc = one(out.ConsumedCapacity)
		}
		m.count(true, store.WriteUnits(0), cc...)
	}
	return out, err
}
