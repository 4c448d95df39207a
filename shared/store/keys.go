package store

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/shop"
)

// The single-table design: every key is built here and nowhere else.
//
//	item          pk                                   sk
//	shop          SHOP#<shop>                          META
//	shop index    SHOPS                                SHOP#<shop>
//	API key       APIKEY#<key id>                      APIKEY
//	API key entry SHOP#<shop>                          APIKEY#<key id>   (the shop's list of keys: label, created; no hash)
//	order         SHOP#<shop>#ORDER#<order key>        ORDER
//	customer      SHOP#<shop>#CUSTOMERS#<shard 00-99>  CUST#<customer id>
//	webhook seen  SHOP#<shop>#WEBHOOK#<SHA-256 of the webhook id>  WEBHOOK   (expires through ttl)
//	score         SHOP#<shop>#CUSTOMERS#<shard 00-99>  SCORE#<customer id>
//	nightly run   SHOP#<shop>#RUNS                     RUN#<as-of day>
//	run result    SHOP#<shop>#RUN#<as-of day>          <STATS|MODEL|PARTIAL>#<shard 00-99>#<digest>#<chunk 00-99>   (expires through ttl)
//	KPI day       SHOP#<shop>#DAYS                     DAY#<as-of day>
//	suppressed    SHOP#<shop>#SUPPRESSED               EMAIL#<salted hash of the address> | ERASED#<salted hash of the customer id>
//	campaign cfg  SHOP#<shop>#CAMPAIGN_CONFIG          CAMPAIGN_CONFIG
//	token key     CONFIG                               UNSUBSCRIBE_KEY#<version 000000-999999>   (UNSUBSCRIBE_KEY: the clear key of before, version 0; tokenkeys.go)
//	campaign      SHOP#<shop>#CAMPAIGNS                CAMPAIGN#<campaign id>
//	recipient     SHOP#<shop>#CAMPAIGN#<id>#<bucket 00-15>  SEND#<send id>
//	coupon        SHOP#<shop>#COUPON#<code>            COUPON
//	contact       SHOP#<shop>#CONTACTS#<shard 00-99>   CONTACT#<customer id>
//
// An order is stored under its key (customer.OrderKey: 12 base64url
// characters of the SHA-256 of the order id), the name its customer's
// summary gives it, so that the summary can stay small whatever the shop's
// order ids look like and still lead to the order (for the last items
// bought and the profile). The full id is the order item's order_id; an
// item found under an order's key with another order_id is a digest
// collision, refused as a conflict.
//
// Customer summaries of one shop are spread over Shop.Shards partitions so
// that ingestion bursts don't heat one partition and the nightly job can read
// a shop's customers shard by shard, in parallel, without touching orders.
const (
	attrPK  = "pk"
	attrSK  = "sk"
	attrTTL = "ttl"

	skShop     = "META"
	skAPIKey   = "APIKEY"
	skOrder    = "ORDER"
	skWebhook  = "WEBHOOK"
	pkShopList = "SHOPS"
)

func shopPK(shopID string) string            { return "SHOP#" + shopID }
func shopListSK(shopID string) string        { return "SHOP#" + shopID }
func apiKeyPK(keyID string) string           { return "APIKEY#" + keyID }
func orderPK(shopID, orderKey string) string { return "SHOP#" + shopID + "#ORDER#" + orderKey }
func customerSK(customerID string) string    { return prefixCustomer + customerID }

// webhookPK is the partition of a webhook delivery id: its SHA-256, so that
// no id a sender chooses becomes part of a partition key (which IAM policies
// tell campaign data apart by: see Partitions).
func webhookPK(shopID, id string) string {
	sum := sha256.Sum256([]byte(id))
	return "SHOP#" + shopID + "#WEBHOOK#" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// A customer's latest scores live next to its summary (SCORE# after CUST#
// in the same shard partition), so the nightly score stage reads both in
// one query and writes only the scores that changed. A night's run item
// records which shards are done with which results; the results themselves
// (statistics, model, KPI partials: content-addressed, gzipped, chunked
// under 350 KB) live in the run's own partition and expire. The KPI
// history is one item per shop and as-of day.
const (
	prefixCustomer = "CUST#"
	prefixScore    = "SCORE#"
	prefixDay      = "DAY#"
	prefixEmail    = "EMAIL#"
	prefixErased   = "ERASED#"
)

func scoreSK(customerID string) string { return prefixScore + customerID }

// emailSK is the suppression item of an address: its salted hash, so the
// table never holds a suppressed address in clear.
func emailSK(salt []byte, email string) string {
	return prefixEmail + SaltedHash(salt, strings.ToLower(strings.TrimSpace(email)))
}

// erasedSK is the item that marks an erased customer id, by its salted hash.
func erasedSK(salt []byte, customerID string) string {
	return prefixErased + SaltedHash(salt, customerID)
}
func runsPK(shopID string) string       { return "SHOP#" + shopID + "#RUNS" }
func runSK(day string) string           { return "RUN#" + day }
func runPK(shopID, day string) string   { return "SHOP#" + shopID + "#RUN#" + day }
func daysPK(shopID string) string       { return "SHOP#" + shopID + "#DAYS" }
func daySK(day string) string           { return prefixDay + day }
func suppressedPK(shopID string) string { return "SHOP#" + shopID + "#SUPPRESSED" }

// resultPrefix is the sort key prefix of one stored result's chunks.
// Campaigns. A shop's campaigns share one partition, newest id last; a
// campaign's recipients are spread over campaign.Buckets partitions by the
// first hex digit of their send id (campaign.Bucket), so that the sender's
// claims and the feedback's updates of one large campaign do not heat one
// partition. A coupon item per code makes codes unique within a shop (and
// tells attribution whose a redeemed code is); a dry run's recipients
// write none, so their codes (previews) stay free. A customer's last contact
// by any campaign sits in the contacts partition of its shard (the shard
// number of its summary), where the frequency cap is checked in the same
// transaction that records the recipient.
//
// Campaign data never shares a partition with what the ingest function
// reads and writes (shops, API keys, orders, summaries, webhooks), so that
// IAM can deny it campaign data by partition key (Partitions below): the
// campaign config has its own partition, not the shop's, and the contacts
// theirs, not the summaries'. A table of the earlier layout (both beside
// the shop's and the summaries' items) is moved by MigrateLayout
// (migrate.go, `winback migrate`).
const (
	skCampaignConfig = "CAMPAIGN_CONFIG"
	pkConfig         = "CONFIG"
	skTokenKey       = "UNSUBSCRIBE_KEY"
	skCoupon         = "COUPON"
	prefixCampaign   = "CAMPAIGN#"
	prefixSend       = "SEND#"
	prefixContact    = "CONTACT#"
)

// tokenKeySK is the sort key of a version of the unsubscribe-token key.
func tokenKeySK(version int) string { return fmt.Sprintf("%s#%06d", skTokenKey, version) }

func campaignsPK(shopID string) string             { return "SHOP#" + shopID + "#CAMPAIGNS" }
func campaignSK(id string) string                  { return prefixCampaign + id }
func sendSK(sendID string) string                  { return prefixSend + sendID }
func couponPK(shopID, code string) string          { return "SHOP#" + shopID + "#COUPON#" + code }
func contactSK(customerID string) string           { return prefixContact + customerID }
func contactPK(sh shop.Shop, custID string) string { return contactsPK(sh.ID, sh.Shard(custID)) }
func campaignConfigPK(shopID string) string        { return "SHOP#" + shopID + "#" + skCampaignConfig }

// contactsPK is the partition holding the contacts of shard n of a shop's
// customers.
func contactsPK(shopID string, n int) string {
	return fmt.Sprintf("SHOP#%s#CONTACTS#%02d", shopID, n)
}

// recipientsPK is the partition holding bucket b of a campaign's recipients.
func recipientsPK(shopID, campaignID string, b int) string {
	return fmt.Sprintf("SHOP#%s#CAMPAIGN#%s#%02d", shopID, campaignID, b)
}

// recipientPK is the partition holding the recipient with this send id.
func recipientPK(shopID, campaignID, sendID string) string {
	return recipientsPK(shopID, campaignID, campaign.Bucket(sendID))
}

func resultPrefix(kind string, shard int, digest string) string {
	return fmt.Sprintf("%s#%02d#%s#", kind, shard, digest)
}

// shardPK is the partition holding shard n of a shop's customer summaries.
func shardPK(shopID string, n int) string {
	return fmt.Sprintf("SHOP#%s#CUSTOMERS#%02d", shopID, n)
}

// customerPK is the partition holding a customer's summary.
func customerPK(sh shop.Shop, customerID string) string {
	return shardPK(sh.ID, sh.Shard(customerID))
}

// The families of partition keys above as IAM StringLike patterns (*: any
// run of characters, ?: exactly one), which the stack's policies allow and
// deny table access by (the dynamodb:LeadingKeys condition key; see
// infra/access.go). Every key a builder makes matches its own family's
// pattern and no other's (keys_test.go), for shop ids of shop.NewID's form
// ("shop_" and 12 characters, no "#": the only ids a shop is created with).
const (
	PartitionShopList       = pkShopList
	PartitionShop           = "SHOP#shop_????????????"
	PartitionAPIKey         = "APIKEY#*"
	PartitionOrder          = "SHOP#*#ORDER#*"
	PartitionWebhook        = "SHOP#*#WEBHOOK#*"
	PartitionCustomers      = "SHOP#*#CUSTOMERS#??"
	PartitionRuns           = "SHOP#*#RUNS"
	PartitionRun            = "SHOP#*#RUN#*"
	PartitionDays           = "SHOP#*#DAYS"
	PartitionSuppressed     = "SHOP#*#SUPPRESSED"
	PartitionCampaignConfig = "SHOP#*#" + skCampaignConfig
	PartitionCampaigns      = "SHOP#*#CAMPAIGNS"
	PartitionRecipients     = "SHOP#*#CAMPAIGN#*"
	PartitionCoupon         = "SHOP#*#COUPON#*"
	PartitionContacts       = "SHOP#*#CONTACTS#??"
	PartitionConfig         = pkConfig
)

// CampaignPartitions are the families of campaign data: campaign configs,
// campaigns (and the sending stop), recipients, coupons, contacts,
// suppressions and the deployment's token key. None of them is a family
// the ingest function needs, so its role is denied them all.
func CampaignPartitions() []string {
	return []string{
		PartitionCampaignConfig, PartitionCampaigns, PartitionRecipients, PartitionCoupon,
		PartitionContacts, PartitionSuppressed, PartitionConfig,
	}
}
