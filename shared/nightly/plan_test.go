package nightly_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/winback/winback/shared/nightly"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store/memstore"
)

var _ nightly.PlanStore = (*memstore.Store)(nil)

const asOf = "2025-04-30"

var now = time.Date(2025, 5, 1, 3, 0, 0, 0, time.UTC)

// fakeQueue keeps what is sent.
type fakeQueue struct {
	mu     sync.Mutex
	bodies []string
}

func (q *fakeQueue) Send(ctx context.Context, bodies []string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.bodies = append(q.bodies, bodies...)
	return nil
}

func TestPlanAsOf(t *testing.T) {
	ctx := context.Background()
	ms := memstore.New()
	shops := map[string]string{"shop_akl": "Pacific/Auckland", "shop_lax": "America/Los_Angeles", "shop_utc": ""}
	for id, tz := range shops {
		if err := ms.CreateShop(ctx, shop.Shop{ID: id, Currency: "EUR", Timezone: tz, Shards: 2, CreatedAt: now}, shop.NewCredentials()); err != nil {
			t.Fatal(err)
		}
	}
	at := "2025-05-01T11:30:00Z" // 23:30 in Auckland, 04:30 in Los Angeles
	q := &fakeQueue{}
	j := &nightly.Planner{Store: ms, Queue: q, Now: func() time.Time { t.Fatal("Now called though the event has a time"); return time.Time{} }}
	res, err := j.Plan(ctx, nightly.PlanEvent{Time: at, DetailType: "Scheduled Event"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range res.Shops {
		got[p.ShopID] = p.AsOf
		if p.Action != nightly.ActionStarted || p.Messages != 2 {
			t.Errorf("%+v", p)
		}
	}
	want := map[string]string{"shop_akl": "2025-04-30", "shop_lax": "2025-04-30", "shop_utc": "2025-04-30"}
	at = "2025-05-01T12:30:00Z" // 00:30 on May 2 in Auckland
	if !reflect.DeepEqual(got, want) {
		t.Errorf("as-of days %v, want %v", got, want)
	}
	res, err = j.Plan(ctx, nightly.PlanEvent{Time: at})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Shops {
		if p.ShopID == "shop_akl" && (p.AsOf != "2025-05-01" || p.Action != nightly.ActionStarted) {
			t.Errorf("Auckland after its midnight: %+v", p)
		}
		if p.ShopID == "shop_lax" && (p.AsOf != "2025-04-30" || p.Action != nightly.ActionResumed) {
			t.Errorf("Los Angeles, same day: %+v", p)
		}
	}
	if res.Messages != 2+2+2 {
		t.Errorf("%d messages, want 2 per shop (Los Angeles and UTC resumed: nothing mapped yet)", res.Messages)
	}

	for _, tc := range []struct {
		name string
		req  nightly.Request
	}{
		{"future day", nightly.Request{ShopID: "shop_lax", AsOf: "2025-05-01"}},
		{"bad day", nightly.Request{AsOf: "2025-5-1"}},
		{"unknown shop", nightly.Request{ShopID: "shop_none"}},
	} {
		if _, err := j.Plan(ctx, nightly.PlanEvent{Time: at, Detail: tc.req}); !errors.Is(err, nightly.ErrBadRequest) {
			t.Errorf("%s: %v, want ErrBadRequest", tc.name, err)
		}
	}
	res, err = j.Plan(ctx, nightly.PlanEvent{Time: at, Detail: nightly.Request{ShopID: "shop_akl", AsOf: "2024-12-31"}})
	if err != nil || len(res.Shops) != 1 || res.Shops[0].AsOf != "2024-12-31" {
		t.Errorf("a backfill of one shop: %+v, %v", res, err)
	}
}

func TestPending(t *testing.T) {
	ref := scores.Ref{Digest: "d"}
	base := scores.Run{ShopID: "s", AsOf: asOf, Shards: 3}
	msg := func(k nightly.Kind, shard int) nightly.Message {
		return nightly.Message{Kind: k, ShopID: "s", AsOf: asOf, Shard: shard}
	}
	for _, tc := range []struct {
		name string
		edit func(r *scores.Run)
		want []nightly.Message
	}{
		{"new", func(r *scores.Run) {}, []nightly.Message{msg(nightly.KindMap, 0), msg(nightly.KindMap, 1), msg(nightly.KindMap, 2)}},
		{"one mapped", func(r *scores.Run) { r.Mapped = map[int]scores.Ref{1: ref} }, []nightly.Message{msg(nightly.KindMap, 0), msg(nightly.KindMap, 2)}},
		{"all mapped", func(r *scores.Run) { r.Mapped = map[int]scores.Ref{0: ref, 1: ref, 2: ref} }, []nightly.Message{msg(nightly.KindFit, 0)}},
		{"fitted", func(r *scores.Run) {
			r.Mapped = map[int]scores.Ref{0: ref, 1: ref, 2: ref}
			r.Model = &ref
			r.Scored = map[int]scores.Ref{0: ref}
		}, []nightly.Message{msg(nightly.KindScore, 1), msg(nightly.KindScore, 2)}},
		{"all scored", func(r *scores.Run) {
			r.Mapped = map[int]scores.Ref{0: ref, 1: ref, 2: ref}
			r.Model = &ref
			r.Scored = r.Mapped
		}, []nightly.Message{msg(nightly.KindFinish, 0)}},
		{"done", func(r *scores.Run) { r.Done = true }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			tc.edit(&r)
			if got := nightly.Pending(r); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Pending = %+v, want %+v", got, tc.want)
			}
		})
	}
}
