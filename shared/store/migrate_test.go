package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// The previous release's items, written as it wrote them (the keys are
// spelled out here on purpose: they are the layout being moved from).
func oldConfigItem(shopID, data string) map[string]types.AttributeValue {
	return strItem(map[string]string{"pk": "SHOP#" + shopID, "sk": "CAMPAIGN_CONFIG", "type": "campaign_config", "data": data})
}

func newConfigItem(shopID, data string) map[string]types.AttributeValue {
	return strItem(map[string]string{"pk": "SHOP#" + shopID + "#CAMPAIGN_CONFIG", "sk": "CAMPAIGN_CONFIG", "type": "campaign_config", "data": data})
}

// contactItem is a contact in the old ("CUSTOMERS") or new ("CONTACTS")
// partition of the customer's shard.
func contactItem(sh shop.Shop, family, custID, campaignID string, at time.Time) map[string]types.AttributeValue {
	return strItem(map[string]string{
		"pk": fmt.Sprintf("SHOP#%s#%s#%02d", sh.ID, family, sh.Shard(custID)), "sk": "CONTACT#" + custID, "type": "contact",
		"customer_id": custID, "campaign_id": campaignID,
		"last_contacted_at": at.UTC().Format("2006-01-02T15:04:05.000000000Z07:00"),
	})
}

func strItem(m map[string]string) map[string]types.AttributeValue {
	it := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		it[k] = &types.AttributeValueMemberS{Value: v}
	}
	return it
}

func configJSON(t *testing.T, from string) string {
	t.Helper()
	c := campaign.DefaultConfig()
	c.Settings.From = from
	c.Template = &campaign.Template{Subject: "We miss you, {{.FirstName}}", HTML: "<p>Hi</p>", Text: "Hi " + from}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tableContents is every item of the table, each as JSON, by key.
func tableContents(t *testing.T, db *dynamodb.Client, table string) map[string]string {
	t.Helper()
	out := map[string]string{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(m)
			out[fmt.Sprint(m["pk"], " ", m["sk"])] = string(b)
		}
	}
	return out
}

// allContacts lists a shop's contacts, every shard, by customer id.
func allContacts(t *testing.T, s *store.Store, sh shop.Shop) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	for n := range sh.Shards {
		err := s.Contacts(context.Background(), sh, n, func(id string, at time.Time) error {
			out[id] = at
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestMigrateLayout: the campaign configs and contacts of the previous
// release move to their partitions; a newer item already there wins; a
// copy an interrupted run left counts as moved; nothing else is touched;
// a dry run writes nothing and a second run finds nothing.
func TestMigrateLayout(t *testing.T) {
	ctx := context.Background()
	s, db, table := newStore(t)
	a, b, c := newShop(t, s, "Europe/Paris"), newShop(t, s, "UTC"), newShop(t, s, "UTC")
	putOne(t, s, a, mkOrder("1001", "c-1", t0, 2599), "") // a summary in a shard partition, to stay
	at := func(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

	// Shop a: its config, and 30 contacts of shard 0 (more than one
	// BatchWriteItem) and one in each other shard.
	put := func(it map[string]types.AttributeValue) { putRaw(t, db, table, it) }
	put(oldConfigItem(a.ID, configJSON(t, "A <news@a.example>")))
	wantA := map[string]time.Time{}
	inShard := map[int]int{}
	for i := 0; len(wantA) < 30+a.Shards-1; i++ {
		id := fmt.Sprintf("cust-%d", i)
		if n := a.Shard(id); (n == 0 && inShard[0] < 30) || (n > 0 && inShard[n] < 1) {
			inShard[n]++
			wantA[id] = at(i)
			put(contactItem(a, "CUSTOMERS", id, "2025-01-01", at(i)))
		}
	}
	// Shop b: a run interrupted after its config and one contact were
	// written (old and new both stored, the same), and two customers
	// contacted since the upgrade: before (the old contact is later) and
	// after (the new one is).
	put(oldConfigItem(b.ID, configJSON(t, "B <news@b.example>")))
	put(newConfigItem(b.ID, configJSON(t, "B <news@b.example>")))
	put(contactItem(b, "CUSTOMERS", "copied", "2025-01-01", at(5)))
	put(contactItem(b, "CONTACTS", "copied", "2025-01-01", at(5)))
	put(contactItem(b, "CUSTOMERS", "old-later", "2025-02-01", at(90)))
	put(contactItem(b, "CONTACTS", "old-later", "2025-01-20", at(60)))
	put(contactItem(b, "CUSTOMERS", "new-later", "2025-01-10", at(30)))
	put(contactItem(b, "CONTACTS", "new-later", "2025-03-01", at(120)))
	// Shop c: configured again since the upgrade; its new settings stay.
	put(oldConfigItem(c.ID, configJSON(t, "C <old@c.example>")))
	if err := s.PutCampaignConfig(ctx, c.ID, campaign.Config{Settings: campaign.Settings{From: "C <new@c.example>"}}); err != nil {
		t.Fatal(err)
	}

	want := store.Migration{Shops: 3, ConfigsMoved: 2, ConfigsSuperseded: 1, ContactsMoved: len(wantA) + 2, ContactsSuperseded: 1}
	before := tableContents(t, db, table)
	if m, err := s.MigrateLayout(ctx, true); err != nil || m != want {
		t.Fatalf("dry run: %+v, %v; want %+v", m, err, want)
	}
	if after := tableContents(t, db, table); !maps.Equal(before, after) {
		t.Fatal("the dry run changed the table")
	}
	if cfg, _ := s.CampaignConfig(ctx, a.ID); cfg.Settings.From != "" {
		t.Fatalf("shop a configured before the migration: %+v", cfg.Settings)
	}

	if m, err := s.MigrateLayout(ctx, false); err != nil || m != want {
		t.Fatalf("migration: %+v, %v; want %+v", m, err, want)
	}
	for _, tc := range []struct {
		sh   shop.Shop
		from string
	}{{a, "A <news@a.example>"}, {b, "B <news@b.example>"}, {c, "C <new@c.example>"}} {
		cfg, err := s.CampaignConfig(ctx, tc.sh.ID)
		if err != nil || cfg.Settings.From != tc.from {
			t.Errorf("config of %s: %+v, %v; want from %q", tc.sh.ID, cfg.Settings, err, tc.from)
		}
		if tc.sh.ID != c.ID && (cfg.Template == nil || cfg.Template.Text != "Hi "+tc.from) {
			t.Errorf("template of %s: %+v", tc.sh.ID, cfg.Template)
		}
	}
	if got := allContacts(t, s, a); !maps.EqualFunc(got, wantA, time.Time.Equal) {
		t.Errorf("contacts of a: %d, want %d: %v", len(got), len(wantA), got)
	}
	wantB := map[string]time.Time{"copied": at(5), "old-later": at(90), "new-later": at(120)}
	if got := allContacts(t, s, b); !maps.EqualFunc(got, wantB, time.Time.Equal) {
		t.Errorf("contacts of b: %v, want %v", got, wantB)
	}
	for id, campaignID := range map[string]string{"old-later": "2025-02-01", "new-later": "2025-03-01"} {
		it := rawItem(t, db, table, fmt.Sprintf("SHOP#%s#CONTACTS#%02d", b.ID, b.Shard(id)), "CONTACT#"+id)
		if v, _ := it["campaign_id"].(*types.AttributeValueMemberS); v == nil || v.Value != campaignID || it["type"] == nil || it["customer_id"] == nil {
			t.Errorf("contact %s: %v, want campaign %s", id, it, campaignID)
		}
	}
	for key := range tableContents(t, db, table) {
		pk, sk, _ := strings.Cut(key, " ")
		if strings.HasPrefix(sk, "CONTACT#") && !strings.Contains(pk, "#CONTACTS#") || sk == "CAMPAIGN_CONFIG" && !strings.HasSuffix(pk, "#CAMPAIGN_CONFIG") {
			t.Errorf("left in the old layout: %s", key)
		}
	}
	// Shop c's settings of before, superseded, are kept beside its new ones.
	kept := rawItem(t, db, table, "SHOP#"+c.ID+"#CAMPAIGN_CONFIG", "CAMPAIGN_CONFIG_SUPERSEDED")
	if v, _ := kept["data"].(*types.AttributeValueMemberS); v == nil || !strings.Contains(v.Value, "old@c.example") {
		t.Errorf("shop c's superseded settings: %v, want them kept", kept)
	}
	if sums, err := s.Summaries(ctx, a, []string{"c-1"}); err != nil || len(sums) != 1 {
		t.Errorf("the summary beside the old contacts: %v, %v", sums, err)
	}

	zero := store.Migration{Shops: 3}
	for _, dry := range []bool{false, true} {
		if m, err := s.MigrateLayout(ctx, dry); err != nil || m != zero {
			t.Errorf("again (dry run %v): %+v, %v; want nothing to do", dry, m, err)
		}
	}
}
