package stages_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/internal/sqslocal"
	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/clv"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/nightly"
	"github.com/winback/winback/shared/nightly/stages"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/queue"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// localStack is the table and queues of one test on the emulators.
type localStack struct {
	st             *store.Store
	sqs            *sqs.Client
	workURL, dlURL string
}

func newLocalStack(t *testing.T, visibility, maxReceives int) localStack {
	t.Helper()
	ctx := context.Background()
	db := emulator.DynamoDB(t)
	q, _ := emulator.SQS(t)
	name := fmt.Sprintf("nightly-%d", time.Now().UnixNano())
	if err := store.CreateTable(ctx, db, name); err != nil {
		t.Fatal(err)
	}
	dl, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dl.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	work, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-work"), Attributes: map[string]string{
		"VisibilityTimeout": fmt.Sprint(visibility),
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, attrs.Attributes["QueueArn"], maxReceives),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return localStack{st: store.New(db, name), sqs: q, workURL: aws.ToString(work.QueueUrl), dlURL: aws.ToString(dl.QueueUrl)}
}

// dupQueue sends every message twice.
type dupQueue struct{ nightly.Queue }

func (d dupQueue) Send(ctx context.Context, bodies []string) error {
	return d.Queue.Send(ctx, append(append([]string(nil), bodies...), bodies...))
}

// TestLocalStack runs a simulated shop's night on DynamoDB Local and the
// SQS emulator: its orders posted through the API's Lambda handler, the
// schedule's sample event through the nightly function's
// handler, the work through the score function's handler delivered by
// sqslocal. It checks the fit against the generating process and shared/clv
// fitted directly, the KPIs against the simulated customers, and reports
// the capacity per customer and stage. Then it runs the night again,
// forced, with every message sent twice, a poison message on the queue and
// the worker killed twice mid-way: the KPI item is the same, no score is
// rewritten, and the poison message ends in the dead-letter queue.
func TestLocalStack(t *testing.T) {
	if testing.Short() {
		t.Skip("emulators: skipped in -short mode")
	}
	const n = 2500
	ctx := context.Background()
	ls := newLocalStack(t, 2, 3)
	loc, _ := time.LoadLocation("Europe/Berlin")
	big := simulate(n, 2026, asOf, loc)
	sh := shop.Shop{ID: sampleShop, Name: "Simulated", Currency: "EUR", Timezone: "Europe/Berlin", Shards: 8, CreatedAt: now}

	// Ingest through the real API handler, as the Lambda receives it: the
	// simulated orders as POST /v1/orders batches of 100.
	cred := shop.NewCredentials()
	if err := ls.st.CreateShop(ctx, sh, cred); err != nil {
		t.Fatal(err)
	}
	ingestAPI := lambda.NewHandler(httpapi.LambdaHandler(api.Routes(api.Deps{Shops: ls.st, Orders: ls.st, Log: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return now }})))
	t0 := time.Now()
	var orders atomic.Int64
	var all []order.Order
	for _, id := range big.ids {
		all = append(all, big.orders[id]...)
	}
	for len(all) > 0 {
		k := min(len(all), order.MaxBatch)
		created, err := postOrders(ctx, ingestAPI, cred.APIKey, all[:k])
		if err != nil {
			t.Fatal(err)
		}
		if created != k {
			t.Fatalf("%d of %d orders created", created, k)
		}
		orders.Add(int64(k))
		all = all[k:]
	}
	t.Logf("ingested %d orders of %d customers in %v", orders.Load(), n, time.Since(t0).Round(time.Millisecond))

	// The night: the scheduler's sample event, then the worker until the
	// queue is drained.
	q := queue.New(ls.sqs, ls.workURL)
	planner := lambda.NewHandler((&nightly.Planner{Store: ls.st, Queue: q}).Plan)
	worker := &stages.Worker{Store: ls.st, Queue: q}
	poll := func(h sqslocal.Handler) sqslocal.Stats {
		t.Helper()
		p := &sqslocal.Poller{Client: ls.sqs, QueueURL: ls.workURL, Handler: h, Concurrency: 4, Region: emulator.Region}
		st, err := p.Run(ctx)
		if err != nil {
			t.Fatalf("poller: %v", err)
		}
		return st
	}
	t0 = time.Now()
	out, err := planner.Invoke(ctx, readEvent(t, "scheduler/nightly.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan: %s", out)
	ps := poll(worker.Work)
	took := time.Since(t0)
	run, err := ls.st.Run(ctx, sh.ID, asOf)
	if err != nil || !run.Done || run.Failed != "" {
		t.Fatalf("run %+v, %v", run, err)
	}
	t.Logf("night of %d customers in %v: %d batches, %d messages", n, took.Round(time.Millisecond), ps.Batches, ps.Messages)
	reportCapacity(t, "first night", run)

	days, err := ls.st.Days(ctx, sh, 5)
	if err != nil || len(days) != 1 {
		t.Fatalf("days %v, %v", days, err)
	}
	day, err := stages.DayOf(days[0])
	if err != nil {
		t.Fatal(err)
	}

	// The fit: BG/NBD and Gamma-Gamma on the same customers, directly.
	direct, dfit := clv.FitBGNBD(clv.Group(big.customers), clv.FitOptions{})
	var repeat []clv.Customer
	for _, c := range big.customers {
		if c.X > 0 {
			c.Monetary *= 100 // minor units, as the job fits
			repeat = append(repeat, c)
		}
	}
	gg, _ := clv.FitGammaGamma(repeat, clv.FitOptions{})
	t.Logf("model %s (%s); true BG/NBD %+v; direct %+v (LL %.1f)", day.Model.Name, day.Model.Reason, trueBGNBD, direct, dfit.LogLik)
	var bg *clv.FitResult
	for i, c := range day.Model.Candidates {
		t.Logf("candidate %s: %v ± %v, LL %.2f, converged %v", c.Model, c.Params, c.StdErr, c.LogLik, c.Converged)
		if c.Model == scoringBGNBD {
			bg = &day.Model.Candidates[i]
		}
	}
	if bg == nil {
		t.Fatal("no BG/NBD candidate")
	}
	// Same data, same likelihood: the job's BG/NBD is the direct fit.
	for k, want := range map[string]float64{"r": direct.R, "alpha": direct.Alpha, "a": direct.A, "b": direct.B} {
		if got := bg.Params[k]; math.Abs(got-want) > 1e-3*math.Abs(want) {
			t.Errorf("BG/NBD %s = %.6g, direct fit %.6g", k, got, want)
		}
	}
	if math.Abs(bg.LogLik-dfit.LogLik) > 1e-6*math.Abs(dfit.LogLik) {
		t.Errorf("BG/NBD log-likelihood %.4f, direct %.4f", bg.LogLik, dfit.LogLik)
	}
	// And the generating process is recovered: each parameter within 3
	// standard errors (r, alpha within 25%).
	for k, want := range map[string]float64{"r": trueBGNBD.R, "alpha": trueBGNBD.Alpha, "a": trueBGNBD.A, "b": trueBGNBD.B} {
		got, se := bg.Params[k], bg.StdErr[k]
		if math.Abs(got-want) > 3*se {
			t.Errorf("BG/NBD %s = %.4g ± %.3g, generated with %.4g", k, got, se, want)
		}
	}
	for k, want := range map[string]float64{"r": trueBGNBD.R, "alpha": trueBGNBD.Alpha} {
		if got := bg.Params[k]; math.Abs(got-want) > 0.25*want {
			t.Errorf("BG/NBD %s = %.4g, generated with %.4g (over 25%% off)", k, got, want)
		}
	}
	sp := day.Model.Spend
	t.Logf("spend %s: %v ± %v; direct p=%.4g q=%.4g gamma=%.4g; true p=%g q=%g gamma=%g (×100)", sp.Model, sp.Params, sp.StdErr, gg.P, gg.Q, gg.Gamma, trueGG.P, trueGG.Q, trueGG.Gamma)
	for k, want := range map[string]float64{"p": gg.P, "q": gg.Q, "gamma": gg.Gamma} {
		// The job rounds each mean repeat spend to 4 significant digits.
		if got := sp.Params[k]; math.Abs(got-want) > 5e-3*math.Abs(want) {
			t.Errorf("Gamma-Gamma %s = %.6g, direct fit %.6g", k, got, want)
		}
	}
	if got, want := sp.Params["p"]*sp.Params["gamma"]/(sp.Params["q"]-1)/100, trueGG.P*trueGG.Gamma/(trueGG.Q-1); math.Abs(got-want) > 0.1*want {
		t.Errorf("mean repeat spend %.2f EUR, generated with %.2f", got, want)
	}

	// KPIs against the simulated customers.
	var repeaters, paid, spend int64
	for _, id := range big.ids {
		for _, o := range big.orders[id] {
			paid++
			spend += o.Total
		}
	}
	for _, c := range big.customers {
		if c.X > 0 {
			repeaters++
		}
	}
	if day.Customers != n || day.RepeatCustomers != repeaters || day.PaidOrders != paid || day.HistoricCLVTotal != spend || day.Prospects != 0 {
		t.Errorf("KPIs: customers %d, repeat %d, paid orders %d, spend %d; want %d, %d, %d, %d",
			day.Customers, day.RepeatCustomers, day.PaidOrders, day.HistoricCLVTotal, n, repeaters, paid, spend)
	}
	// P(alive) mass with the chosen model equals the scores' sum.
	var sumAlive float64
	var after *scores.Pos
	var listed int
	for {
		page, next, err := ls.st.Scores(ctx, sh, scores.Filter{}, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page {
			sumAlive += s.PAlive
		}
		listed += len(page)
		if next == nil {
			break
		}
		after = next
	}
	if listed != n || math.Abs(sumAlive-day.ActiveCustomers) > 1e-6*float64(n) {
		t.Errorf("%d scores with Σ p_alive %.4f; the KPI item says %.4f", listed, sumAlive, day.ActiveCustomers)
	}
	if day.Model.Name == scoringBGNBD {
		var want float64
		for _, c := range big.customers {
			want += bg2(direct).PAlive(c.X, c.Tx, c.T)
		}
		if math.Abs(want-day.ActiveCustomers) > 1e-3*want {
			t.Errorf("Σ P(alive) %.3f, shared/clv directly %.3f", day.ActiveCustomers, want)
		}
	}
	t.Logf("KPIs: churn rate %.3f, repeat rate %.3f, active %.1f (%d above the threshold), AOV %.0f, top 20%% share %.3f, segments %v, bands %v",
		day.ChurnRate, day.RepeatPurchaseRate, day.ActiveCustomers, day.ActiveCustomersCount, day.AverageOrderValue, day.Top20RevenueShare, day.Segments, day.Bands)

	allScores := func() []scores.Score {
		t.Helper()
		var all []scores.Score
		var after *scores.Pos
		for {
			page, next, err := ls.st.Scores(ctx, sh, scores.Filter{}, after, 1000)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if next == nil {
				return all
			}
			after = next
		}
	}
	first, firstScores := string(days[0].Data), allScores()

	// The same night again, forced: the steady state of a night where
	// nothing moved. No score is written.
	if _, err := planner.Invoke(ctx, readEvent(t, "scheduler/nightly-rerun-one-shop.json")); err != nil {
		t.Fatal(err)
	}
	poll(worker.Work)
	run, err = ls.st.Run(ctx, sh.ID, asOf)
	if err != nil || !run.Done || run.Attempt != 2 {
		t.Fatalf("re-run %+v, %v", run, err)
	}
	reportCapacity(t, "same night again", run)
	if w := run.Usage[scores.StageScore].BilledWriteUnits; w > 2*float64(sh.Shards) {
		t.Errorf("the re-run's score stage billed %.1f write units: scores were rewritten", w)
	}

	// And again, with every message sent twice, a poison message on the
	// queue and the worker killed twice mid-batch.
	dup := dupQueue{q}
	planner2 := lambda.NewHandler((&nightly.Planner{Store: ls.st, Queue: dup}).Plan)
	worker2 := &stages.Worker{Store: ls.st, Queue: dup}
	if _, err := ls.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(ls.workURL), MessageBody: aws.String(`{"kind":"map","shop_id":`)}); err != nil {
		t.Fatal(err)
	}
	out, err = planner2.Invoke(ctx, readEvent(t, "scheduler/nightly-rerun-one-shop.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("forced re-run with duplicates and kills: %s", out)
	for _, killAfter := range []int64{5, 12} {
		var handled atomic.Int64
		kctx, kill := context.WithCancel(ctx)
		p := &sqslocal.Poller{Client: ls.sqs, QueueURL: ls.workURL, Handler: func(c context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			if handled.Add(int64(len(ev.Records))) > killAfter {
				kill() // mid-batch: this batch is not deleted
				<-c.Done()
				return events.SQSEventResponse{}, c.Err()
			}
			return worker2.Work(c, ev)
		}}
		if _, err := p.Run(kctx); err == nil {
			t.Fatalf("the poller was not killed after %d messages", killAfter)
		}
		kill()
	}
	ps = poll(worker2.Work)
	run, err = ls.st.Run(ctx, sh.ID, asOf)
	if err != nil || !run.Done || run.Attempt != 3 {
		t.Fatalf("re-run %+v, %v", run, err)
	}
	reportCapacity(t, "killed, duplicated re-run", run)
	days, err = ls.st.Days(ctx, sh, 5)
	if err != nil || len(days) != 1 || string(days[0].Data) != first {
		t.Fatalf("the re-run's KPI item differs:\n%s\n%s", days[0].Data, first)
	}
	if !reflect.DeepEqual(allScores(), firstScores) {
		t.Error("the re-runs changed the scores")
	}
	dead, err := ls.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(ls.dlURL), MaxNumberOfMessages: 10})
	if err != nil || len(dead.Messages) != 1 || aws.ToString(dead.Messages[0].Body) != `{"kind":"map","shop_id":` {
		t.Fatalf("dead-letter queue: %d messages, %v; want the poison one", len(dead.Messages), err)
	}
}

const scoringBGNBD = "bgnbd"

func bg2(m clv.BGNBD) clv.TransactionModel { return m }

// reportCapacity logs a run's capacity per customer and stage, and checks
// the targets: at most one read unit per customer and night.
func reportCapacity(t *testing.T, what string, run scores.Run) {
	t.Helper()
	n := float64(run.Customers())
	var total capacity.Usage
	for _, st := range scores.Stages {
		u := run.Usage[st]
		total.Add(u)
		t.Logf("%s, %-6s: %5d round trips; per customer: consumed %.4f RCU %.4f WCU, billed %.4f RCU %.4f WCU",
			what, st, u.RoundTrips, u.ReadUnits/n, u.WriteUnits/n, u.BilledReadUnits/n, u.BilledWriteUnits/n)
	}
	t.Logf("%s, total : %5d round trips; per customer: consumed %.4f RCU %.4f WCU, billed %.4f RCU %.4f WCU",
		what, total.RoundTrips, total.ReadUnits/n, total.WriteUnits/n, total.BilledReadUnits/n, total.BilledWriteUnits/n)
	if total.BilledReadUnits/n > 1 || total.ReadUnits/n > 1 {
		t.Errorf("%s: more than one read unit per customer", what)
	}
	b, _ := json.Marshal(run.Usage)
	t.Logf("%s usage: %s", what, b)
}

// postOrders sends orders as one POST /v1/orders batch through the API's
// Lambda entry point and returns how many were created.
func postOrders(ctx context.Context, h lambda.Handler, apiKey string, os []order.Order) (int, error) {
	type item struct {
		OrderID  string            `json:"order_id"`
		Customer map[string]string `json:"customer"`
		Created  string            `json:"created_at"`
		Currency string            `json:"currency"`
		Total    string            `json:"total"`
		Status   string            `json:"status"`
	}
	var batch struct {
		Orders []item `json:"orders"`
	}
	for _, o := range os {
		exp, _ := order.Exponent(o.Currency)
		batch.Orders = append(batch.Orders, item{OrderID: o.ID, Customer: map[string]string{"id": o.Customer.ID},
			Created: o.CreatedAt.Format(time.RFC3339), Currency: o.Currency, Total: order.FormatAmount(o.Total, exp), Status: string(o.Status)})
	}
	body, err := json.Marshal(batch)
	if err != nil {
		return 0, err
	}
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/v1/orders",
		Headers: map[string]string{"authorization": "Bearer " + apiKey, "content-type": "application/json"}, Body: string(body)}
	ev.RequestContext.HTTP.Method = "POST"
	payload, _ := json.Marshal(ev)
	out, err := h.Invoke(ctx, payload)
	if err != nil {
		return 0, err
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return 0, err
	}
	var br struct {
		Counts map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &br); err != nil || resp.StatusCode >= 300 {
		return 0, fmt.Errorf("POST /v1/orders: %d %.300s", resp.StatusCode, resp.Body)
	}
	return br.Counts["created"], nil
}
