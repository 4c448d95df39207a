package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/internal/sqslocal"
	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/clv"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/nightly"
	"github.com/winback/winback/shared/nightly/stages"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/queue"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/scoring"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
	"github.com/winback/winback/shared/store/storetest"
)

// benchNight is the shop BenchmarkNightly scores: its summaries stored
// once per test binary, and the floor (one pass over them) measured once.
type benchNight struct {
	s         *store.Store
	sh        shop.Shop
	sums      []customer.Summary
	asOf      string
	customers int // summaries stored (customers and prospects)

	floorOnce sync.Once
	floor     time.Duration
	floorUse  capacity.Usage
}

var (
	benchNightOnce sync.Once
	benchNightShop *benchNight
)

// benchCustomers is BENCH_NIGHTLY_CUSTOMERS, or 20,000.
func benchCustomers(b *testing.B) int {
	if v := os.Getenv("BENCH_NIGHTLY_CUSTOMERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("BENCH_NIGHTLY_CUSTOMERS=%q: want a number ≥ 100", v)
		}
		return n
	}
	return 20000
}

// nightShop stores a simulated shop's summaries (BG/NBD and Gamma-Gamma
// draws over two years, as summaries of paid orders) in one
// BatchWriteItem pass: the benchmark is about the night, not ingestion.
func nightShop(b *testing.B) *benchNight {
	b.Helper()
	benchNightOnce.Do(func() {
		s, db, table := newStore(b)
		sh := newShop(b, s, "UTC")
		const asOf = "2025-04-30"
		n := benchCustomers(b)
		cs, _ := clv.SimulateBGNBD(clv.BGNBD{R: 0.5, Alpha: 60, A: 0.8, B: 2.4},
			clv.SimOptions{N: n, TMin: 1, TMax: 730, Resolution: 1, Seed: 42})
		clv.SimulateSpend(clv.GammaGamma{P: 6, Q: 4, Gamma: 22.5}, cs, 43)
		end, _ := time.Parse(time.DateOnly, asOf)
		rng := rand.New(rand.NewPCG(42, 7))
		sums := make([]customer.Summary, 0, n)
		for i, c := range cs {
			id := fmt.Sprintf("c%07d", i)
			x, tx, T := int(c.X), int(c.Tx), int(c.T)
			days := []int{0}
			picked := map[int]bool{}
			if x > 0 {
				picked[tx] = true
				for len(picked) < x {
					picked[1+rng.IntN(tx)] = true
				}
			}
			for d := range picked {
				days = append(days, d)
			}
			first := end.AddDate(0, 0, -T)
			repeat := int64(math.Round(c.Monetary * 100))
			var orders []order.Order
			for k, d := range days {
				total := repeat
				if k == 0 {
					total = int64(1000 + rng.IntN(9000))
				}
				at := time.Date(first.Year(), first.Month(), first.Day()+d, 12, 0, 0, 0, time.UTC)
				orders = append(orders, storetest.Order(fmt.Sprintf("%d%03d", 4000000000+i, k), id, at, total))
			}
			sums = append(sums, customer.Recompute(orders, time.UTC))
		}
		putSummaries(b, db, table, sh, sums)
		benchNightShop = &benchNight{s: s, sh: sh, sums: sums, asOf: asOf, customers: len(sums)}
	})
	if benchNightShop == nil {
		b.Fatal("the benchmark shop could not be stored")
	}
	return benchNightShop
}

// putSummaries writes the summaries' items, 25 to a BatchWriteItem, from
// a few goroutines.
func putSummaries(b *testing.B, db *dynamodb.Client, table string, sh shop.Shop, sums []customer.Summary) {
	b.Helper()
	var reqs [][]types.WriteRequest
	for i := 0; i < len(sums); i += 25 {
		var batch []types.WriteRequest
		for _, sum := range sums[i:min(i+25, len(sums))] {
			item, err := store.SummaryItem(sh, sum)
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		reqs = append(reqs, batch)
	}
	work := make(chan []types.WriteRequest)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range work {
				for len(batch) > 0 {
					out, err := db.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{
						RequestItems: map[string][]types.WriteRequest{table: batch},
					})
					if err != nil {
						errs <- err
						return
					}
					batch = out.UnprocessedItems[table]
				}
			}
		}()
	}
	for _, batch := range reqs {
		work <- batch
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("store summaries: %v", err)
	}
}

// readFloor reads every shard's summaries once (Query, eventually
// consistent, as the map and score stages do): what a night cannot do with
// less.
func (bn *benchNight) readFloor(b *testing.B) (time.Duration, capacity.Usage, int) {
	ctx := context.Background()
	var u capacity.Usage
	n := 0
	t0 := time.Now()
	for shard := range bn.sh.Shards {
		su, err := bn.s.ScanShard(ctx, bn.sh, shard, func(customer.Summary) error { n++; return nil }, nil)
		if err != nil {
			b.Fatal(err)
		}
		u.Add(su)
	}
	return time.Since(t0), u, n
}

func (bn *benchNight) floorOf(b *testing.B) time.Duration {
	bn.floorOnce.Do(func() {
		bn.floor, bn.floorUse, _ = bn.readFloor(b)
	})
	return bn.floor
}

// BenchmarkNightly measures the nightly job on a simulated shop of
// BENCH_NIGHTLY_CUSTOMERS customers (default 20,000) against DynamoDB
// Local and the SQS emulator (scripts/bench-nightly runs it, -benchtime
// 1x: each case is one pass):
//
//   - read-summaries: one Query pass over every shard's summaries, the floor;
//   - model: the model math alone (Stats.Add, Fit, ScoreAll, Partial.Add,
//     Report) on the same customers in memory;
//   - night-1: the first night through the handlers (the planner invoked
//     with a scheduled event, the worker fed by the local poller), every
//     score written;
//   - night-2: the next day's night, only the scores that moved written.
//
// Each reports customers per second, and a night its time against the
// floor's and the capacity units per customer from the run's usage
// records (ReturnConsumedCapacity, and AWS's billing rules applied to the
// item sizes).
func BenchmarkNightly(b *testing.B) {
	bn := nightShop(b)
	b.Run("read-summaries", func(b *testing.B) {
		var d time.Duration
		var u capacity.Usage
		var n int
		for range b.N {
			var du time.Duration
			du, u, n = bn.readFloor(b)
			d += du
		}
		if n != bn.customers {
			b.Fatalf("read %d summaries, stored %d", n, bn.customers)
		}
		perPass := d / time.Duration(b.N)
		b.ReportMetric(float64(n)/perPass.Seconds(), "customers/s")
		b.ReportMetric(u.BilledReadUnits/float64(n), "billed-RCU/customer")
		b.ReportMetric(u.ReadUnits/float64(n), "RCU/customer")
		b.ReportMetric(float64(u.RoundTrips), "round-trips")
	})
	b.Run("model", func(b *testing.B) {
		cfg := scoring.DefaultConfig()
		var d time.Duration
		for range b.N {
			t0 := time.Now()
			var st scoring.Stats
			ins := make([]scoring.Input, 0, len(bn.sums))
			for _, sum := range bn.sums {
				if in, ok := scoring.InputOf(sum, bn.asOf, time.UTC); ok {
					st.Add(in)
					ins = append(ins, in)
				}
			}
			m, err := scoring.Fit(st, cfg)
			if err != nil {
				b.Fatal(err)
			}
			var p scoring.Partial
			for i, sc := range scoring.ScoreAll(m, ins, runtime.GOMAXPROCS(0)) {
				p.Add(ins[i], sc)
			}
			scoring.Report(p, m)
			d += time.Since(t0)
		}
		b.ReportMetric(float64(len(bn.sums))/(d/time.Duration(b.N)).Seconds(), "customers/s")
	})
	for i, name := range []string{"night-1", "night-2"} {
		b.Run(name, func(b *testing.B) {
			day, _ := time.Parse(time.DateOnly, bn.asOf)
			asOf := day.AddDate(0, 0, i).Format(time.DateOnly)
			floor := bn.floorOf(b)
			var d time.Duration
			var run scores.Run
			var msgs int
			var ms map[string]float64
			for range b.N {
				var took time.Duration
				took, run, msgs, ms = runNight(b, bn, asOf)
				d += took
			}
			// The handlers' time per stage, summed over their messages
			// (with 2 workers, a stage's wall time is about half its sum).
			for _, st := range []string{"map", "fit", "score", "finish"} {
				b.ReportMetric(ms[st]/1000, st+"-s")
			}
			perNight := d / time.Duration(b.N)
			u := capacity.Usage{}
			for _, st := range scores.Stages {
				u.Add(run.Usage[st])
			}
			n := float64(bn.customers)
			b.ReportMetric(n/perNight.Seconds(), "customers/s")
			b.ReportMetric(perNight.Seconds()/floor.Seconds(), "x-read-floor")
			b.ReportMetric(u.BilledReadUnits/n, "billed-RCU/customer")
			b.ReportMetric(u.BilledWriteUnits/n, "billed-WCU/customer")
			b.ReportMetric(u.ReadUnits/n, "RCU/customer")
			b.ReportMetric(u.WriteUnits/n, "WCU/customer")
			b.ReportMetric(float64(u.RoundTrips), "round-trips")
			b.ReportMetric(float64(msgs), "messages")
			b.ReportMetric(floor.Seconds(), "floor-s")
		})
	}
}

// runNight runs one night of the benchmark shop through the handlers: a
// fresh work queue, the planner invoked with a scheduled event (forced, so
// that a repeated iteration scores again), the worker through the local
// poller until the queue is drained.
func runNight(b *testing.B, bn *benchNight, asOf string) (time.Duration, scores.Run, int, map[string]float64) {
	b.Helper()
	ctx := context.Background()
	sqsc, _ := emulator.SQS(b)
	workURL := benchQueues(b, sqsc)
	q := queue.New(sqsc, workURL)
	var logs syncBuffer // the stages' JSON log lines, for the time per stage
	planner := &nightly.Planner{Store: bn.s, Queue: q}
	worker := &stages.Worker{Store: bn.s, Queue: q, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	day, _ := time.Parse(time.DateOnly, asOf)
	ev, _ := json.Marshal(nightly.PlanEvent{
		Version: "0", ID: "bench", DetailType: "Scheduled Event", Source: "aws.scheduler",
		Time:   day.Add(26*time.Hour + 30*time.Minute).Format(time.RFC3339),
		Detail: nightly.Request{ShopID: bn.sh.ID, AsOf: asOf, Force: true},
	})
	t0 := time.Now()
	if _, err := lambda.NewHandler(planner.Plan).Invoke(ctx, ev); err != nil {
		b.Fatalf("plan: %v", err)
	}
	poller := &sqslocal.Poller{Client: sqsc, QueueURL: workURL, Handler: worker.Work,
		BatchSize: 1, Concurrency: runtime.GOMAXPROCS(0), Region: emulator.Region}
	stats, err := poller.Run(ctx)
	took := time.Since(t0)
	if err != nil {
		b.Fatalf("work: %v", err)
	}
	run, err := bn.s.Run(ctx, bn.sh.ID, asOf)
	if err != nil {
		b.Fatal(err)
	}
	if !run.Done || run.Failed != "" || stats.Failed > 0 {
		b.Fatalf("night %s: done %v, failed %q, %d failed deliveries", asOf, run.Done, run.Failed, stats.Failed)
	}
	return took, run, stats.Messages, stageMillis(b, logs.String())
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// stageMillis sums the handler time per stage from the stages' "nightly
// stage done" log lines.
func stageMillis(b *testing.B, logs string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec struct {
			Msg   string  `json:"msg"`
			Stage string  `json:"stage"`
			MS    float64 `json:"ms"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			b.Fatalf("worker log line %q: %v", line, err)
		}
		if rec.Msg == "nightly stage done" {
			out[rec.Stage] += rec.MS
		}
	}
	return out
}

var benchQueueSeq int

// benchQueues creates a work queue with its dead-letter queue and returns
// the work queue's URL.
func benchQueues(b *testing.B, c *sqs.Client) string {
	b.Helper()
	ctx := context.Background()
	benchQueueSeq++
	name := fmt.Sprintf("bench-nightly-%d-%d", time.Now().UnixNano()%1e9, benchQueueSeq)
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		b.Fatal(err)
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: dlq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		b.Fatal(err)
	}
	work, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		"VisibilityTimeout": "120",
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"5"}`,
			attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]),
	}})
	if err != nil {
		b.Fatal(err)
	}
	return aws.ToString(work.QueueUrl)
}
