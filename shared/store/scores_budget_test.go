package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
)

// TestScoresReadBudget: a filter that matches one customer in many does
// not make one request read the whole shop: each call stops after its
// page budget and hands back a cursor, and following the cursors finds
// every match exactly once.
func TestScoresReadBudget(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	sh := shop.Shop{ID: shop.NewID(), Name: "budget", Currency: "EUR", Timezone: "UTC", Shards: 4, CreatedAt: time.Now()}
	if err := s.CreateShop(ctx, sh, shop.NewCredentials()); err != nil {
		t.Fatal(err)
	}
	byShard := map[int][]scores.Score{}
	rare := map[string]bool{}
	for i := range 400 {
		id := fmt.Sprintf("c%04d", i)
		sc := scores.Score{CustomerID: id, AsOf: "2026-01-01", Model: "bgnbd", Segment: "loyal", ChurnBand: "low"}
		if i%97 == 0 {
			sc.Segment = "previously_loyal"
			rare[id] = true
		}
		byShard[sh.Shard(id)] = append(byShard[sh.Shard(id)], sc)
	}
	for n, ss := range byShard {
		if _, err := s.PutScores(ctx, sh, n, ss, nil); err != nil {
			t.Fatal(err)
		}
	}
	found := map[string]bool{}
	var after *scores.Pos
	calls := 0
	for {
		calls++
		if calls > 400 {
			t.Fatal("the listing does not end")
		}
		page, next, err := s.Scores(ctx, sh, scores.Filter{Segment: "previously_loyal"}, after, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range page {
			if found[sc.CustomerID] || !rare[sc.CustomerID] {
				t.Fatalf("listed %s twice or by mistake", sc.CustomerID)
			}
			found[sc.CustomerID] = true
		}
		if next == nil {
			break
		}
		after = next
	}
	if len(found) != len(rare) {
		t.Errorf("found %d of %d", len(found), len(rare))
	}
	// 400 items read at most 2 per page (limit 1 + 1), 8 pages a call: the
	// budget must have cut some calls short.
	if calls <= len(rare)+1 {
		t.Errorf("%d calls for %d matches: the read budget never ran out", calls, len(rare))
	}
}
