package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/internal/sqslocal"
	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/nightly"
	"github.com/winback/winback/shared/nightly/stages"
	"github.com/winback/winback/shared/queue"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/scoring"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// The local work queue. Its visibility timeout is shorter than the
// deployed queue's 30 minutes (6× the worker's timeout), so that a failed
// message comes back within minutes; a shard of a local shop is handled in
// seconds.
const (
	localVisibilitySeconds = 120
	localMaxReceiveCount   = 5
)

const nightlyHelp = `Runs the nightly scoring job on the local stack (make stack), as AWS runs
it: the planner (functions/nightly's handler) is invoked with a scheduled
event and sends map messages to the work queue; the worker
(functions/score's handler) gets the queue's messages in batches through a
local event source mapping (internal/sqslocal) until the queue is drained.
The work queue and its dead-letter queue (<table>-work, <table>-work-dlq)
are created on the SQS emulator when missing.

Progress goes to stderr every few seconds; the summary per shop (model,
KPIs, capacity units per customer) to stdout. Interrupted, a run resumes
where it stopped when started again with the same --as-of.

Environment: WINBACK_TABLE, DYNAMODB_ENDPOINT (default http://127.0.0.1:8000),
SQS_ENDPOINT (default http://127.0.0.1:8010).
`

// nightlyCommand is "winback nightly".
func nightlyCommand(fs *flag.FlagSet) action {
	shopID := fs.String("shop", "", "score only this shop (default: every shop)")
	asOf := fs.String("as-of", "", "score as of this day, YYYY-MM-DD (default: each shop's yesterday in its time zone)")
	force := fs.Bool("force", false, "score a day again that is already done")
	concurrency := fs.Int("concurrency", 2, "worker invocations at once (the event source mapping's maximum concurrency)")
	every := fs.Duration("progress", 3*time.Second, "interval between progress lines")
	return func(ctx context.Context, stdout io.Writer) error {
		if *asOf != "" {
			if _, err := time.Parse(time.DateOnly, *asOf); err != nil {
				return usageErrorf("--as-of %q is not a YYYY-MM-DD day", *asOf)
			}
		}
		if *concurrency < 1 || *concurrency > 64 {
			return usageErrorf("--concurrency %d: want 1..64", *concurrency)
		}
		if *every <= 0 {
			return usageErrorf("--progress %v: want a positive duration", *every)
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		return runNightly(ctx, nightlyOptions{
			Request:     nightly.Request{ShopID: *shopID, AsOf: *asOf, Force: *force},
			Concurrency: *concurrency,
			Every:       *every,
		}, stdout, os.Stderr)
	}
}

type nightlyOptions struct {
	Request     nightly.Request
	Concurrency int
	Every       time.Duration
	// Logs, when set, gets every log line of the handlers (JSON, all
	// levels); otherwise warnings and errors go to the progress writer.
	Logs io.Writer
}

// runNightly plans the night through the planner's handler, works the
// queue through the worker's handler, and prints the summary.
func runNightly(ctx context.Context, o nightlyOptions, stdout, progress io.Writer) error {
	if localenv.SQSEndpoint() == "" {
		return errors.New("SQS_ENDPOINT is empty: this command runs the job on the local SQS emulator (in AWS the schedule runs it)")
	}
	st, err := localenv.Store(ctx)
	if err != nil {
		return err
	}
	sqsc, err := localenv.SQS(ctx)
	if err != nil {
		return err
	}
	if o.Request.ShopID != "" {
		if _, err := st.Shop(ctx, o.Request.ShopID); err != nil {
			return fmt.Errorf("shop %s: %w", o.Request.ShopID, err)
		}
	}
	workURL, dlqURL, err := ensureWorkQueues(ctx, sqsc, localenv.Table()+"-work")
	if err != nil {
		return err
	}
	// The handlers log JSON as in Lambda; here only what went wrong.
	logs := handlerLog(o.Logs, progress)
	q := queue.New(sqsc, workURL)
	planner := &nightly.Planner{Store: st, Queue: q, Log: logs}
	worker := &stages.Worker{Store: st, Queue: q, Log: logs}

	t0 := time.Now()
	fmt.Fprintf(progress, "nightly: table %s at %s, work queue %s\n", localenv.Table(), localenv.DynamoDBEndpoint(), workURL)
	plan, planErr := invokePlanner(ctx, planner, o.Request, t0)
	if planErr != nil {
		fmt.Fprintf(progress, "nightly: the planner failed: %v\n", planErr)
	}
	shops, err := plannedShops(ctx, st, plan, o.Request, t0)
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "nightly: planned %d shop(s), %d map message(s) sent in %s\n",
		len(shops), plan.Messages, time.Since(t0).Round(time.Millisecond))

	pr := newProgress(st, sqsc, workURL, shops, progress)
	stopProgress := pr.every(ctx, o.Every)
	poller := &sqslocal.Poller{
		Client: sqsc, QueueURL: workURL, Handler: worker.Work,
		BatchSize: 1, Concurrency: o.Concurrency, Region: emulator.Region,
	}
	stats, runErr := poller.Run(ctx)
	stopProgress()
	pr.final = true
	pr.tick(context.WithoutCancel(ctx)) // the final state, unless just printed
	fmt.Fprintf(progress, "nightly: worker: %d invocations, %d messages (%d failed and retried) in %s\n",
		stats.Batches, stats.Messages, stats.Failed, time.Since(t0).Round(time.Millisecond))
	if runErr != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: run again with the same --as-of to resume (messages in flight come back within %d s)", localVisibilitySeconds)
		}
		return runErr
	}

	sumErr := printNightlySummary(context.WithoutCancel(ctx), st, shops, time.Since(t0), stdout)
	dead, err := queueDepth(ctx, sqsc, dlqURL)
	if err != nil {
		return err
	}
	if dead > 0 {
		fmt.Fprintf(progress, "nightly: %d message(s) in the dead-letter queue %s (failed %d times; see the errors above)\n",
			dead, dlqURL, localMaxReceiveCount)
	}
	return errors.Join(planErr, sumErr, nonZero(dead, "message(s) in the dead-letter queue"))
}

func nonZero(n int, what string) error {
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%d %s", n, what)
}

// ensureWorkQueues returns the URLs of the work queue name and its
// dead-letter queue name+"-dlq", creating them when missing, with the
// redrive policy.
func ensureWorkQueues(ctx context.Context, c *sqs.Client, name string) (workURL, dlqURL string, err error) {
	where := localenv.SQSEndpoint()
	create := func(name string, attrs map[string]string) (string, error) {
		got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err == nil {
			return aws.ToString(got.QueueUrl), nil
		}
		var missing *sqstypes.QueueDoesNotExist
		if !errors.As(err, &missing) {
			return "", fmt.Errorf("queue %s at %s (is the local stack up? make stack): %w", name, where, err)
		}
		out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			return "", fmt.Errorf("create queue %s at %s: %w", name, where, err)
		}
		return aws.ToString(out.QueueUrl), nil
	}
	if dlqURL, err = create(name+"-dlq", map[string]string{"MessageRetentionPeriod": strconv.Itoa(14 * 24 * 3600)}); err != nil {
		return "", "", err
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(dlqURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", fmt.Errorf("queue %s: %w", dlqURL, err)
	}
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`,
		attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], localMaxReceiveCount)
	workAttrs := map[string]string{
		"VisibilityTimeout": strconv.Itoa(localVisibilitySeconds),
		"RedrivePolicy":     redrive,
	}
	if workURL, err = create(name, workAttrs); err != nil {
		return "", "", err
	}
	// A queue made by hand, or by an older version, gets the same settings.
	if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(workURL), Attributes: workAttrs}); err != nil {
		return "", "", fmt.Errorf("set attributes of %s: %w", workURL, err)
	}
	return workURL, dlqURL, nil
}

// invokePlanner invokes the planner's handler as the scheduler does: a
// scheduled event, through the Lambda runtime's entry point.
func invokePlanner(ctx context.Context, p *nightly.Planner, req nightly.Request, now time.Time) (nightly.PlanResult, error) {
	id := make([]byte, 8)
	rand.Read(id)
	ev := nightly.PlanEvent{
		Version: "0", ID: hex.EncodeToString(id), DetailType: "Scheduled Event", Source: "aws.scheduler",
		Account: "000000000000", Time: now.UTC().Format(time.RFC3339), Region: emulator.Region,
		Resources: []string{"arn:aws:scheduler:" + emulator.Region + ":000000000000:schedule/default/winback-nightly"},
		Detail:    req,
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return nightly.PlanResult{}, err
	}
	out, err := lambda.NewHandler(p.Plan).Invoke(ctx, payload)
	if err != nil {
		return nightly.PlanResult{}, err
	}
	var res nightly.PlanResult
	if err := json.Unmarshal(out, &res); err != nil {
		return nightly.PlanResult{}, fmt.Errorf("planner response %s: %w", out, err)
	}
	return res, nil
}

// plannedShop is a shop the night covers, with its as-of day.
type plannedShop struct {
	Shop   shop.Shop
	AsOf   string
	Action string
}

// plannedShops lists the shops of the night: the planner's answer, or,
// when the planner failed (the answer is then lost, as in Lambda), the
// shops it was asked for with the as-of day it would have chosen.
func plannedShops(ctx context.Context, st *store.Store, plan nightly.PlanResult, req nightly.Request, now time.Time) ([]plannedShop, error) {
	type entry struct{ id, asOf, action string }
	var entries []entry
	if len(plan.Shops) > 0 {
		for _, p := range plan.Shops {
			entries = append(entries, entry{p.ShopID, p.AsOf, p.Action})
		}
	} else {
		ids := []string{req.ShopID}
		if req.ShopID == "" {
			var err error
			if ids, err = st.ShopIDs(ctx); err != nil {
				return nil, err
			}
		}
		for _, id := range ids {
			entries = append(entries, entry{id, req.AsOf, "unknown"})
		}
	}
	out := make([]plannedShop, 0, len(entries))
	for _, e := range entries {
		sh, err := st.Shop(ctx, e.id)
		if err != nil {
			return nil, fmt.Errorf("shop %s: %w", e.id, err)
		}
		if e.asOf == "" {
			e.asOf = nightly.AsOf(sh, now)
		}
		out = append(out, plannedShop{Shop: sh, AsOf: e.asOf, Action: e.action})
	}
	return out, nil
}

// progress reads the shops' run items while the worker runs and prints,
// every few seconds, where the night stands: shops done, shards per
// stage, customers scored, rate and time left, and the same for each
// large shop still running. It reads at most progressReads runs a tick.
type progress struct {
	st    *store.Store
	sqs   *sqs.Client
	url   string
	out   io.Writer
	shops []plannedShop
	t0    time.Time

	mu        sync.Mutex
	runs      map[string]scores.Run // latest read, by shop id
	next      int                   // round-robin position among unfinished shops
	first     map[string]time.Time  // when a shop's first scored shard was seen
	lastState string
	final     bool // print only what changed since the last report
}

const (
	progressReads  = 25
	largeShop      = 5000 // customers: progress per shop from this size
	largeShopLines = 3
)

func newProgress(st *store.Store, c *sqs.Client, url string, shops []plannedShop, out io.Writer) *progress {
	return &progress{st: st, sqs: c, url: url, out: out, shops: shops, t0: time.Now(),
		runs: map[string]scores.Run{}, first: map[string]time.Time{}}
}

// every prints progress every d until the returned stop is called.
func (p *progress) every(ctx context.Context, d time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.tick(ctx)
			}
		}
	}()
	return func() { cancel(); <-done }
}

func finished(r scores.Run) bool { return r.Done || r.Failed != "" }

// tick reads some unfinished runs and prints one progress report.
func (p *progress) tick(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var open []plannedShop
	for _, s := range p.shops {
		if r, ok := p.runs[s.Shop.ID]; !ok || !finished(r) {
			open = append(open, s)
		}
	}
	for i := 0; i < min(len(open), progressReads); i++ {
		s := open[(p.next+i)%len(open)]
		r, err := p.st.Run(ctx, s.Shop.ID, s.AsOf)
		if err != nil {
			continue // not begun (the planner failed for it) or a read error: next tick
		}
		if len(r.Scored) > 0 && p.first[s.Shop.ID].IsZero() {
			p.first[s.Shop.ID] = time.Now()
		}
		p.runs[s.Shop.ID] = r
	}
	if len(open) > 0 {
		p.next = (p.next + progressReads) % len(open)
	}

	var done, shards, mapped, scored int
	var customers, scoredCustomers int64
	type big struct {
		id  string
		run scores.Run
	}
	var bigs []big
	for _, s := range p.shops {
		r, ok := p.runs[s.Shop.ID]
		if !ok {
			shards += s.Shop.Shards
			continue
		}
		if finished(r) {
			done++
		}
		shards += r.Shards
		mapped += len(r.Mapped)
		scored += len(r.Scored)
		customers += r.Customers()
		scoredCustomers += scoredOf(r)
		if !finished(r) && r.Customers() >= largeShop {
			bigs = append(bigs, big{s.Shop.ID, r})
		}
	}
	elapsed := time.Since(p.t0)
	line := fmt.Sprintf("[%s] shops %d/%d done · map %d/%d shards · score %d/%d shards · %s of %s customers scored",
		fmtDur(elapsed), done, len(p.shops), mapped, shards, scored, shards, thousands(scoredCustomers), thousands(customers))
	if scoredCustomers > 0 {
		rate := float64(scoredCustomers) / elapsed.Seconds()
		line += fmt.Sprintf(" · %s/s overall", thousands(int64(rate)))
	}
	if visible, inFlight, err := queueCounts(ctx, p.sqs, p.url); err == nil {
		line += fmt.Sprintf(" · queue %d waiting, %d in flight", visible, inFlight)
	}
	// Every tick prints, even when nothing moved (a silent run looks
	// hung); the final report only when it has news.
	state := fmt.Sprint(done, mapped, scored, customers, scoredCustomers)
	if p.final && state == p.lastState {
		return
	}
	p.lastState = state
	fmt.Fprintln(p.out, line)
	sort.Slice(bigs, func(i, j int) bool { return bigs[i].run.Customers() > bigs[j].run.Customers() })
	for i, b := range bigs {
		if i == largeShopLines {
			fmt.Fprintf(p.out, "    … %d more large shop(s) running\n", len(bigs)-i)
			break
		}
		fmt.Fprintln(p.out, "    "+p.shopLine(b.id, b.run))
	}
}

// scoredOf is the customers of a run's scored shards.
func scoredOf(r scores.Run) int64 {
	var n int64
	for _, ref := range r.Scored {
		n += ref.Customers
	}
	return n
}

// shopLine is one large shop's progress: its stage, shards, customers,
// rate and time left.
func (p *progress) shopLine(id string, r scores.Run) string {
	switch {
	case !r.AllMapped():
		return fmt.Sprintf("%s: map %d/%d shards, %s customers read", id, len(r.Mapped), r.Shards, thousands(r.Customers()))
	case r.Model == nil:
		return fmt.Sprintf("%s: fit on %s customers", id, thousands(r.Customers()))
	case !r.AllScored():
		s := fmt.Sprintf("%s: score %d/%d shards, %s/%s customers", id, len(r.Scored), r.Shards, thousands(scoredOf(r)), thousands(r.Customers()))
		if first := p.first[id]; !first.IsZero() && scoredOf(r) > 0 {
			// The rate from the run's start (map and fit included), so that
			// the time left is not optimistic.
			secs := time.Since(r.StartedAt).Seconds()
			if r.StartedAt.IsZero() || secs <= 0 {
				secs = time.Since(p.t0).Seconds()
			}
			rate := float64(scoredOf(r)) / secs
			left := time.Duration(float64(r.Customers()-scoredOf(r)) / rate * float64(time.Second))
			s += fmt.Sprintf(", %s/s, ~%s left", thousands(int64(rate)), fmtDur(left))
		}
		return s
	default:
		return fmt.Sprintf("%s: finish", id)
	}
}

// printNightlySummary prints each shop's night: model and why, customers,
// KPIs and capacity units per customer; the largest shops first, at most
// summaryShops of them, then the totals.
func printNightlySummary(ctx context.Context, st *store.Store, shops []plannedShop, took time.Duration, w io.Writer) error {
	const summaryShops = 20
	type result struct {
		ps  plannedShop
		run scores.Run
		day *scoring.Day
		err error
	}
	results := make([]result, 0, len(shops))
	for _, ps := range shops {
		r := result{ps: ps}
		r.run, r.err = st.Run(ctx, ps.Shop.ID, ps.AsOf)
		if r.err == nil && r.run.Done && r.run.Failed == "" {
			r.day, r.err = dayOf(ctx, st, ps.Shop, ps.AsOf)
		}
		results = append(results, r)
	}
	sort.SliceStable(results, func(i, j int) bool { return results[i].run.Customers() > results[j].run.Customers() })

	var total capacity.Usage
	var summaries, customers int64
	var done, failed int
	var errs []error
	for i, r := range results {
		u := runUsage(r.run)
		total.Add(u)
		n := r.run.Customers()
		var prospects int64
		if r.day != nil {
			n, prospects = r.day.Customers, r.day.Prospects
		}
		summaries += n + prospects
		customers += n
		switch {
		case r.err != nil:
			failed++
			errs = append(errs, fmt.Errorf("shop %s: %w", r.ps.Shop.ID, r.err))
		case r.run.Failed != "":
			failed++
		case r.run.Done:
			done++
		default:
			failed++
			errs = append(errs, fmt.Errorf("shop %s: run of %s not finished", r.ps.Shop.ID, r.ps.AsOf))
		}
		if i >= summaryShops {
			continue
		}
		name := r.ps.Shop.ID
		if r.ps.Shop.Name != "" {
			name += " (" + r.ps.Shop.Name + ")"
		}
		fmt.Fprintf(w, "%s as of %s", name, r.ps.AsOf)
		switch {
		case r.err != nil:
			fmt.Fprintf(w, ": %v\n\n", r.err)
			continue
		case r.run.Failed != "":
			fmt.Fprintf(w, ": no report (%s)\n\n", r.run.Failed)
			continue
		case !r.run.Done:
			fmt.Fprintf(w, ": not finished (%d/%d shards mapped, %d/%d scored)\n\n", len(r.run.Mapped), r.run.Shards, len(r.run.Scored), r.run.Shards)
			continue
		}
		d := r.day
		fmt.Fprintf(w, " · %s · attempt %d · %s customers + %s prospects · %d shards · %s\n",
			r.ps.Action, r.run.Attempt, thousands(d.Customers), thousands(d.Prospects), r.run.Shards,
			fmtDur(r.run.FinishedAt.Sub(r.run.StartedAt)))
		fmt.Fprintf(w, "  model     %s: %s\n", d.Model.Name, d.Model.Reason)
		threshold := d.Model.Config.ActiveThreshold
		fmt.Fprintf(w, "  KPIs      churn_rate %.3f · repeat_purchase_rate %.3f · active customers %s expected, %s with P(alive) ≥ %g\n",
			d.ChurnRate, d.RepeatPurchaseRate, thousands(int64(d.ActiveCustomers+0.5)), thousands(d.ActiveCustomersCount), threshold)
		fmt.Fprintf(w, "  capacity  %s per customer\n\n", perCustomer(u, d.Customers+d.Prospects))
	}
	if len(results) > summaryShops {
		fmt.Fprintf(w, "… and %d smaller shop(s)\n\n", len(results)-summaryShops)
	}
	fmt.Fprintf(w, "night: %d shop(s) done, %d without a report · %s customers · %s · %s per customer\n",
		done, failed, thousands(customers), fmtDur(took), perCustomer(total, summaries))
	return errors.Join(errs...)
}

// runUsage is what a run cost, all stages together.
func runUsage(r scores.Run) capacity.Usage {
	var u capacity.Usage
	for _, s := range scores.Stages {
		u.Add(r.Usage[s])
	}
	return u
}

// perCustomer is capacity per stored customer summary: as AWS bills it
// (on-demand rules applied to item sizes) and as DynamoDB Local reported it.
func perCustomer(u capacity.Usage, n int64) string {
	if n == 0 {
		return "n/a"
	}
	f := float64(n)
	return fmt.Sprintf("%.3f RRU + %.3f WRU billed (Local reported %.3f + %.3f), %.4f round trips",
		u.BilledReadUnits/f, u.BilledWriteUnits/f, u.ReadUnits/f, u.WriteUnits/f, float64(u.RoundTrips)/f)
}

// dayOf reads the shop's KPIs of one day: the latest day, else from the
// history.
func dayOf(ctx context.Context, st *store.Store, sh shop.Shop, asOf string) (*scoring.Day, error) {
	for _, n := range []int{1, 366} {
		days, err := st.Days(ctx, sh, n)
		if err != nil {
			return nil, err
		}
		for _, d := range days {
			if d.AsOf == asOf {
				day, err := stages.DayOf(d)
				return &day, err
			}
		}
	}
	return nil, fmt.Errorf("no KPIs stored for %s", asOf)
}

func queueCounts(ctx context.Context, c *sqs.Client, url string) (visible, inFlight int, err error) {
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, 0, err
	}
	visible, _ = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, _ = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	// The emulator counts in-flight messages in ApproximateNumberOfMessages too.
	return max(visible-inFlight, 0), inFlight, nil
}

func queueDepth(ctx context.Context, c *sqs.Client, url string) (int, error) {
	v, f, err := queueCounts(ctx, c, url)
	if err != nil {
		return 0, fmt.Errorf("depth of %s: %w", url, err)
	}
	return v + f, nil
}

// thousands formats n with thousands separators: 20,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtDur is d rounded for people: 850ms, 12.3s, 4m05s.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
}
