package stages_test

import (
	"context"
	"errors"
	"testing"

	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/nightly"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
)

// TestScoreReadsTheMappedInputs: every shard's inputs are recorded with
// its statistics, and the score stage reads them and the stored scores,
// never the summaries.
func TestScoreReadsTheMappedInputs(t *testing.T) {
	out := cleanRun(t)
	if len(out.run.Inputs) != len(out.run.Mapped) {
		t.Fatalf("inputs of %d shards, want all %d mapped", len(out.run.Inputs), len(out.run.Mapped))
	}
	for n, ref := range out.run.Inputs {
		if ref.Customers != out.run.Mapped[n].Customers {
			t.Errorf("shard %d: inputs of %d customers, statistics of %d", n, ref.Customers, out.run.Mapped[n].Customers)
		}
	}
	f := newFixture(t)
	counting := &scanCounter{faultStore: f.st}
	f.j.Worker.Store = counting
	f.plan(t, nightly.Request{})
	f.q.drain(t, f.j)
	sameOutcome(t, f.outcome(t), out)
	if counting.scans != f.sh.Shards {
		t.Fatalf("%d passes over the summaries, want one per shard (%d)", counting.scans, f.sh.Shards)
	}
}

// TestScoreOfAShardMappedWithoutInputs: a shard mapped by a worker that
// did not store inputs (an older version, mid-deploy) is scored from its
// summaries, with the same results.
func TestScoreOfAShardMappedWithoutInputs(t *testing.T) {
	want := cleanRun(t)
	f := newFixture(t)
	f.j.Worker.Store = &olderMapper{faultStore: f.st}
	f.plan(t, nightly.Request{})
	f.q.drain(t, f.j)
	got := f.outcome(t)
	if len(got.run.Inputs) != 0 {
		t.Fatalf("inputs %+v, want none", got.run.Inputs)
	}
	sameOutcome(t, got, want)
}

// TestScoreDeletesCustomersNoLongerInTheShard: a stored score whose
// customer has no summary any more (erased, merged) is deleted.
func TestScoreDeletesCustomersNoLongerInTheShard(t *testing.T) {
	want := cleanRun(t)
	f := newFixture(t)
	ctx := context.Background()
	stray := scores.Score{CustomerID: "gone-customer", AsOf: "2025-04-29", Model: "bgnbd", Segment: "champions"}
	if _, err := f.st.PutScores(ctx, f.sh, f.sh.Shard(stray.CustomerID), []scores.Score{stray}, nil); err != nil {
		t.Fatal(err)
	}
	f.plan(t, nightly.Request{})
	f.q.drain(t, f.j)
	if _, err := f.st.Score(ctx, f.sh, stray.CustomerID); !errors.Is(err, customer.ErrNotFound) {
		t.Fatalf("score of a customer without a summary: %v, want it deleted", err)
	}
	sameOutcome(t, f.outcome(t), want)
}

// scanCounter counts the passes over a shard's summaries.
type scanCounter struct {
	*faultStore
	scans int
}

func (s *scanCounter) ScanShard(ctx context.Context, sh shop.Shop, n int, onSummary func(customer.Summary) error, onScore func(scores.Score) error) (capacity.Usage, error) {
	s.scans++
	return s.faultStore.ScanShard(ctx, sh, n, onSummary, onScore)
}

// olderMapper records map marks without their inputs.
type olderMapper struct{ *faultStore }

func (o *olderMapper) MarkRun(ctx context.Context, shopID, day string, m scores.Mark) (scores.Run, capacity.Usage, error) {
	m.Inputs = scores.Ref{}
	return o.faultStore.MarkRun(ctx, shopID, day, m)
}
