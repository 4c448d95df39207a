// Package stages is the nightly job's worker: the map, fit, score and
// finish stages (see package nightly for the flow and its idempotency),
// run by Worker.Work from SQS batches. It links the model code (package
// scoring); package nightly, which plans, does not.
package stages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/metrics"
	"github.com/winback/winback/shared/nightly"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/scoring"
	"github.com/winback/winback/shared/shop"
)

// Store is what the stages read and write (store.Store, memstore.Store).
type Store interface {
	Shop(ctx context.Context, id string) (shop.Shop, error)
	RunUsage(ctx context.Context, shopID, day string) (scores.Run, capacity.Usage, error)
	MarkRun(ctx context.Context, shopID, day string, m scores.Mark) (scores.Run, capacity.Usage, error)
	PutResult(ctx context.Context, shopID, day string, kind scores.Kind, shard int, data []byte, customers int64) (scores.Ref, capacity.Usage, error)
	Result(ctx context.Context, shopID, day string, kind scores.Kind, shard int, ref scores.Ref) ([]byte, capacity.Usage, error)
	ScanShard(ctx context.Context, sh shop.Shop, n int, onSummary func(customer.Summary) error, onScore func(scores.Score) error) (capacity.Usage, error)
	ShardScores(ctx context.Context, sh shop.Shop, n int, onScore func(scores.Score) error) (capacity.Usage, error)
	PutScores(ctx context.Context, sh shop.Shop, n int, put []scores.Score, del []string) (capacity.Usage, error)
	PutDay(ctx context.Context, shopID string, d scores.Day) (capacity.Usage, error)
}

// Worker runs the stages; Work is the score function's Lambda handler.
type Worker struct {
	Store Store
	Queue nightly.Queue
	Log   *slog.Logger
	// Config gives a shop's scoring settings (nil: scoring.DefaultConfig).
	Config func(shop.Shop) scoring.Config
	// Now stamps the run's progress (nil: time.Now).
	Now func() time.Time
	// Workers is how many goroutines score a shard (0: GOMAXPROCS).
	Workers int
	// Campaigns runs a shop's campaign of a finished day (nil: none).
	// When set, finish sends a campaign message for the shop.
	Campaigns Campaigns
	// MetricsNamespace is where the CustomersScored metric goes ("": none).
	MetricsNamespace string
}

// Campaigns runs a shop's win-back campaign after its night is done
// (runner.Runner): idempotent, so a message delivered twice is harmless.
type Campaigns interface {
	Nightly(ctx context.Context, shopID, asOf string) error
}

func (j *Worker) log() *slog.Logger {
	if j.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return j.Log
}

func (j *Worker) now() time.Time {
	if j.Now == nil {
		return time.Now()
	}
	return j.Now()
}

func (j *Worker) config(sh shop.Shop) scoring.Config {
	if j.Config == nil {
		return scoring.DefaultConfig()
	}
	return j.Config(sh)
}

// Work is the worker's SQS handler: each record is a Message, handled in
// turn; a record that fails is reported in BatchItemFailures (to be
// delivered again, and after the queue's maxReceiveCount to land in the
// dead-letter queue) without holding up the others. When the invocation
// is about to run out of time, the records not started yet are reported
// as failures rather than begun.
func (j *Worker) Work(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, rec := range ev.Records {
		if err := ctx.Err(); err != nil || nearDeadline(ctx) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			continue
		}
		m, err := nightly.ParseMessage(rec.Body)
		if err == nil {
			err = j.Handle(ctx, m)
		}
		if err != nil {
			j.log().ErrorContext(ctx, "nightly message failed", "message_id", rec.MessageId,
				"receive_count", rec.Attributes["ApproximateReceiveCount"],
				"shop_id", m.ShopID, "stage", m.Stage(), "shard", m.Shard, "as_of", m.AsOf, "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

// nearDeadline reports whether less than 30 s of the invocation are left.
func nearDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < 30*time.Second
}

// Handle runs one message's stage.
func (j *Worker) Handle(ctx context.Context, m nightly.Message) error {
	sh, err := j.Store.Shop(ctx, m.ShopID)
	if errors.Is(err, shop.ErrNotFound) {
		return fmt.Errorf("%w: %v", nightly.ErrBadMessage, err)
	}
	if err != nil {
		return err
	}
	if (m.Kind == nightly.KindMap || m.Kind == nightly.KindScore) && m.Shard >= sh.Shards {
		return fmt.Errorf("%w: shard %d of a shop with %d shards", nightly.ErrBadMessage, m.Shard, sh.Shards)
	}
	st := &stage{j: j, sh: sh, m: m, t0: time.Now(), attrs: []any{"shop_id", sh.ID, "stage", m.Stage(), "as_of", m.AsOf}}
	if m.Kind == nightly.KindMap || m.Kind == nightly.KindScore {
		st.attrs = append(st.attrs, "shard", m.Shard)
	}
	run, u, err := j.Store.RunUsage(ctx, sh.ID, m.AsOf)
	st.u.Add(u)
	if err != nil {
		return err // a run is created before its first message: retry
	}
	switch m.Kind {
	case nightly.KindMap:
		return st.mapShard(ctx, run)
	case nightly.KindFit:
		return st.fit(ctx, run)
	case nightly.KindScore:
		return st.score(ctx, run)
	case nightly.KindCampaign:
		return st.campaign(ctx, run)
	default:
		return st.finish(ctx, run)
	}
}

// stage is one message being handled: what it has cost so far and what it
// logs.
type stage struct {
	j     *Worker
	sh    shop.Shop
	m     nightly.Message
	u     capacity.Usage
	t0    time.Time
	attrs []any
}

func (s *stage) add(u capacity.Usage) { s.u.Add(u) }

// skip logs a message that finds its work done or not due.
func (s *stage) skip(ctx context.Context, why string) {
	s.j.log().InfoContext(ctx, "nightly stage skipped", append(s.attrs, "reason", why, nightly.UsageAttr(s.u))...)
}

// mark records the stage on the run with its cost, and logs it.
func (s *stage) mark(ctx context.Context, mk scores.Mark, attrs ...any) (scores.Run, error) {
	mk.Stage, mk.Shard, mk.Usage, mk.At = s.m.Stage(), s.m.Shard, s.u, s.j.now()
	run, u, err := s.j.Store.MarkRun(ctx, s.sh.ID, s.m.AsOf, mk)
	s.add(u)
	if err != nil {
		return run, err
	}
	s.j.log().InfoContext(ctx, "nightly stage done", append(append(s.attrs, attrs...),
		"ms", time.Since(s.t0).Milliseconds(), nightly.UsageAttr(s.u))...)
	return run, nil
}

// next sends the next stage's messages when this one completed the run's
// current stage.
func (s *stage) next(ctx context.Context, run scores.Run) error {
	msgs := nightly.Pending(run)
	if len(msgs) == 0 || msgs[0].Stage() == s.m.Stage() {
		return nil // not complete yet (other shards pending), or done
	}
	return nightly.Send(ctx, s.j.Queue, msgs)
}

func (s *stage) mapShard(ctx context.Context, run scores.Run) error {
	if run.Done {
		s.skip(ctx, "run done")
		return nil
	}
	if _, ok := run.Mapped[s.m.Shard]; ok {
		s.skip(ctx, "shard mapped")
		return s.next(ctx, run) // the fit may not have been sent
	}
	loc := s.sh.Location()
	var stats scoring.Stats
	inputs := shardInputs{AsOf: s.m.AsOf}
	u, err := s.j.Store.ScanShard(ctx, s.sh, s.m.Shard, func(sum customer.Summary) error {
		in, ok := scoring.InputOf(sum, s.m.AsOf, loc)
		if !ok {
			inputs.Prospects = append(inputs.Prospects, sum.CustomerID)
			return nil
		}
		stats.Add(in)
		inputs.add(in)
		return nil
	}, nil)
	s.add(u)
	if err != nil {
		return err
	}
	customers, prospects := int64(len(inputs.IDs)), int64(len(inputs.Prospects))
	data, err := json.Marshal(stats)
	if err != nil {
		return fmt.Errorf("encode stats: %w", err)
	}
	ref, u, err := s.j.Store.PutResult(ctx, s.sh.ID, s.m.AsOf, scores.KindStats, s.m.Shard, data, customers)
	s.add(u)
	if err != nil {
		return err
	}
	// The score stage reads the inputs instead of the summaries. They are
	// recorded with the statistics in one write, so the two always come
	// from the same pass over the summaries.
	inData, err := encodeInputs(inputs)
	if err != nil {
		return err
	}
	inRef, u, err := s.j.Store.PutResult(ctx, s.sh.ID, s.m.AsOf, scores.KindInputs, s.m.Shard, inData, customers)
	s.add(u)
	if err != nil {
		return err
	}
	run, err = s.mark(ctx, scores.Mark{Ref: ref, Inputs: inRef}, "customers", customers, "prospects", prospects,
		"stats_bytes", len(data), "inputs_bytes", len(inData))
	if err != nil {
		return err
	}
	return s.next(ctx, run)
}

// model reads the run's model.
func (s *stage) model(ctx context.Context, run scores.Run) (scoring.Model, error) {
	data, u, err := s.j.Store.Result(ctx, s.sh.ID, s.m.AsOf, scores.KindModel, 0, *run.Model)
	s.add(u)
	if err != nil {
		return scoring.Model{}, err
	}
	var m scoring.Model
	if err := json.Unmarshal(data, &m); err != nil {
		return scoring.Model{}, fmt.Errorf("decode model: %w", err)
	}
	return m, nil
}

func (s *stage) fit(ctx context.Context, run scores.Run) error {
	switch {
	case run.Done:
		s.skip(ctx, "run done")
		return nil
	case !run.AllMapped():
		s.skip(ctx, "not all shards mapped") // a forced restart: its own fit will come
		return nil
	case run.Model != nil:
		s.skip(ctx, "model stored")
		return s.next(ctx, run) // the score messages may not have been sent
	}
	var all scoring.Stats
	for n := range run.Shards {
		data, u, err := s.j.Store.Result(ctx, s.sh.ID, s.m.AsOf, scores.KindStats, n, run.Mapped[n])
		s.add(u)
		if err != nil {
			return err
		}
		var st scoring.Stats
		if err := json.Unmarshal(data, &st); err != nil {
			return fmt.Errorf("decode stats of shard %d: %w", n, err)
		}
		all.Merge(st)
	}
	t0 := time.Now()
	model, err := scoring.Fit(all, s.j.config(s.sh))
	if errors.Is(err, scoring.ErrNoCustomers) || errors.Is(err, scoring.ErrInvalidConfig) || errors.Is(err, scoring.ErrMixedAsOf) {
		// No retry can change this: the run ends without a report.
		_, merr := s.mark(ctx, scores.Mark{Failed: err.Error()}, "customers", all.Customers(), "failed", err.Error())
		return merr
	}
	if err != nil {
		return fmt.Errorf("fit: %w", err)
	}
	fitMS := time.Since(t0).Milliseconds()
	data, err := json.Marshal(model)
	if err != nil {
		return fmt.Errorf("encode model: %w", err)
	}
	ref, u, err := s.j.Store.PutResult(ctx, s.sh.ID, s.m.AsOf, scores.KindModel, 0, data, model.Customers)
	s.add(u)
	if err != nil {
		return err
	}
	run, err = s.mark(ctx, scores.Mark{Ref: ref}, "customers", model.Customers, "model", model.Name,
		"params", model.Params, "fit_ms", fitMS, "reason", model.Reason)
	if err != nil {
		return err
	}
	return s.next(ctx, run)
}

func (s *stage) score(ctx context.Context, run scores.Run) error {
	switch {
	case run.Done:
		s.skip(ctx, "run done")
		return nil
	case run.Model == nil:
		s.skip(ctx, "no model yet") // a forced restart: its own score messages will come
		return nil
	}
	if _, ok := run.Scored[s.m.Shard]; ok {
		s.skip(ctx, "shard scored")
		return s.next(ctx, run) // the finish may not have been sent
	}
	model, err := s.model(ctx, run)
	if err != nil {
		return err
	}
	ins, prospects, err := s.inputs(ctx, run)
	if err != nil {
		return err
	}
	stored := map[string]scoring.CustomerScore{}
	u, err := s.j.Store.ShardScores(ctx, s.sh, s.m.Shard, func(c scores.Score) error {
		stored[c.CustomerID] = CustomerScore(c)
		return nil
	})
	s.add(u)
	if err != nil {
		return err
	}
	workers := s.j.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	scored := scoring.ScoreAll(model, ins, workers)
	var partial scoring.Partial
	var put []scores.Score
	// A stored score is replaced when it moved, unless it is of a later
	// day (a backfill does not overwrite the latest scores).
	keep := func(sc scoring.CustomerScore) {
		old, ok := stored[sc.CustomerID]
		if !ok || old.AsOf <= sc.AsOf && scoring.Changed(old, sc) {
			put = append(put, Stored(sc))
		}
	}
	for i, sc := range scored {
		partial.Add(ins[i], sc)
		keep(sc)
	}
	for _, id := range prospects {
		sc := scoring.Prospect(model, id)
		partial.Add(scoring.Input{}, sc)
		keep(sc)
	}
	// Scores of customers no longer in the shard (summary erased, merged).
	known := make(map[string]bool, len(ins)+len(prospects))
	for _, in := range ins {
		known[in.CustomerID] = true
	}
	for _, id := range prospects {
		known[id] = true
	}
	var del []string
	for id, old := range stored {
		if !known[id] && old.AsOf <= s.m.AsOf {
			del = append(del, id)
		}
	}
	u, err = s.j.Store.PutScores(ctx, s.sh, s.m.Shard, put, del)
	s.add(u)
	if err != nil {
		return err
	}
	data, err := json.Marshal(partial)
	if err != nil {
		return fmt.Errorf("encode partial: %w", err)
	}
	ref, u, err := s.j.Store.PutResult(ctx, s.sh.ID, s.m.AsOf, scores.KindPartial, s.m.Shard, data, int64(len(ins)))
	s.add(u)
	if err != nil {
		return err
	}
	run, err = s.mark(ctx, scores.Mark{Ref: ref}, "customers", len(ins), "prospects", len(prospects),
		"written", len(put), "deleted", len(del), "unchanged", len(ins)+len(prospects)-len(put))
	if err != nil {
		return err
	}
	return s.next(ctx, run)
}

// inputs are the shard's customers' scoring inputs and its prospects, in
// customer id order: those the map stage stored, or, for a shard mapped
// without them (by an older worker), read from the summaries again.
func (s *stage) inputs(ctx context.Context, run scores.Run) ([]scoring.Input, []string, error) {
	if ref, ok := run.Inputs[s.m.Shard]; ok {
		data, u, err := s.j.Store.Result(ctx, s.sh.ID, s.m.AsOf, scores.KindInputs, s.m.Shard, ref)
		s.add(u)
		if err != nil {
			return nil, nil, err
		}
		return decodeInputs(data, s.m.AsOf)
	}
	loc := s.sh.Location()
	var ins []scoring.Input
	var prospects []string
	u, err := s.j.Store.ScanShard(ctx, s.sh, s.m.Shard, func(sum customer.Summary) error {
		if in, ok := scoring.InputOf(sum, s.m.AsOf, loc); ok {
			ins = append(ins, in)
		} else {
			prospects = append(prospects, sum.CustomerID)
		}
		return nil
	}, nil)
	s.add(u)
	return ins, prospects, err
}

func (s *stage) finish(ctx context.Context, run scores.Run) error {
	switch {
	case run.Done:
		s.skip(ctx, "run done")
		// A finish delivered again may follow a crash between marking the
		// run done and sending the campaign message.
		return s.nextCampaign(ctx)
	case run.Model == nil || !run.AllScored():
		s.skip(ctx, "not all shards scored")
		return nil
	}
	model, err := s.model(ctx, run)
	if err != nil {
		return err
	}
	var total scoring.Partial
	for n := range run.Shards {
		data, u, err := s.j.Store.Result(ctx, s.sh.ID, s.m.AsOf, scores.KindPartial, n, run.Scored[n])
		s.add(u)
		if err != nil {
			return err
		}
		var p scoring.Partial
		if err := json.Unmarshal(data, &p); err != nil {
			return fmt.Errorf("decode partial of shard %d: %w", n, err)
		}
		total.Merge(p)
	}
	day := scoring.Report(total, model)
	stored, err := StoredDay(day)
	if err != nil {
		return err
	}
	u, err := s.j.Store.PutDay(ctx, s.sh.ID, stored)
	s.add(u)
	if err != nil {
		return err
	}
	run, err = s.mark(ctx, scores.Mark{}, "customers", day.Customers, "prospects", day.Prospects,
		"model", model.Name, "churn_rate", day.ChurnRate, "active_customers", day.ActiveCustomers)
	if err != nil {
		return err
	}
	s.j.log().InfoContext(ctx, "nightly run done", "shop_id", run.ShopID, "as_of", run.AsOf,
		"attempt", run.Attempt, "customers", run.Customers(), "seconds", run.FinishedAt.Sub(run.StartedAt).Seconds(),
		runUsageAttrs(run))
	metrics.Emit(ctx, s.j.log(), s.j.MetricsNamespace, nil, metrics.Count(metrics.CustomersScored, run.Customers()))
	return s.nextCampaign(ctx)
}

// nextCampaign sends the shop's campaign message when the worker runs
// campaigns.
func (s *stage) nextCampaign(ctx context.Context) error {
	if s.j.Campaigns == nil {
		return nil
	}
	return nightly.Send(ctx, s.j.Queue, []nightly.Message{{Kind: nightly.KindCampaign, ShopID: s.sh.ID, AsOf: s.m.AsOf}})
}

// campaign runs the shop's campaign of a done run.
func (s *stage) campaign(ctx context.Context, run scores.Run) error {
	switch {
	case s.j.Campaigns == nil:
		s.skip(ctx, "campaigns are off")
		return nil
	case !run.Done:
		s.skip(ctx, "run not done")
		return nil
	}
	if err := s.j.Campaigns.Nightly(ctx, s.sh.ID, s.m.AsOf); err != nil {
		return fmt.Errorf("campaign: %w", err)
	}
	return nil
}

// runUsageAttrs logs a run's cost per stage and per customer.
func runUsageAttrs(run scores.Run) slog.Attr {
	var total capacity.Usage
	var attrs []any
	for _, st := range scores.Stages {
		u := run.Usage[st]
		total.Add(u)
		attrs = append(attrs, nightly.UsageAttr(u))
		attrs[len(attrs)-1] = slog.Attr{Key: string(st), Value: attrs[len(attrs)-1].(slog.Attr).Value}
	}
	attrs = append(attrs, slog.Attr{Key: "total", Value: nightly.UsageAttr(total).Value})
	if n := run.Customers(); n > 0 {
		attrs = append(attrs, "billed_read_units_per_customer", total.BilledReadUnits/float64(n),
			"billed_write_units_per_customer", total.BilledWriteUnits/float64(n))
	}
	return slog.Group("capacity", attrs...)
}
