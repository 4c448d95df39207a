package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store/memstore"
)

func TestExportCustomersWritesEveryScoredCustomer(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	sh := shop.Shop{ID: "shop_export", Currency: "USD", Timezone: "UTC", Shards: 4, CreatedAt: time.Now()}
	if err := st.CreateShop(ctx, sh, shop.NewCredentials()); err != nil {
		t.Fatal(err)
	}
	ids := []string{`odd,"id"`, "  spaced  ", "émile", "42"}
	for i := range 2500 {
		ids = append(ids, fmt.Sprintf("c%05d", i))
	}
	byShard := map[int][]scores.Score{}
	for _, id := range ids {
		byShard[sh.Shard(id)] = append(byShard[sh.Shard(id)], scores.Score{
			CustomerID: id, AsOf: "1998-06-30", Model: "bgnbd", PAlive: 0.5, ChurnRisk: 0.5, ChurnBand: "medium",
			CLV: 3627.4, ExpectedOrderValue: 1177, Segment: "active", SpendTier: "low", NextOrderDate: "1998-08-01",
		})
	}
	for n, ss := range byShard {
		if _, err := st.PutScores(ctx, sh, n, ss, nil); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	n, err := exportCustomers(ctx, st, sh.ID, scores.Filter{}, &out)
	if err != nil || n != len(ids) {
		t.Fatalf("exported %d, %v; want %d", n, err, len(ids))
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], exportColumns) {
		t.Fatalf("header %v", rows[0])
	}
	for _, col := range []string{"customer_id", "model", "p_alive", "expected_purchases_30d", "expected_purchases_90d",
		"expected_purchases_365d", "expected_order_value", "clv", "next_order_date", "segment", "churn_band"} {
		if !slices.Contains(rows[0], col) {
			t.Errorf("no column %s", col)
		}
	}
	var got []string
	for _, r := range rows[1:] {
		got = append(got, r[0])
		if r[10] != "36.27" || r[9] != "11.77" {
			t.Fatalf("money in dollars: %v", r)
		}
	}
	slices.Sort(got)
	slices.Sort(ids)
	if !slices.Equal(got, ids) {
		t.Errorf("ids do not round-trip exactly")
	}
	if _, err := exportCustomers(ctx, st, "shop_nosuch", scores.Filter{}, &out); err == nil {
		t.Error("an unknown shop exported")
	}
}
