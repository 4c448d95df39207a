package store_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/store"
	"github.com/winback/winback/shared/store/storetest"
)

// TestSendRetention: on DynamoDB Local, a recorded recipient and its
// coupon carry the table's ttl attribute at their selection plus the
// store's retention (the default, or one configured), and a configured
// retention shorter than a campaign's measurement is refused.
func TestSendRetention(t *testing.T) {
	ctx := context.Background()
	_, db, table := newStore(t)
	// Selected in the future of the test's clock: the retention runs from
	// the selection (a selection in the past: from the write, below).
	selected := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	for _, tc := range []struct {
		days string
		want time.Duration
	}{
		{"", store.DefaultSendRetention},
		{"400", 400 * 24 * time.Hour},
		{"730", 730 * 24 * time.Hour},
	} {
		d, err := store.ParseSendRetention(tc.days)
		if err != nil || d != tc.want {
			t.Fatalf("ParseSendRetention(%q) = %v, %v; want %v", tc.days, d, err, tc.want)
		}
		st := store.New(db, table, store.WithSendRetention(d))
		sh := storetest.NewShop(t, st, "UTC")
		c := storetest.NewCampaign(sh, "2026-11-30", false)
		if _, err := st.BeginCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
		r := storetest.NewRecipient(sh, c.ID, "cust-1", "WB-ABCD-EFGH", selected)
		if ok, err := st.AddRecipient(ctx, sh, r, selected.Add(-storetest.Cap)); err != nil || !ok {
			t.Fatalf("AddRecipient: %v, %v", ok, err)
		}
		want := strconv.FormatInt(selected.Add(tc.want).Unix(), 10)
		out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]bool{}
		for _, it := range out.Items {
			str := func(name string) string {
				v, _ := it[name].(*types.AttributeValueMemberS)
				if v == nil {
					return ""
				}
				return v.Value
			}
			typ := str("type")
			if typ != "recipient" && typ != "coupon" || str("campaign_id") != c.ID || str("send_id") != r.SendID {
				continue
			}
			if ttl, ok := it["ttl"].(*types.AttributeValueMemberN); !ok || ttl.Value != want {
				t.Errorf("retention %q: the %s item's ttl is %v, want %s", tc.days, typ, it["ttl"], want)
			}
			kinds[typ] = true
		}
		if !kinds["recipient"] || !kinds["coupon"] {
			t.Errorf("retention %q: found %v, want the recipient and its coupon", tc.days, kinds)
		}
		// Erase the shop's campaign items between rounds: scan less.
		for _, it := range out.Items {
			db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"pk": it["pk"], "sk": it["sk"]}})
		}
	}
	// A recipient selected long ago (a past day replayed) is kept the
	// retention from its writing, not written already expired.
	st := store.New(db, table)
	sh := storetest.NewShop(t, st, "UTC")
	c := storetest.NewCampaign(sh, "2025-05-02", false)
	if _, err := st.BeginCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	r := storetest.NewRecipient(sh, c.ID, "cust-2", "", storetest.T0)
	if ok, err := st.AddRecipient(ctx, sh, r, storetest.T0.Add(-storetest.Cap)); err != nil || !ok {
		t.Fatalf("AddRecipient: %v, %v", ok, err)
	}
	after := time.Now()
	got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "SHOP#" + sh.ID + "#CAMPAIGN#" + c.ID + "#" + fmt.Sprintf("%02d", campaign.Bucket(r.SendID))},
			"sk": &types.AttributeValueMemberS{Value: "SEND#" + r.SendID}}})
	if err != nil || got.Item == nil {
		t.Fatalf("the recipient selected at T0: %v, %v", got.Item, err)
	}
	ttl, _ := got.Item["ttl"].(*types.AttributeValueMemberN)
	n, _ := strconv.ParseInt(ttlValue(ttl), 10, 64)
	if lo, hi := before.Add(store.DefaultSendRetention).Unix(), after.Add(store.DefaultSendRetention).Unix()+1; n < lo || n > hi {
		t.Errorf("the recipient selected at T0 expires at %d, want the retention from its writing [%d, %d]", n, lo, hi)
	}

	for _, bad := range []string{"30", "372", "x", "-1"} {
		if _, err := store.ParseSendRetention(bad); err == nil {
			t.Errorf("ParseSendRetention(%q) accepted a retention shorter than a campaign's measurement", bad)
		}
	}
	if store.MinSendRetention != time.Duration(campaign.MaxDays+8)*24*time.Hour {
		t.Errorf("MinSendRetention = %v", store.MinSendRetention)
	}
}

func ttlValue(n *types.AttributeValueMemberN) string {
	if n == nil {
		return ""
	}
	return n.Value
}
