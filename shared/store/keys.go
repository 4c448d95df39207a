package store

import (
	"fmt"

	"github.com/winback/winback/shared/shop"
)

// The single-table design: every key is built here and nowhere else.
//
//	item          pk                                   sk
//	shop          SHOP#<shop>                          META
//	shop index    SHOPS                                SHOP#<shop>
//	API key       APIKEY#<key id>                      APIKEY
//	order         SHOP#<shop>#ORDER#<order key>        ORDER
//	customer      SHOP#<shop>#CUSTOMERS#<shard 00-99>  CUST#<customer id>
//	webhook seen  SHOP#<shop>#WEBHOOK#<webhook id>     WEBHOOK   (expires through ttl)
//	score         SHOP#<shop>#CUSTOMERS#<shard 00-99>  SCORE#<customer id>
//	nightly run   SHOP#<shop>#RUNS                     RUN#<as-of day>
//	run result    SHOP#<shop>#RUN#<as-of day>          <STATS|MODEL|PARTIAL>#<shard 00-99>#<digest>#<chunk 00-99>   (expires through ttl)
//	KPI day       SHOP#<shop>#DAYS                     DAY#<as-of day>
//	suppressed    SHOP#<shop>#SUPPRESSED               EMAIL#<salted hash of the address> | ERASED#<salted hash of the customer id>
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
func webhookPK(shopID, id string) string     { return "SHOP#" + shopID + "#WEBHOOK#" + id }
func customerSK(customerID string) string    { return prefixCustomer + customerID }

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
)

func scoreSK(customerID string) string  { return prefixScore + customerID }
func runsPK(shopID string) string       { return "SHOP#" + shopID + "#RUNS" }
func runSK(day string) string           { return "RUN#" + day }
func runPK(shopID, day string) string   { return "SHOP#" + shopID + "#RUN#" + day }
func daysPK(shopID string) string       { return "SHOP#" + shopID + "#DAYS" }
func daySK(day string) string           { return prefixDay + day }
func suppressedPK(shopID string) string { return "SHOP#" + shopID + "#SUPPRESSED" }

// resultPrefix is the sort key prefix of one stored result's chunks.
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
