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
func customerSK(customerID string) string    { return "CUST#" + customerID }

// shardPK is the partition holding shard n of a shop's customer summaries.
func shardPK(shopID string, n int) string {
	return fmt.Sprintf("SHOP#%s#CUSTOMERS#%02d", shopID, n)
}

// customerPK is the partition holding a customer's summary.
func customerPK(sh shop.Shop, customerID string) string {
	return shardPK(sh.ID, sh.Shard(customerID))
}
