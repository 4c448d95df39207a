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

// newIngest creates the ingest function with read/write access to the
// table, and routes POST /v1/orders and POST /v1/webhooks/shopify/orders
// to it.
func newIngest(fns *functions, d *data, a *api) awslambda.Function {
	fn := fns.newGo(goFunction{
		Name:        "ingest",
		Description: "winback: POST /v1/orders and the Shopify orders webhook",
		Env:         map[string]*string{envTable: d.Table.TableName()},
	})
	d.Table.GrantReadWriteData(fn)
	a.addRoute(awsapigatewayv2.HttpMethod_POST, pathOrders, fn)
	a.addRoute(awsapigatewayv2.HttpMethod_POST, pathShopifyOrders, fn)
	return fn
}
