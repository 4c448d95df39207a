package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
)

// Paths served by the ingest function (POST only).
const (
	pathOrders        = "/v1/orders"
	pathShopifyOrders = "/v1/webhooks/shopify/orders"
)

// newIngest creates the ingest function with access to what ingesting
// needs of the table (shops, API keys, orders, summaries, webhook ids) and
// none to campaign data (access.go), and routes POST /v1/orders and
// POST /v1/webhooks/shopify/orders to it.
func newIngest(fns *functions, d *data, a *api) awslambda.Function {
	fn := fns.newGo(goFunction{
		Name:        "ingest",
		Description: "winback: POST /v1/orders and the Shopify orders webhook",
		Env:         a.functionEnv(map[string]*string{envTable: d.Table.TableName()}),
		// A flood starts at most this many instances (api.go: limits).
		ReservedConcurrency: a.Limits.IngestConcurrency,
	})
	d.allow(fn, ingestAccess...)
	d.deny(fn, ingestDenied)
	a.addRoute(awsapigatewayv2.HttpMethod_POST, pathOrders, fn)
	a.addRoute(awsapigatewayv2.HttpMethod_POST, pathShopifyOrders, fn)
	return fn
}
