package stages_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/nightly"
	"github.com/winback/winback/shared/nightly/stages"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store/memstore"
)

var (
	_ stages.Store      = (*memstore.Store)(nil)
	_ nightly.PlanStore = (*memstore.Store)(nil)
)

// jobs is both Lambdas of the nightly job.
type jobs struct {
	*nightly.Planner
	*stages.Worker
}

// fakeQueue is the work queue as SQS would hold it: delivered in order,
// failures at the back, a message failing maxReceives times dead-lettered.
type fakeQueue struct {
	mu     sync.Mutex
	queued []queued
	dead   []string
	sent   int
	// dup sends every message twice.
	dup bool
	seq int
}

type queued struct {
	id       string
	body     string
	receives int
}

const maxReceives = 3

func (q *fakeQueue) Send(ctx context.Context, bodies []string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, b := range bodies {
		for range 1 + boolInt(q.dup) {
			q.seq++
			q.queued = append(q.queued, queued{id: "m-" + strconv.Itoa(q.seq), body: b})
			q.sent++
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// deliver hands up to 10 messages to work as one SQS batch and requeues
// the failures; it reports whether there was anything to deliver.
func (q *fakeQueue) deliver(t testing.TB, work func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)) bool {
	t.Helper()
	q.mu.Lock()
	batch := q.queued[:min(10, len(q.queued))]
	q.queued = slices.Clone(q.queued[len(batch):])
	q.mu.Unlock()
	if len(batch) == 0 {
		return false
	}
	ev := events.SQSEvent{}
	for i := range batch {
		batch[i].receives++
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: batch[i].id, Body: batch[i].body, EventSource: "aws:sqs",
			Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(batch[i].receives)},
		})
	}
	resp, err := work(context.Background(), ev)
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range batch {
		if err == nil && !failed[m.id] {
			continue
		}
		if m.receives >= maxReceives {
			q.dead = append(q.dead, m.body)
		} else {
			q.queued = append(q.queued, m)
		}
	}
	return true
}

// drain delivers until the queue is empty.
func (q *fakeQueue) drain(t testing.TB, j jobs) {
	t.Helper()
	for i := 0; q.deliver(t, j.Work); i++ {
		if i > 10000 {
			t.Fatal("the queue does not drain")
		}
	}
}

// faultStore fails the n-th call (counting from 1) to a write method of
// the nightly port, as a crash or a throttle at that point would, and
// counts the score items written.
type faultStore struct {
	*memstore.Store
	mu      sync.Mutex
	calls   int
	failAt  int
	written int
}

var errInjected = errors.New("injected failure")

func (f *faultStore) step() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls == f.failAt {
		return errInjected
	}
	return nil
}

func (f *faultStore) PutResult(ctx context.Context, shopID, day string, kind scores.Kind, shard int, data []byte, customers int64) (scores.Ref, capacity.Usage, error) {
	if err := f.step(); err != nil {
		return scores.Ref{}, capacity.Usage{}, err
	}
	return f.Store.PutResult(ctx, shopID, day, kind, shard, data, customers)
}

func (f *faultStore) MarkRun(ctx context.Context, shopID, day string, m scores.Mark) (scores.Run, capacity.Usage, error) {
	if err := f.step(); err != nil {
		return scores.Run{}, capacity.Usage{}, err
	}
	return f.Store.MarkRun(ctx, shopID, day, m)
}

func (f *faultStore) PutScores(ctx context.Context, sh shop.Shop, n int, put []scores.Score, del []string) (capacity.Usage, error) {
	if err := f.step(); err != nil {
		return capacity.Usage{}, err
	}
	f.mu.Lock()
	f.written += len(put) + len(del)
	f.mu.Unlock()
	return f.Store.PutScores(ctx, sh, n, put, del)
}

func (f *faultStore) PutDay(ctx context.Context, shopID string, d scores.Day) (capacity.Usage, error) {
	if err := f.step(); err != nil {
		return capacity.Usage{}, err
	}
	return f.Store.PutDay(ctx, shopID, d)
}

// fixture is a memstore with one simulated shop.
type fixture struct {
	st *faultStore
	sh shop.Shop
	q  *fakeQueue
	j  jobs
}

const asOf = "2025-04-30"

// now is the morning after asOf in Berlin.
var now = time.Date(2025, 5, 1, 3, 0, 0, 0, time.UTC)

var (
	simOnce sync.Once
	sim     simShop
)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	loc, _ := time.LoadLocation("Europe/Berlin")
	simOnce.Do(func() { sim = simulate(600, 42, asOf, loc) })
	ms := memstore.New()
	sh := shop.Shop{ID: "shop_sim", Name: "Sim", Currency: "EUR", Timezone: "Europe/Berlin", Shards: 4, CreatedAt: now}
	if err := ms.CreateShop(context.Background(), sh, shop.NewCredentials()); err != nil {
		t.Fatal(err)
	}
	sim.putAll(t, func(sh shop.Shop, os []order.Order) error {
		_, _, err := ms.PutOrders(context.Background(), sh, os, "")
		return err
	}, sh)
	f := &fixture{st: &faultStore{Store: ms}, sh: sh, q: &fakeQueue{}}
	f.j = jobs{
		Planner: &nightly.Planner{Store: f.st, Queue: f.q, Now: func() time.Time { return now }},
		Worker:  &stages.Worker{Store: f.st, Queue: f.q, Now: func() time.Time { return now }, Workers: 1},
	}
	return f
}

func (f *fixture) plan(t testing.TB, req nightly.Request) nightly.PlanResult {
	t.Helper()
	res, err := f.j.Plan(context.Background(), nightly.PlanEvent{Detail: req})
	if err != nil {
		t.Fatalf("Plan(%+v): %v", req, err)
	}
	return res
}

// outcome is what a night leaves: the KPI item and every score.
type outcome struct {
	day    string
	scores []scores.Score
	run    scores.Run
}

func (f *fixture) outcome(t testing.TB) outcome {
	t.Helper()
	ctx := context.Background()
	days, err := f.st.Days(ctx, f.sh, 10)
	if err != nil || len(days) != 1 {
		t.Fatalf("Days: %d, %v; want 1", len(days), err)
	}
	var all []scores.Score
	var after *scores.Pos
	for {
		page, next, err := f.st.Scores(ctx, f.sh, scores.Filter{}, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == nil {
			break
		}
		after = next
	}
	run, err := f.st.Run(ctx, f.sh.ID, asOf)
	if err != nil {
		t.Fatal(err)
	}
	return outcome{day: string(days[0].Data), scores: all, run: run}
}

var (
	cleanOnce sync.Once
	clean     outcome
)

// cleanRun is the outcome of one plain run, computed once.
func cleanRun(t testing.TB) outcome {
	t.Helper()
	cleanOnce.Do(func() {
		f := newFixture(t)
		f.plan(t, nightly.Request{})
		f.q.drain(t, f.j)
		clean = f.outcome(t)
	})
	if clean.day == "" {
		t.Fatal("the clean run failed")
	}
	return clean
}

func sameOutcome(t testing.TB, got, want outcome) {
	t.Helper()
	if got.day != want.day {
		t.Errorf("KPI item differs from a clean run's:\n got %s\nwant %s", got.day, want.day)
	}
	if !reflect.DeepEqual(got.scores, want.scores) {
		t.Errorf("%d scores, want %d equal to a clean run's", len(got.scores), len(want.scores))
	}
	if !got.run.Done || got.run.Failed != "" {
		t.Errorf("run done %v, failed %q", got.run.Done, got.run.Failed)
	}
}

func TestCleanRun(t *testing.T) {
	out := cleanRun(t)
	if len(out.scores) != len(sim.ids) {
		t.Fatalf("%d scores, want one per customer (%d)", len(out.scores), len(sim.ids))
	}
	var day struct {
		AsOf      string `json:"as_of"`
		Customers int    `json:"customers"`
	}
	if err := json.Unmarshal([]byte(out.day), &day); err != nil || day.AsOf != asOf || day.Customers != len(sim.ids) {
		t.Fatalf("day %+v, %v; want %s with %d customers", day, err, asOf, len(sim.ids))
	}
	if out.run.Attempt != 1 || len(out.run.Mapped) != 4 || len(out.run.Scored) != 4 || out.run.Customers() != int64(len(sim.ids)) {
		t.Fatalf("run %+v", out.run)
	}
	for _, st := range []scores.Stage{scores.StageMap, scores.StageFit, scores.StageScore, scores.StageFinish} {
		if out.run.Usage[st].RoundTrips == 0 {
			t.Errorf("stage %s recorded no usage", st)
		}
	}
}

// TestRerun: the same night again is skipped; forced, it writes no score
// (nothing moved) and the same KPI item.
func TestRerun(t *testing.T) {
	want := cleanRun(t)
	f := newFixture(t)
	f.plan(t, nightly.Request{})
	f.q.drain(t, f.j)
	first := f.outcome(t)
	sameOutcome(t, first, want)

	res := f.plan(t, nightly.Request{})
	if res.Messages != 0 || res.Shops[0].Action != nightly.ActionSkipped {
		t.Fatalf("planning a done night again: %+v, want skipped without messages", res)
	}
	written := f.st.written
	res = f.plan(t, nightly.Request{Force: true})
	if res.Shops[0].Action != nightly.ActionStarted || res.Shops[0].Attempt != 2 || res.Messages != 4 {
		t.Fatalf("forced: %+v", res)
	}
	f.q.drain(t, f.j)
	second := f.outcome(t)
	sameOutcome(t, second, want)
	if second.run.Attempt != 2 {
		t.Fatalf("attempt %d", second.run.Attempt)
	}
	if f.st.written != written {
		t.Fatalf("the forced re-run wrote %d scores, want none (nothing moved)", f.st.written-written)
	}
}

// TestDuplicateDeliveries: every message delivered twice (the copy later)
// changes nothing.
func TestDuplicateDeliveries(t *testing.T) {
	want := cleanRun(t)
	f := newFixture(t)
	f.q.dup = true
	f.plan(t, nightly.Request{})
	f.q.drain(t, f.j)
	sameOutcome(t, f.outcome(t), want)
	if len(f.q.dead) != 0 {
		t.Fatalf("dead letters: %q", f.q.dead)
	}
}

// TestFailureAtEveryStep: a failure at any write (a crash between two
// writes of a stage) is retried by redelivery, and the night ends as a
// clean one: no double counting.
func TestFailureAtEveryStep(t *testing.T) {
	want := cleanRun(t)
	// A clean run makes 4 map × 2 + 1 fit × 2 + 4 score × 3 + 1 finish × 2
	// + 1 plan = 25 write calls.
	for k := 1; k <= 26; k++ {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			f := newFixture(t)
			f.st.failAt = k
			f.q.drain(t, f.j) // nothing yet
			if _, err := f.j.Plan(context.Background(), nightly.PlanEvent{}); err != nil {
				if !errors.Is(err, errInjected) {
					t.Fatal(err)
				}
				f.plan(t, nightly.Request{}) // the schedule's retry
			}
			f.q.drain(t, f.j)
			sameOutcome(t, f.outcome(t), want)
		})
	}
}

// TestResumeAfterLosingTheQueue: the run stops after k messages and every
// queued message is lost; planning the night again resumes it.
func TestResumeAfterLosingTheQueue(t *testing.T) {
	want := cleanRun(t)
	for k := 0; k <= 10; k++ {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			f := newFixture(t)
			f.plan(t, nightly.Request{})
			for range k {
				f.q.mu.Lock()
				if len(f.q.queued) == 0 {
					f.q.mu.Unlock()
					break
				}
				m := f.q.queued[0]
				f.q.queued = f.q.queued[1:]
				f.q.mu.Unlock()
				if _, err := f.j.Work(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: m.id, Body: m.body}}}); err != nil {
					t.Fatal(err)
				}
			}
			f.q.queued = nil // lost
			res := f.plan(t, nightly.Request{})
			if a := res.Shops[0].Action; a != nightly.ActionResumed && a != nightly.ActionSkipped {
				t.Fatalf("re-plan: %+v", res)
			}
			f.q.drain(t, f.j)
			sameOutcome(t, f.outcome(t), want)
		})
	}
}

// TestPoisonMessages end in the dead-letter queue after their receives,
// without holding up the night.
func TestPoisonMessages(t *testing.T) {
	want := cleanRun(t)
	f := newFixture(t)
	poison := []string{
		`not json`,
		`{"kind":"map","shop_id":"shop_unknown","as_of":"2025-04-30","shard":0}`,
		`{"kind":"explode","shop_id":"shop_sim","as_of":"2025-04-30","shard":0}`,
		`{"kind":"map","shop_id":"shop_sim","as_of":"30/04/2025","shard":0}`,
		`{"kind":"score","shop_id":"shop_sim","as_of":"2025-04-30","shard":99}`,
		`{"kind":"map","shop_id":"shop_sim","as_of":"2025-04-30","shard":0,"extra":1}`,
		`{"kind":"fit","shop_id":"shop_sim","as_of":"2025-03-01","shard":0}`, // no such run
	}
	if err := f.q.Send(context.Background(), poison); err != nil {
		t.Fatal(err)
	}
	f.plan(t, nightly.Request{})
	f.q.drain(t, f.j)
	sameOutcome(t, f.outcome(t), want)
	slices.Sort(poison)
	slices.Sort(f.q.dead)
	if !slices.Equal(f.q.dead, poison) {
		t.Fatalf("dead letters %q, want %q", f.q.dead, poison)
	}
}

// TestStoredScoreMirrorsCustomerScore keeps scores.Score in step with
// scoring.CustomerScore: the same fields, JSON names and values.
func TestStoredScoreMirrorsCustomerScore(t *testing.T) {
	out := cleanRun(t)
	for _, s := range out.scores[:20] {
		a, _ := json.Marshal(s)
		b, _ := json.Marshal(stages.CustomerScore(s))
		if !bytes.Equal(a, b) {
			t.Fatalf("stored %s\n domain %s", a, b)
		}
		if back := stages.Stored(stages.CustomerScore(s)); back != s {
			t.Fatalf("round trip %+v, want %+v", back, s)
		}
	}
	var sc scores.Score
	st, dt := reflect.TypeOf(sc), reflect.TypeOf(stages.CustomerScore(sc))
	if st.NumField() != dt.NumField() {
		t.Fatalf("scores.Score has %d fields, scoring.CustomerScore %d", st.NumField(), dt.NumField())
	}
	for i := range st.NumField() {
		a, b := st.Field(i), dt.Field(i)
		if a.Name != b.Name || a.Tag.Get("json") != b.Tag.Get("json") || a.Type.Kind() != b.Type.Kind() {
			t.Errorf("field %d: %s %s %q, domain %s %s %q", i, a.Name, a.Type, a.Tag.Get("json"), b.Name, b.Type, b.Tag.Get("json"))
		}
	}
}
