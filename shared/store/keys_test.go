package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/winback/winback/internal/iam"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/shop"
)

func TestStringLike(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"SHOPS", "SHOPS", true},
		{"SHOPS", "SHOPS#", false},
		{"SHOP#*#RUNS", "SHOP#a#RUNS", true},
		{"SHOP#*#RUNS", "SHOP##RUNS", true}, // * matches nothing too
		{"SHOP#*#RUNS", "SHOP#a#b#RUNS", true},
		{"SHOP#*#RUNS", "SHOP#a#RUNSX", false},
		{"SHOP#*#CUSTOMERS#??", "SHOP#a#CUSTOMERS#07", true},
		{"SHOP#*#CUSTOMERS#??", "SHOP#a#CUSTOMERS#7", false},
		{"SHOP#*#CUSTOMERS#??", "SHOP#a#CUSTOMERS#007", false},
		{"SHOP#shop_????????????", "SHOP#shop_abcdefghijkl", true},
		{"SHOP#shop_????????????", "SHOP#shop_abcdefghijk", false},
		{"SHOP#shop_????????????", "SHOP#shop_abcdefghijkl#RUNS", false},
		{"SHOP#*#CAMPAIGN#*", "SHOP#a#CAMPAIGNS", false},
		{"SHOP#*#CAMPAIGN#*", "SHOP#a#CAMPAIGN#2024-05-01#03", true},
		{"a*b?c", "axxbyc", true},
		{"a*b?c", "abc", false},
	} {
		if got := iam.StringLike(c.pattern, c.s); got != c.want {
			t.Errorf("iam.StringLike(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

// families are the exported partition families, by name.
var families = map[string]string{
	"PartitionShopList": PartitionShopList, "PartitionShop": PartitionShop, "PartitionAPIKey": PartitionAPIKey,
	"PartitionOrder": PartitionOrder, "PartitionWebhook": PartitionWebhook, "PartitionCustomers": PartitionCustomers,
	"PartitionRuns": PartitionRuns, "PartitionRun": PartitionRun, "PartitionDays": PartitionDays,
	"PartitionSuppressed": PartitionSuppressed, "PartitionCampaignConfig": PartitionCampaignConfig,
	"PartitionCampaigns": PartitionCampaigns, "PartitionRecipients": PartitionRecipients,
	"PartitionCoupon": PartitionCoupon, "PartitionContacts": PartitionContacts, "PartitionConfig": PartitionConfig,
}

// sampleKeys returns, by family name, partition keys every builder makes
// for a few shops of shop.NewID's form and realistic ids.
func sampleKeys(t *testing.T, rng *rand.Rand) map[string][]string {
	t.Helper()
	keys := map[string][]string{}
	add := func(family string, pk ...string) { keys[family] = append(keys[family], pk...) }
	add("PartitionShopList", pkShopList)
	add("PartitionConfig", pkConfig)
	for range 20 {
		id := shop.NewID()
		sh := shop.Shop{ID: id, Shards: 1 + rng.IntN(100)}
		cust := fmt.Sprintf("cust-%d", rng.Int())
		add("PartitionShop", shopPK(id))
		add("PartitionAPIKey", apiKeyPK(shop.NewCredentials().KeyID))
		add("PartitionOrder", orderPK(id, customer.OrderKey(fmt.Sprintf("order-%d", rng.Int()))))
		add("PartitionWebhook", webhookPK(id, fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Int64N(1<<48))))
		add("PartitionCustomers", customerPK(sh, cust), shardPK(id, 0), shardPK(id, 99))
		add("PartitionRuns", runsPK(id))
		add("PartitionRun", runPK(id, "2024-05-01"))
		add("PartitionDays", daysPK(id))
		add("PartitionSuppressed", suppressedPK(id))
		add("PartitionCampaignConfig", campaignConfigPK(id))
		add("PartitionCampaigns", campaignsPK(id))
		for _, dry := range []bool{false, true} {
			cid := campaign.ID("2024-05-01", dry)
			add("PartitionRecipients", recipientsPK(id, cid, 0), recipientsPK(id, cid, campaign.Buckets-1),
				recipientPK(id, cid, campaign.SendID(cid, cust)))
		}
		code, err := campaign.NewCoupon(cryptoLike{rng})
		if err != nil {
			t.Fatal(err)
		}
		add("PartitionCoupon", couponPK(id, code))
		add("PartitionContacts", contactPK(sh, cust), contactsPK(id, 0), contactsPK(id, 99))
	}
	return keys
}

// cryptoLike reads random bytes from a seeded generator.
type cryptoLike struct{ rng *rand.Rand }

func (c cryptoLike) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c.rng.Uint32())
	}
	return len(p), nil
}

func TestEveryKeyIsInItsOwnFamilyOnly(t *testing.T) {
	// GIVEN keys of every builder for shops of shop.NewID's form
	keys := sampleKeys(t, rand.New(rand.NewPCG(1, 2)))

	// THEN every family has keys, and every key matches its family's
	// pattern and no other's
	for name, pattern := range families {
		if len(keys[name]) == 0 {
			t.Errorf("%s (%q): no builder's keys", name, pattern)
		}
	}
	for name, pks := range keys {
		for _, pk := range pks {
			var matched []string
			for other, pattern := range families {
				if iam.StringLike(pattern, pk) {
					matched = append(matched, other)
				}
			}
			if !slices.Equal(matched, []string{name}) {
				t.Errorf("%q matches %v, want only %s (%q)", pk, matched, name, families[name])
			}
		}
	}
}

// ingestFamilies are the families of the partitions the ingest function
// reads and writes (store.PutOrders, Shop, APIKey).
var ingestFamilies = []string{"PartitionShop", "PartitionAPIKey", "PartitionOrder", "PartitionCustomers", "PartitionWebhook"}

func TestCampaignPartitionsAreCampaignData(t *testing.T) {
	// GIVEN the families denied to the ingest function
	denied := CampaignPartitions()
	keys := sampleKeys(t, rand.New(rand.NewPCG(3, 4)))

	// THEN they are exactly the campaign families, and none the ingest
	// function needs
	want := []string{PartitionCampaignConfig, PartitionCampaigns, PartitionRecipients, PartitionCoupon,
		PartitionContacts, PartitionSuppressed, PartitionConfig}
	if !slices.Equal(denied, want) {
		t.Errorf("CampaignPartitions() = %v, want %v", denied, want)
	}
	for _, name := range ingestFamilies {
		for _, pk := range keys[name] {
			for _, pattern := range denied {
				if iam.StringLike(pattern, pk) {
					t.Errorf("%s key %q matches the denied %q", name, pk, pattern)
				}
			}
		}
	}
	// AND every campaign item's partition is denied
	for _, name := range []string{"PartitionCampaignConfig", "PartitionCampaigns", "PartitionRecipients",
		"PartitionCoupon", "PartitionContacts", "PartitionSuppressed", "PartitionConfig"} {
		for _, pk := range keys[name] {
			if !slices.ContainsFunc(denied, func(p string) bool { return iam.StringLike(p, pk) }) {
				t.Errorf("%s key %q is not denied", name, pk)
			}
		}
	}
}

// hostile are ids a caller chooses, made to look like campaign partitions.
var hostile = []string{
	"", "#", "##", "#CAMPAIGNS", "x#CAMPAIGNS", "#CAMPAIGN#2024-05-01#00", "#COUPON#WB-AAAA-AAAA",
	"#SUPPRESSED", "#CONTACTS#00", "#CAMPAIGN_CONFIG", "CONFIG", "*", "?", "a#CAMPAIGN#b#CONTACTS#01",
	strings.Repeat("#CAMPAIGN", 14),
}

func TestIngestKeysOfHostileIdsAreNotCampaignData(t *testing.T) {
	// GIVEN order, customer, webhook and API key ids a caller chooses,
	// for a real shop (what ingest keys the request's data by; the shop
	// id itself comes from the stored API key, or is refused when it
	// holds a "#": ingest.maxShopID)
	sh := shop.Shop{ID: shop.NewID(), Shards: 100}
	rng := rand.New(rand.NewPCG(5, 6))
	ids := slices.Clone(hostile)
	for range 200 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = "#CAMPIGNSUPRETOD_?*x0"[rng.IntN(21)]
		}
		ids = append(ids, string(b))
	}

	// THEN no key ingest makes of them is in a denied family
	for _, id := range ids {
		for _, pk := range []string{
			orderPK(sh.ID, customer.OrderKey(id)), customerPK(sh, id), webhookPK(sh.ID, id), apiKeyPK(id),
		} {
			for _, pattern := range CampaignPartitions() {
				if iam.StringLike(pattern, pk) {
					t.Errorf("id %q: key %q matches the denied %q", id, pk, pattern)
				}
			}
		}
	}
}

func TestShopIDsFitTheShopFamily(t *testing.T) {
	// GIVEN shop ids as shops are created with (shop.NewID)
	for range 1000 {
		id := shop.NewID()
		// THEN their partition is the shop family's, and holds no "#"
		if !iam.StringLike(PartitionShop, shopPK(id)) || strings.Contains(id, "#") {
			t.Fatalf("shop id %q: partition %q is not %q (shop.NewID changed? PartitionShop follows it)", id, shopPK(id), PartitionShop)
		}
	}
}
