package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
)

// NightlyStore is what the nightly job and the score and report routes
// consume, on top of Store: runs, intermediate results, scores and the
// KPI history.
type NightlyStore interface {
	Store
	BeginRun(ctx context.Context, sh shop.Shop, day string, force bool) (scores.Run, bool, capacity.Usage, error)
	Run(ctx context.Context, shopID, day string) (scores.Run, error)
	RunUsage(ctx context.Context, shopID, day string) (scores.Run, capacity.Usage, error)
	MarkRun(ctx context.Context, shopID, day string, m scores.Mark) (scores.Run, capacity.Usage, error)
	PutResult(ctx context.Context, shopID, day string, kind scores.Kind, shard int, data []byte, customers int64) (scores.Ref, capacity.Usage, error)
	Result(ctx context.Context, shopID, day string, kind scores.Kind, shard int, ref scores.Ref) ([]byte, capacity.Usage, error)
	ScanShard(ctx context.Context, sh shop.Shop, n int, onSummary func(customer.Summary) error, onScore func(scores.Score) error) (capacity.Usage, error)
	ShardScores(ctx context.Context, sh shop.Shop, n int, onScore func(scores.Score) error) (capacity.Usage, error)
	PutScores(ctx context.Context, sh shop.Shop, n int, put []scores.Score, del []string) (capacity.Usage, error)
	Score(ctx context.Context, sh shop.Shop, customerID string) (scores.Score, error)
	Scores(ctx context.Context, sh shop.Shop, f scores.Filter, after *scores.Pos, limit int) ([]scores.Score, *scores.Pos, error)
	PutDay(ctx context.Context, shopID string, d scores.Day) (capacity.Usage, error)
	Days(ctx context.Context, sh shop.Shop, n int) ([]scores.Day, error)
}

// RunNightly runs the nightly part of the contract against stores made by
// open, a new empty store for each test.
func RunNightly(t *testing.T, open func(t *testing.T) NightlyStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s NightlyStore)
	}{
		{"RunBeginResumeForce", testRunLifecycle},
		{"RunMarksAreSetOnce", testRunMarks},
		{"ResultsRoundTrip", testResults},
		{"ScoresNextToSummaries", testScoresInShard},
		{"ScoreListingPagesAndFilters", testScoreListing},
		{"DaysNewestFirst", testDays},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

const day = "2025-05-01"

func testRunLifecycle(t *testing.T, s NightlyStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "Europe/Berlin")
	if _, err := s.Run(ctx, sh.ID, day); !errors.Is(err, scores.ErrNoRun) {
		t.Fatalf("Run before BeginRun: %v, want ErrNoRun", err)
	}
	if _, _, err := s.MarkRun(ctx, sh.ID, day, scores.Mark{Stage: scores.StageMap}); !errors.Is(err, scores.ErrNoRun) {
		t.Fatalf("MarkRun before BeginRun: %v, want ErrNoRun", err)
	}
	run, created, _, err := s.BeginRun(ctx, sh, day, false)
	if err != nil || !created {
		t.Fatalf("BeginRun: created %v, %v", created, err)
	}
	if run.ShopID != sh.ID || run.AsOf != day || run.Shards != sh.Shards || run.Attempt != 1 ||
		len(run.Mapped) != 0 || len(run.Scored) != 0 || run.Model != nil || run.Done || run.StartedAt.IsZero() {
		t.Fatalf("new run: %+v", run)
	}
	ref := scores.Ref{Digest: "d0", Chunks: 1, Customers: 3}
	if _, _, err := s.MarkRun(ctx, sh.ID, day, scores.Mark{Stage: scores.StageMap, Shard: 2, Ref: ref}); err != nil {
		t.Fatal(err)
	}
	again, created, _, err := s.BeginRun(ctx, sh, day, false)
	if err != nil || created || again.Attempt != 1 || !reflect.DeepEqual(again.Mapped, map[int]scores.Ref{2: ref}) {
		t.Fatalf("BeginRun of a started run: %+v, created %v, %v; want it as stored", again, created, err)
	}
	if _, _, err := s.MarkRun(ctx, sh.ID, day, scores.Mark{Stage: scores.StageFinish}); err != nil {
		t.Fatal(err)
	}
	done, created, _, err := s.BeginRun(ctx, sh, day, false)
	if err != nil || created || !done.Done || done.FinishedAt.IsZero() {
		t.Fatalf("BeginRun of a done run: %+v, created %v, %v", done, created, err)
	}
	forced, created, _, err := s.BeginRun(ctx, sh, day, true)
	if err != nil || !created || forced.Attempt != 2 || forced.Done || len(forced.Mapped) != 0 || len(forced.Inputs) != 0 || !forced.FinishedAt.IsZero() {
		t.Fatalf("forced BeginRun: %+v, created %v, %v; want a fresh attempt 2", forced, created, err)
	}
	got, err := s.Run(ctx, sh.ID, day)
	if err != nil || got.Attempt != 2 || got.Done {
		t.Fatalf("Run after force: %+v, %v", got, err)
	}
	if _, err := s.Run(ctx, sh.ID, "2025-05-02"); !errors.Is(err, scores.ErrNoRun) {
		t.Fatalf("Run of another day: %v, want ErrNoRun", err)
	}
}

func testRunMarks(t *testing.T, s NightlyStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	sh.Shards = 2
	if _, _, _, err := s.BeginRun(ctx, sh, day, false); err != nil {
		t.Fatal(err)
	}
	mark := func(m scores.Mark) scores.Run {
		t.Helper()
		run, _, err := s.MarkRun(ctx, sh.ID, day, m)
		if err != nil {
			t.Fatalf("MarkRun(%+v): %v", m, err)
		}
		return run
	}
	a := scores.Ref{Digest: "aaaa", Chunks: 1, Customers: 10}
	b := scores.Ref{Digest: "bbbb", Chunks: 2, Customers: 11}
	use := capacity.Usage{RoundTrips: 2, ReadUnits: 1.5, WriteUnits: 1, BilledReadUnits: 1.5, BilledWriteUnits: 1}
	ia := scores.Ref{Digest: "1a1a", Chunks: 3, Customers: 10}
	ib := scores.Ref{Digest: "1b1b", Chunks: 1, Customers: 10}
	run := mark(scores.Mark{Stage: scores.StageMap, Shard: 0, Ref: a, Inputs: ia, Usage: use})
	if run.AllMapped() || !reflect.DeepEqual(run.Mapped, map[int]scores.Ref{0: a}) {
		t.Fatalf("after mapping shard 0: %+v", run.Mapped)
	}
	if !reflect.DeepEqual(run.Inputs, map[int]scores.Ref{0: ia}) {
		t.Fatalf("inputs after mapping shard 0: %+v, want %+v", run.Inputs, ia)
	}
	run = mark(scores.Mark{Stage: scores.StageMap, Shard: 0, Ref: b, Inputs: ib, Usage: use}) // a duplicate, later
	if !reflect.DeepEqual(run.Mapped, map[int]scores.Ref{0: a}) || !reflect.DeepEqual(run.Inputs, map[int]scores.Ref{0: ia}) {
		t.Fatalf("a second map of shard 0 replaced the first: %+v, inputs %+v", run.Mapped, run.Inputs)
	}
	run = mark(scores.Mark{Stage: scores.StageMap, Shard: 1, Ref: b}) // without inputs
	if !run.AllMapped() || run.Customers() != 21 {
		t.Fatalf("after mapping both shards: %+v, customers %d", run.Mapped, run.Customers())
	}
	if !reflect.DeepEqual(run.Inputs, map[int]scores.Ref{0: ia}) {
		t.Fatalf("inputs after mapping shard 1 without: %+v, want shard 0's only", run.Inputs)
	}
	if got := run.Usage[scores.StageMap]; got.RoundTrips != 4 || got.ReadUnits != 3 || got.BilledWriteUnits != 2 {
		t.Fatalf("map usage %+v, want the two marks' usage added", got)
	}
	run = mark(scores.Mark{Stage: scores.StageFit, Ref: a})
	run = mark(scores.Mark{Stage: scores.StageFit, Ref: b})
	if run.Model == nil || *run.Model != a {
		t.Fatalf("model %+v, want the first fit's %+v", run.Model, a)
	}
	run = mark(scores.Mark{Stage: scores.StageScore, Shard: 1, Ref: b})
	run = mark(scores.Mark{Stage: scores.StageScore, Shard: 1, Ref: a})
	if run.AllScored() || !reflect.DeepEqual(run.Scored, map[int]scores.Ref{1: b}) {
		t.Fatalf("scored %+v", run.Scored)
	}
	run = mark(scores.Mark{Stage: scores.StageScore, Shard: 0, Ref: a})
	if !run.AllScored() || run.Done {
		t.Fatalf("after scoring both: scored %v, done %v", run.Scored, run.Done)
	}
	at := time.Date(2025, 5, 2, 3, 4, 5, 0, time.UTC)
	run = mark(scores.Mark{Stage: scores.StageFinish, At: at})
	run = mark(scores.Mark{Stage: scores.StageFinish, At: at.Add(time.Hour)})
	if !run.Done || !run.FinishedAt.Equal(at) || run.Failed != "" {
		t.Fatalf("finished: done %v at %v (want %v), failed %q", run.Done, run.FinishedAt, at, run.Failed)
	}
	stored, err := s.Run(ctx, sh.ID, day)
	if err != nil || !reflect.DeepEqual(stored, run) {
		t.Fatalf("Run() = %+v, %v; want what the last MarkRun returned, %+v", stored, err, run)
	}
	// A finish that fails is one valid update too (done and finished_at set once).
	if run := mark(scores.Mark{Stage: scores.StageFinish, Failed: "report: broken", At: at.Add(2 * time.Hour)}); !run.Done || run.Failed != "report: broken" {
		t.Fatalf("a failed finish: done %v, failed %q", run.Done, run.Failed)
	}

	// A fit that cannot succeed ends the run.
	other := "2025-05-02"
	if _, _, _, err := s.BeginRun(ctx, sh, other, false); err != nil {
		t.Fatal(err)
	}
	failed, _, err := s.MarkRun(ctx, sh.ID, other, scores.Mark{Stage: scores.StageFit, Failed: "no customers"})
	if err != nil || !failed.Done || failed.Failed != "no customers" || failed.Model != nil || failed.FinishedAt.IsZero() {
		t.Fatalf("failed fit: %+v, %v", failed, err)
	}
}

func testResults(t *testing.T, s NightlyStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	small := []byte(`{"as_of":"2025-05-01","customers":3}`)
	ref, _, err := s.PutResult(ctx, sh.ID, day, scores.KindStats, 3, small, 3)
	if err != nil || ref.Digest == "" || ref.Chunks < 1 || ref.Customers != 3 {
		t.Fatalf("PutResult: %+v, %v", ref, err)
	}
	again, _, err := s.PutResult(ctx, sh.ID, day, scores.KindStats, 3, small, 3)
	if err != nil || again != ref {
		t.Fatalf("PutResult of the same data: %+v, %v; want %+v", again, err, ref)
	}
	got, _, err := s.Result(ctx, sh.ID, day, scores.KindStats, 3, ref)
	if err != nil || !bytes.Equal(got, small) {
		t.Fatalf("Result: %q, %v", got, err)
	}
	for _, tc := range []struct {
		name  string
		kind  scores.Kind
		shard int
		ref   scores.Ref
	}{
		{"another shard", scores.KindStats, 4, ref},
		{"another kind", scores.KindPartial, 3, ref},
		{"another digest", scores.KindStats, 3, scores.Ref{Digest: "0123456789abcdef", Chunks: 1}},
	} {
		if _, _, err := s.Result(ctx, sh.ID, day, tc.kind, tc.shard, tc.ref); err == nil {
			t.Errorf("Result of %s: no error", tc.name)
		}
	}
	// Incompressible data over one item's worth.
	big := make([]byte, 900*1024)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	bref, _, err := s.PutResult(ctx, sh.ID, day, scores.KindModel, 0, big, 0)
	if err != nil {
		t.Fatalf("PutResult of %d bytes: %v", len(big), err)
	}
	if got, _, err := s.Result(ctx, sh.ID, day, scores.KindModel, 0, bref); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Result of %d bytes in %d chunks: %d bytes, %v", len(big), bref.Chunks, len(got), err)
	}
}

// shardOf finds n customer ids in one shard of sh, and one in another.
func shardOf(sh shop.Shop, n int) (shard int, ids []string, outside string) {
	shard = sh.Shard("c-0")
	for i := 0; len(ids) < n || outside == ""; i++ {
		id := fmt.Sprintf("c-%d", i)
		if sh.Shard(id) == shard {
			if len(ids) < n {
				ids = append(ids, id)
			}
		} else if outside == "" {
			outside = id
		}
	}
	slices.Sort(ids)
	return shard, ids, outside
}

func testScore(id, seg, band string, p float64) scores.Score {
	return scores.Score{
		CustomerID: id, AsOf: day, Model: "bgnbd", PAlive: p, ChurnRisk: 1 - p, ChurnBand: band, Active: p >= 0.5,
		ExpectedPurchases30d: 0.25, ExpectedPurchases90d: 0.7, ExpectedPurchases365d: 2.5, ExpectedOrderValue: 4599.5,
		CLV: 11000.25, NextOrderDate: "2025-06-11", Recency: 4, Frequency: 3, Monetary: 5, Segment: seg, SpendTier: "high",
	}
}

func testScoresInShard(t *testing.T, s NightlyStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	shard, ids, outside := shardOf(sh, 3)
	for i, id := range ids {
		mustPut(t, s, sh, Order(fmt.Sprintf("o-%d", i), id, T0, 1000), "", customer.Created)
	}
	if _, err := s.Score(ctx, sh, ids[0]); !errors.Is(err, customer.ErrNotFound) {
		t.Fatalf("Score before any: %v, want ErrNotFound", err)
	}
	put := []scores.Score{
		testScore(ids[0], "champions", "low", 0.9),
		testScore(ids[1], "at_risk", "high", 0.1),
	}
	put[1].NextOrderDate, put[1].SpendTier = "", "" // optional fields
	if _, err := s.PutScores(ctx, sh, shard, put, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range put {
		if got, err := s.Score(ctx, sh, want.CustomerID); err != nil || got != want {
			t.Fatalf("Score(%s) = %+v, %v; want %+v", want.CustomerID, got, err, want)
		}
	}
	if _, err := s.PutScores(ctx, sh, shard, []scores.Score{testScore(outside, "new", "low", 1)}, nil); err == nil {
		t.Fatal("PutScores of a customer of another shard: no error")
	}

	// The summaries' readers see summaries only; ScanShard with onScore
	// sees both, summaries first.
	n := 0
	if err := s.Customers(ctx, sh, shard, func(customer.Summary) error { n++; return nil }); err != nil || n != len(ids) {
		t.Fatalf("Customers: %d summaries, %v; want %d (and no scores)", n, err, len(ids))
	}
	var seen []string
	onSummary := func(sum customer.Summary) error { seen = append(seen, "CUST "+sum.CustomerID); return nil }
	if _, err := s.ScanShard(ctx, sh, shard, onSummary, nil); err != nil {
		t.Fatal(err)
	}
	if want := []string{"CUST " + ids[0], "CUST " + ids[1], "CUST " + ids[2]}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("ScanShard without scores: %v, want %v", seen, want)
	}
	seen = nil
	_, err := s.ScanShard(ctx, sh, shard, onSummary, func(c scores.Score) error {
		seen = append(seen, "SCORE "+c.CustomerID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"CUST " + ids[0], "CUST " + ids[1], "CUST " + ids[2], "SCORE " + ids[0], "SCORE " + ids[1]}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("ScanShard with scores: %v, want %v", seen, want)
	}
	// ShardScores sees the scores only, as stored.
	var got []scores.Score
	if _, err := s.ShardScores(ctx, sh, shard, func(c scores.Score) error { got = append(got, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, put) {
		t.Fatalf("ShardScores: %+v, want %+v", got, put)
	}

	// Replace one, delete the other.
	moved := testScore(ids[0], "loyal", "medium", 0.6)
	if _, err := s.PutScores(ctx, sh, shard, []scores.Score{moved}, []string{ids[1]}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Score(ctx, sh, ids[0]); err != nil || got != moved {
		t.Fatalf("replaced score: %+v, %v", got, err)
	}
	if _, err := s.Score(ctx, sh, ids[1]); !errors.Is(err, customer.ErrNotFound) {
		t.Fatalf("deleted score: %v, want ErrNotFound", err)
	}
}

func testScoreListing(t *testing.T, s NightlyStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	sh.Shards = 4 // the listing follows the shop's shard count
	segs := []string{"at_risk", "champions", "dormant"}
	bands := []string{"high", "low"}
	byShard := map[int][]scores.Score{}
	var all []scores.Score
	for i := range 60 {
		c := testScore(fmt.Sprintf("cust-%03d", i), segs[i%3], bands[i%2], float64(i)/100)
		byShard[sh.Shard(c.CustomerID)] = append(byShard[sh.Shard(c.CustomerID)], c)
	}
	for n := range sh.Shards {
		if _, err := s.PutScores(ctx, sh, n, byShard[n], nil); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(byShard[n], func(a, b scores.Score) int { return cmpStr(a.CustomerID, b.CustomerID) })
		all = append(all, byShard[n]...)
	}
	filters := []scores.Filter{
		{}, {Segment: "at_risk"}, {Band: "low"},
		{Segment: "at_risk", Band: "high"}, {Segment: "new"},
	}
	for _, f := range filters {
		var want []scores.Score
		for _, c := range all {
			if (f.Segment == "" || c.Segment == f.Segment) && (f.Band == "" || c.ChurnBand == f.Band) {
				want = append(want, c)
			}
		}
		for _, limit := range []int{1, 7, len(want), 1000} {
			t.Run(fmt.Sprintf("%s-%s-limit%d", f.Segment, f.Band, limit), func(t *testing.T) {
				var got []scores.Score
				var after *scores.Pos
				for page := 0; ; page++ {
					if page > 1000 {
						t.Fatal("more than 1000 pages")
					}
					cs, next, err := s.Scores(ctx, sh, f, after, limit)
					if err != nil {
						t.Fatal(err)
					}
					if len(cs) > max(limit, 1) {
						t.Fatalf("page of %d, limit %d", len(cs), limit)
					}
					got = append(got, cs...)
					if next == nil {
						break
					}
					// A page may come back short, even empty, when the store's
					// read budget ran out first; the position must move on.
					if after != nil && *next == *after {
						t.Fatal("a next position that does not move")
					}
					after = next
				}
				if !reflect.DeepEqual(ids(got), ids(want)) {
					t.Fatalf("listed %v, want %v", ids(got), ids(want))
				}
			})
		}
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func ids(cs []scores.Score) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.CustomerID
	}
	return out
}

func testDays(t *testing.T, s NightlyStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	if got, err := s.Days(ctx, sh, 5); err != nil || len(got) != 0 {
		t.Fatalf("Days of a new shop: %v, %v", got, err)
	}
	mk := func(asOf string, customers int) scores.Day {
		return scores.Day{AsOf: asOf, Data: []byte(fmt.Sprintf(`{"as_of":%q,"customers":%d,"segments":{"champions":%d}}`, asOf, customers, customers))}
	}
	for i, d := range []string{"2025-04-29", "2025-05-01", "2025-04-30"} {
		if _, err := s.PutDay(ctx, sh.ID, mk(d, i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutDay(ctx, sh.ID, mk("2025-04-30", 42)); err != nil { // the same day again replaces it
		t.Fatal(err)
	}
	if _, err := s.PutDay(ctx, sh.ID, scores.Day{AsOf: "2025-05-02", Data: []byte("{")}); err == nil {
		t.Fatal("PutDay of invalid JSON: no error")
	}
	got, err := s.Days(ctx, sh, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []scores.Day{mk("2025-05-01", 1), mk("2025-04-30", 42)}
	if len(got) != len(want) {
		t.Fatalf("Days(2) = %d days, want 2", len(got))
	}
	for i := range want {
		if got[i].AsOf != want[i].AsOf || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Fatalf("Days(2)[%d] = %s %s, want %s %s", i, got[i].AsOf, got[i].Data, want[i].AsOf, want[i].Data)
		}
	}
	if got, _ := s.Days(ctx, sh, 10); len(got) != 3 || got[2].AsOf != "2025-04-29" {
		t.Fatalf("Days(10) = %d days, want 3 ending with 2025-04-29", len(got))
	}
	if got, _ := s.Days(ctx, sh, 0); len(got) != 0 {
		t.Fatalf("Days(0) = %d days", len(got))
	}
}
