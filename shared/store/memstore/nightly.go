package memstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
)

// nightly holds what the nightly job stores, as store.Store keeps it.
type nightly struct {
	runs    map[string]scores.Run              // shop id + day → run
	results map[string][]byte                  // shop id, day, kind, shard, digest → data
	scores  map[string]map[string]scores.Score // shop id → customer id → score
	days    map[string]map[string][]byte       // shop id → day → the KPIs' JSON
}

func newNightly() nightly {
	return nightly{
		runs: map[string]scores.Run{}, results: map[string][]byte{},
		scores: map[string]map[string]scores.Score{}, days: map[string]map[string][]byte{},
	}
}

func runKey(shopID, day string) string { return shopID + "\x00" + day }

func cloneRun(r scores.Run) scores.Run {
	r.Mapped = maps.Clone(r.Mapped)
	r.Inputs = maps.Clone(r.Inputs)
	r.Scored = maps.Clone(r.Scored)
	r.Usage = maps.Clone(r.Usage)
	if r.Model != nil {
		m := *r.Model
		r.Model = &m
	}
	return r
}

// BeginRun starts a shop's run for an as-of day, as store.Store.BeginRun.
func (m *Store) BeginRun(ctx context.Context, sh shop.Shop, day string, force bool) (scores.Run, bool, capacity.Usage, error) {
	u := capacity.Usage{RoundTrips: 1}
	if err := ctx.Err(); err != nil {
		return scores.Run{}, false, u, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := runKey(sh.ID, day)
	old, found := m.runs[k]
	if found && !force {
		return cloneRun(old), false, u, nil
	}
	run := scores.Run{
		ShopID: sh.ID, AsOf: day, Shards: sh.Shards, Attempt: old.Attempt + 1,
		Mapped: map[int]scores.Ref{}, Inputs: map[int]scores.Ref{}, Scored: map[int]scores.Ref{},
		StartedAt: time.Now().UTC(), Usage: map[scores.Stage]capacity.Usage{},
	}
	for _, st := range scores.Stages {
		run.Usage[st] = capacity.Usage{}
	}
	m.runs[k] = run
	return cloneRun(run), true, u, nil
}

// Run returns a shop's run for an as-of day (scores.ErrNoRun if none).
func (m *Store) Run(ctx context.Context, shopID, day string) (scores.Run, error) {
	run, _, err := m.RunUsage(ctx, shopID, day)
	return run, err
}

// RunUsage is Run, with what the read cost.
func (m *Store) RunUsage(ctx context.Context, shopID, day string) (scores.Run, capacity.Usage, error) {
	u := capacity.Usage{RoundTrips: 1}
	m.mu.Lock()
	defer m.mu.Unlock()
	run, ok := m.runs[runKey(shopID, day)]
	if !ok {
		return scores.Run{}, u, fmt.Errorf("run %s %s: %w", shopID, day, scores.ErrNoRun)
	}
	return cloneRun(run), u, nil
}

// MarkRun records a stage's progress, as store.Store.MarkRun.
func (m *Store) MarkRun(ctx context.Context, shopID, day string, mk scores.Mark) (scores.Run, capacity.Usage, error) {
	u := capacity.Usage{RoundTrips: 1}
	if err := ctx.Err(); err != nil {
		return scores.Run{}, u, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := runKey(shopID, day)
	run, ok := m.runs[k]
	if !ok {
		return scores.Run{}, u, fmt.Errorf("run %s %s: %w", shopID, day, scores.ErrNoRun)
	}
	run = cloneRun(run)
	at := mk.At.UTC()
	if mk.At.IsZero() {
		at = time.Now().UTC()
	}
	switch mk.Stage {
	case scores.StagePlan:
	case scores.StageMap:
		if _, set := run.Mapped[mk.Shard]; !set {
			run.Mapped[mk.Shard] = mk.Ref
			if mk.Inputs.Digest != "" {
				run.Inputs[mk.Shard] = mk.Inputs
			}
		}
	case scores.StageFit:
		if run.Model == nil && mk.Failed == "" {
			ref := mk.Ref
			run.Model = &ref
		}
	case scores.StageScore:
		if _, set := run.Scored[mk.Shard]; !set {
			run.Scored[mk.Shard] = mk.Ref
		}
	case scores.StageFinish:
		run.Done = true
	default:
		return scores.Run{}, u, fmt.Errorf("mark run: unknown stage %q", mk.Stage)
	}
	if mk.Failed != "" {
		if run.Failed == "" {
			run.Failed = mk.Failed
		}
		run.Done = true
	}
	if run.Done && run.FinishedAt.IsZero() {
		run.FinishedAt = at
	}
	su := run.Usage[mk.Stage]
	su.Add(mk.Usage)
	run.Usage[mk.Stage] = su
	m.runs[k] = run
	return cloneRun(run), u, nil
}

func resultKey(shopID, day string, kind scores.Kind, shard int, digest string) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%02d\x00%s", shopID, day, kind, shard, digest)
}

// PutResult stores an intermediate result, as store.Store.PutResult (in
// one chunk).
func (m *Store) PutResult(ctx context.Context, shopID, day string, kind scores.Kind, shard int, data []byte, customers int64) (scores.Ref, capacity.Usage, error) {
	u := capacity.Usage{RoundTrips: 1}
	if err := ctx.Err(); err != nil {
		return scores.Ref{}, u, err
	}
	sum := sha256.Sum256(data)
	ref := scores.Ref{Digest: hex.EncodeToString(sum[:8]), Chunks: 1, Customers: customers}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.results[resultKey(shopID, day, kind, shard, ref.Digest)] = bytes.Clone(data)
	return ref, u, nil
}

// Result reads back a result stored by PutResult.
func (m *Store) Result(ctx context.Context, shopID, day string, kind scores.Kind, shard int, ref scores.Ref) ([]byte, capacity.Usage, error) {
	u := capacity.Usage{RoundTrips: 1}
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.results[resultKey(shopID, day, kind, shard, ref.Digest)]
	if !ok {
		return nil, u, fmt.Errorf("read %s of shard %d (%s): 0 chunks, want %d", kind, shard, ref.Digest, ref.Chunks)
	}
	return bytes.Clone(data), u, nil
}

// ScanShard reads shard n's summaries and then, with onScore, its scores,
// as store.Store.ScanShard. The callbacks run without the lock held.
func (m *Store) ScanShard(ctx context.Context, sh shop.Shop, n int, onSummary func(customer.Summary) error, onScore func(scores.Score) error) (capacity.Usage, error) {
	u := capacity.Usage{RoundTrips: 1}
	if err := m.Customers(ctx, sh, n, onSummary); err != nil {
		return u, err
	}
	if onScore == nil {
		return u, nil
	}
	_, err := m.ShardScores(ctx, sh, n, onScore)
	return u, err
}

// ShardScores reads shard n's stored scores in customer id order, as
// store.Store.ShardScores. The callback runs without the lock held.
func (m *Store) ShardScores(ctx context.Context, sh shop.Shop, n int, onScore func(scores.Score) error) (capacity.Usage, error) {
	u := capacity.Usage{RoundTrips: 1}
	m.mu.Lock()
	var shard []scores.Score
	for id, c := range m.scores[sh.ID] {
		if sh.Shard(id) == n {
			shard = append(shard, c)
		}
	}
	m.mu.Unlock()
	sort.Slice(shard, func(i, j int) bool { return shard[i].CustomerID < shard[j].CustomerID })
	for _, c := range shard {
		if err := ctx.Err(); err != nil {
			return u, err
		}
		if err := onScore(c); err != nil {
			return u, err
		}
	}
	return u, nil
}

// PutScores writes and deletes scores of shard n, as store.Store.PutScores.
func (m *Store) PutScores(ctx context.Context, sh shop.Shop, n int, put []scores.Score, del []string) (capacity.Usage, error) {
	u := capacity.Usage{RoundTrips: 1}
	if err := ctx.Err(); err != nil {
		return u, err
	}
	for _, c := range put {
		if got := sh.Shard(c.CustomerID); got != n {
			return u, fmt.Errorf("put score of %s: in shard %d, not %d", c.CustomerID, got, n)
		}
	}
	for _, id := range del {
		if got := sh.Shard(id); got != n {
			return u, fmt.Errorf("delete score of %s: in shard %d, not %d", id, got, n)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.scores[sh.ID] == nil {
		m.scores[sh.ID] = map[string]scores.Score{}
	}
	for _, c := range put {
		m.scores[sh.ID][c.CustomerID] = c
	}
	for _, id := range del {
		delete(m.scores[sh.ID], id)
	}
	return u, nil
}

// Score returns a customer's latest score (customer.ErrNotFound if none).
func (m *Store) Score(ctx context.Context, sh shop.Shop, customerID string) (scores.Score, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.scores[sh.ID][customerID]
	if !ok {
		return scores.Score{}, fmt.Errorf("score of %s: %w", customerID, customer.ErrNotFound)
	}
	return c, nil
}

// Scores lists scored customers matching f by shard, then customer id, as
// store.Store.Scores.
func (m *Store) Scores(ctx context.Context, sh shop.Shop, f scores.Filter, after *scores.Pos, limit int) ([]scores.Score, *scores.Pos, error) {
	limit = max(limit, 1)
	type entry struct {
		shard int
		score scores.Score
	}
	m.mu.Lock()
	var all []entry
	for id, c := range m.scores[sh.ID] {
		if (f.Segment == "" || c.Segment == f.Segment) && (f.Band == "" || c.ChurnBand == f.Band) {
			all = append(all, entry{sh.Shard(id), c})
		}
	}
	m.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		if all[i].shard != all[j].shard {
			return all[i].shard < all[j].shard
		}
		return all[i].score.CustomerID < all[j].score.CustomerID
	})
	var out []scores.Score
	var last entry
	for _, e := range all {
		if after != nil && (e.shard < after.Shard || e.shard == after.Shard && e.score.CustomerID <= after.CustomerID) {
			continue
		}
		if len(out) == limit {
			return out, &scores.Pos{Shard: last.shard, CustomerID: last.score.CustomerID}, nil
		}
		out = append(out, e.score)
		last = e
	}
	return out, nil, nil
}

// PutDay stores a shop's KPIs for one as-of day, replacing that day's.
func (m *Store) PutDay(ctx context.Context, shopID string, d scores.Day) (capacity.Usage, error) {
	u := capacity.Usage{RoundTrips: 1}
	if !json.Valid(d.Data) {
		return u, fmt.Errorf("put day %s of %s: the KPIs are not JSON", d.AsOf, shopID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.days[shopID] == nil {
		m.days[shopID] = map[string][]byte{}
	}
	m.days[shopID][d.AsOf] = bytes.Clone(d.Data)
	return u, nil
}

// Days returns the shop's KPI history, newest first, at most n days.
func (m *Store) Days(ctx context.Context, sh shop.Shop, n int) ([]scores.Day, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.days[sh.ID]))
	for k := range m.days[sh.ID] {
		keys = append(keys, k)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	days := []scores.Day{}
	for _, k := range keys[:min(max(n, 0), len(keys))] {
		days = append(days, scores.Day{AsOf: k, Data: bytes.Clone(m.days[sh.ID][k])})
	}
	return days, nil
}
