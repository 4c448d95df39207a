package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
	"github.com/winback/winback/shared/store/storetest"
)

// fillShop stores one of each kind of item for a shop through the store:
// the shop with two listed API keys and one unlisted (legacy) key, orders
// of three customers (one through a webhook delivery, one refunded, one
// customer erased), a night's run with a result, scores and a KPI day,
// campaign settings, a campaign with a recipient holding a coupon and a
// contact, a dry run's recipient, and a sending stop. It returns the
// shop and its unlisted key's id.
func fillShop(t *testing.T, s *store.Store, db *dynamodb.Client, table string) (shop.Shop, string) {
	t.Helper()
	ctx := context.Background()
	sh := newShop(t, s, "UTC")
	if _, _, err := s.CreateAPIKey(ctx, sh.ID, "second key"); err != nil {
		t.Fatal(err)
	}
	// A key from before the shops' key lists: only its APIKEY# item.
	legacy := "legacy" + sh.ID[len(sh.ID)-6:]
	_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "APIKEY#" + legacy}, "sk": &types.AttributeValueMemberS{Value: "APIKEY"},
		"type": &types.AttributeValueMemberS{Value: "apikey"}, "shop_id": &types.AttributeValueMemberS{Value: sh.ID},
		"secret_hash": &types.AttributeValueMemberS{Value: "x"}, "created_at": &types.AttributeValueMemberS{Value: "2025-01-01T00:00:00Z"},
	}})
	if err != nil {
		t.Fatal(err)
	}

	put := func(o order.Order, webhookID string) {
		t.Helper()
		if outs, _, err := s.PutOrders(ctx, sh, []order.Order{o}, webhookID); err != nil || outs[0].Err != nil {
			t.Fatalf("PutOrders(%s): %v %+v", o.ID, err, outs)
		}
	}
	put(mkOrder("o-1", "c-1", t0, 1000), "")
	put(mkOrder("o-2", "c-1", t0.AddDate(0, 0, 3), 2500), "")
	put(mkOrder("o-3", "c-2", t0.AddDate(0, 0, 1), 700), "webhook-delivery-1")
	refund := mkOrder("o-2", "c-1", t0.AddDate(0, 0, 3), 2500)
	refund.Status, refund.Refunded, refund.UpdatedAt = order.StatusRefunded, 2500, t0.AddDate(0, 0, 5)
	put(refund, "")
	put(mkOrder("o-4", "c-3", t0.AddDate(0, 0, 2), 900), "")
	if err := s.EraseCustomer(ctx, sh, "c-3"); err != nil {
		t.Fatal(err)
	}
	if err := s.Suppress(ctx, sh, "bounced@example.com", store.SuppressBounce); err != nil {
		t.Fatal(err)
	}

	day := "2025-05-10"
	if _, _, _, err := s.BeginRun(ctx, sh, day, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutResult(ctx, sh.ID, day, scores.KindStats, 0, []byte("stats of shard 0"), 2); err != nil {
		t.Fatal(err)
	}
	n := sh.Shard("c-1")
	if _, err := s.PutScores(ctx, sh, n, []scores.Score{{CustomerID: "c-1", AsOf: day, Model: "empirical", PAlive: 0.5, ChurnBand: "medium", Segment: "at_risk"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutDay(ctx, sh.ID, scores.Day{AsOf: day, Data: []byte(`{"customers":2}`)}); err != nil {
		t.Fatal(err)
	}

	if err := s.PutCampaignConfig(ctx, sh.ID, campaign.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{false, true} {
		c := storetest.NewCampaign(sh, day, dry)
		if _, err := s.BeginCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
		code := "WB-" + strings.ToUpper(sh.ID[5:11])
		if dry {
			code += "-DRY"
		}
		r := storetest.NewRecipient(sh, c.ID, "c-1", code, t0.AddDate(0, 0, 10))
		if created, err := s.AddRecipient(ctx, sh, r, r.SelectedAt.AddDate(0, 0, -30)); err != nil || !created {
			t.Fatalf("AddRecipient: %v, %v", created, err)
		}
	}
	if _, _, err := s.StopSending(ctx, sh.ID, campaign.Stop{CampaignID: day, At: t0, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	return sh, legacy
}

// item is an item's primary key and, for API keys, its shop.
type item struct{ pk, sk, shopID string }

// scanAll lists every item of the table.
func scanAll(t *testing.T, db *dynamodb.Client, table string) []item {
	t.Helper()
	var out []item
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			str := func(name string) string {
				v, _ := it[name].(*types.AttributeValueMemberS)
				if v == nil {
					return ""
				}
				return v.Value
			}
			out = append(out, item{str("pk"), str("sk"), str("shop_id")})
		}
	}
	return out
}

// ofShop lists the items that belong to a shop: under its prefix, its
// entry in the shop index, its API keys.
func ofShop(items []item, shopID string) []string {
	var out []string
	for _, it := range items {
		if it.pk == "SHOP#"+shopID || strings.HasPrefix(it.pk, "SHOP#"+shopID+"#") ||
			it.pk == "SHOPS" && it.sk == "SHOP#"+shopID ||
			strings.HasPrefix(it.pk, "APIKEY#") && it.shopID == shopID {
			out = append(out, it.pk+" "+it.sk)
		}
	}
	slices.Sort(out)
	return out
}

// kinds are the partition key families (with the shop's id cut out) of
// items of a shop.
func kinds(keys []string, shopID string) []string {
	var out []string
	for _, k := range keys {
		pk, _, _ := strings.Cut(k, " ")
		pk = strings.Replace(pk, shopID, "<shop>", 1)
		if strings.HasPrefix(pk, "APIKEY#") {
			pk = "APIKEY#<id>"
		}
		for _, family := range []string{"#ORDER#", "#WEBHOOK#", "#CUSTOMERS#", "#CONTACTS#", "#RUN#", "#CAMPAIGN#", "#COUPON#"} {
			if i := strings.Index(pk, family); i >= 0 {
				pk = pk[:i+len(family)] + "…"
			}
		}
		if !slices.Contains(out, pk) {
			out = append(out, pk)
		}
	}
	slices.Sort(out)
	return out
}

// TestDeleteShop fills two shops of one table with every kind of item,
// deletes one, and checks by scanning the table that nothing of it is
// left (without the sweep, nothing but its webhook delivery ids), that
// the other shop and the deployment's token key are untouched, and that
// deleting it again is shop.ErrNotFound.
func TestDeleteShop(t *testing.T) {
	ctx := context.Background()
	s, db, table := newStore(t)
	gone, legacy := fillShop(t, s, db, table)
	kept, _ := fillShop(t, s, db, table)
	if _, err := s.TokenKeys(ctx); err != nil {
		t.Fatal(err)
	}
	before := scanAll(t, db, table)
	mine := ofShop(before, gone.ID)
	// The fill must have made every kind of item, or the test proves less.
	wantKinds := []string{
		"APIKEY#<id>", "SHOP#<shop>", "SHOP#<shop>#CAMPAIGN#…", "SHOP#<shop>#CAMPAIGNS", "SHOP#<shop>#CAMPAIGN_CONFIG",
		"SHOP#<shop>#CONTACTS#…", "SHOP#<shop>#COUPON#…", "SHOP#<shop>#CUSTOMERS#…", "SHOP#<shop>#DAYS",
		"SHOP#<shop>#ORDER#…", "SHOP#<shop>#RUN#…", "SHOP#<shop>#RUNS", "SHOP#<shop>#SUPPRESSED", "SHOP#<shop>#WEBHOOK#…", "SHOPS",
	}
	if got := kinds(mine, gone.ID); !slices.Equal(got, wantKinds) {
		t.Fatalf("the filled shop's item kinds:\n%q\nwant\n%q", got, wantKinds)
	}

	// WHEN the shop is deleted without the sweep, naming its unlisted key
	n, err := s.DeleteShop(ctx, gone.ID, store.DeleteShopOptions{KeyIDs: []string{legacy}})
	if err != nil {
		t.Fatal(err)
	}
	after := scanAll(t, db, table)
	// THEN only its webhook delivery id is left (no index leads to it)
	if left := ofShop(after, gone.ID); len(left) != 1 || !strings.HasPrefix(left[0], "SHOP#"+gone.ID+"#WEBHOOK#") {
		t.Fatalf("after DeleteShop without the sweep, left: %q", left)
	}
	if n < len(mine)-1 {
		t.Errorf("DeleteShop reported %d items deleted; the shop had %d besides its webhook delivery", n, len(mine)-1)
	}
	// and the other shop and the token key are as they were
	if got, want := ofShop(after, kept.ID), ofShop(before, kept.ID); !slices.Equal(got, want) {
		t.Errorf("the other shop's items changed:\n%q\nwant\n%q", got, want)
	}
	if !slices.ContainsFunc(after, func(it item) bool { return it.pk == "CONFIG" }) {
		t.Error("the deployment's token key (CONFIG) was deleted")
	}

	// WHEN it is deleted again with the sweep, THEN nothing of it is left
	if n, err := s.DeleteShop(ctx, gone.ID, store.DeleteShopOptions{Sweep: true}); err != nil || n != 1 {
		t.Fatalf("DeleteShop with the sweep: %d deleted, %v; want the webhook delivery id", n, err)
	}
	after = scanAll(t, db, table)
	if left := ofShop(after, gone.ID); len(left) != 0 {
		t.Fatalf("after the sweep, left: %q", left)
	}
	if got, want := ofShop(after, kept.ID), ofShop(before, kept.ID); !slices.Equal(got, want) {
		t.Errorf("the sweep changed the other shop's items:\n%q\nwant\n%q", got, want)
	}
	// and a third time there is no such shop
	if _, err := s.DeleteShop(ctx, gone.ID, store.DeleteShopOptions{Sweep: true}); !errors.Is(err, shop.ErrNotFound) {
		t.Errorf("DeleteShop of a deleted shop: %v; want shop.ErrNotFound", err)
	}
	if _, err := s.Shop(ctx, gone.ID); !errors.Is(err, shop.ErrNotFound) {
		t.Errorf("Shop after DeleteShop: %v; want shop.ErrNotFound", err)
	}
	if ids, err := s.ShopIDs(ctx); err != nil || slices.Contains(ids, gone.ID) || !slices.Contains(ids, kept.ID) {
		t.Errorf("ShopIDs after DeleteShop: %v, %v", ids, err)
	}
}

// TestDeleteShopSweepFindsUnlistedKeys checks that the sweep deletes a
// shop's API key its list does not name, and no other shop's.
func TestDeleteShopSweepFindsUnlistedKeys(t *testing.T) {
	ctx := context.Background()
	s, db, table := newStore(t)
	gone, _ := fillShop(t, s, db, table)
	kept, _ := fillShop(t, s, db, table)
	want := ofShop(scanAll(t, db, table), kept.ID)
	if _, err := s.DeleteShop(ctx, gone.ID, store.DeleteShopOptions{Sweep: true}); err != nil {
		t.Fatal(err)
	}
	after := scanAll(t, db, table)
	if left := ofShop(after, gone.ID); len(left) != 0 {
		t.Fatalf("after DeleteShop with the sweep, left: %q", left)
	}
	if got := ofShop(after, kept.ID); !slices.Equal(got, want) {
		t.Errorf("the other shop's items changed:\n%q\nwant\n%q", got, want)
	}
}

// failingDB fails every BatchWriteItem after the first ok ones.
type failingDB struct {
	*dynamodb.Client
	ok    int64
	calls atomic.Int64
}

var errInjected = errors.New("injected failure")

func (f *failingDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	if f.calls.Add(1) > f.ok {
		return nil, errInjected
	}
	return f.Client.BatchWriteItem(ctx, in, opts...)
}

// TestDeleteShopResumes interrupts DeleteShop after each of its batch
// writes in turn and runs it again: the second run (without the sweep)
// must still find everything, because whatever names other items (a
// summary its orders, a recipient its coupon, a campaign its recipients,
// the shop's item its shard count) is deleted after them.
func TestDeleteShopResumes(t *testing.T) {
	ctx := context.Background()
	_, db, table := newStore(t)
	for ok := int64(0); ; ok++ {
		f := &failingDB{Client: db, ok: ok}
		s := store.New(f, table)
		sh, legacy := fillShop(t, store.New(db, table), db, table)
		_, err := s.DeleteShop(ctx, sh.ID, store.DeleteShopOptions{KeyIDs: []string{legacy}})
		if err == nil {
			if ok < 5 {
				t.Fatalf("DeleteShop finished within %d batch writes: the test interrupts nothing", ok)
			}
			break
		}
		if !errors.Is(err, errInjected) {
			t.Fatalf("after %d batch writes: %v", ok, err)
		}
		if _, err := store.New(db, table).DeleteShop(ctx, sh.ID, store.DeleteShopOptions{KeyIDs: []string{legacy}}); err != nil {
			t.Fatalf("DeleteShop again after an interruption at batch write %d: %v", ok+1, err)
		}
		left := ofShop(scanAll(t, db, table), sh.ID)
		if len(left) != 1 || !strings.HasPrefix(left[0], "SHOP#"+sh.ID+"#WEBHOOK#") {
			t.Fatalf("interrupted at batch write %d and run again, left: %q", ok+1, left)
		}
		if ok > 200 {
			t.Fatal("DeleteShop never finishes")
		}
	}
}
