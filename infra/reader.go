package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
)

// Paths served by the api function.
const (
	pathCustomers       = "/v1/customers"
	pathCustomer        = "/v1/customers/{id}"
	pathReport          = "/v1/report"
	pathCampaigns       = "/v1/campaigns"
	pathCampaign        = "/v1/campaigns/{id}"
	pathCampaignCoupons = "/v1/campaigns/{id}/coupons"
	// pathUnsubscribe is the RFC 8058 one-click link of every campaign
	// e-mail (the sender's unsubscribe base + this path).
	pathUnsubscribe = "/v1/unsubscribe/{token}"
)

// newReader creates the api function, which serves what the nightly job
// and the campaigns stored (customers' scores, the shop's report, campaign
// reports and coupons), erasure and unsubscribing, and routes its paths to
// it. Erasure deletes a customer's items and unsubscribing writes a
// suppression and the recipient's event, so it may write.
//
// No route has an authorizer: the function checks the shop's API key on
// every route but the unsubscribe ones, whose signed token is the
// authority (a mail provider's one-click POST carries no credentials).
func newReader(fns *functions, d *data, a *api) awslambda.Function {
	fn := fns.newGo(goFunction{
		Name:        "api",
		Description: "winback: customers, report, campaigns, erasure and the unsubscribe page",
		Env:         a.functionEnv(map[string]*string{envTable: d.Table.TableName()}),
		// A flood starts at most this many instances (api.go: limits).
		ReservedConcurrency: a.Limits.APIConcurrency,
	})
	d.allow(fn, apiAccess...)
	a.addRoute(awsapigatewayv2.HttpMethod_GET, pathCustomers, fn)
	a.addRoute(awsapigatewayv2.HttpMethod_GET, pathCustomer, fn)
	a.addRoute(awsapigatewayv2.HttpMethod_DELETE, pathCustomer, fn)
	a.addRoute(awsapigatewayv2.HttpMethod_GET, pathReport, fn)
	a.addRoute(awsapigatewayv2.HttpMethod_GET, pathCampaigns, fn)
	a.addRoute(awsapigatewayv2.HttpMethod_GET, pathCampaign, fn)
	a.addRoute(awsapigatewayv2.HttpMethod_GET, pathCampaignCoupons, fn)
	// GET shows a confirmation page and changes nothing (link scanners
	// follow GETs); POST is the one-click unsubscribe.
	a.addRoute(awsapigatewayv2.HttpMethod_GET, pathUnsubscribe, fn)
	a.addRoute(awsapigatewayv2.HttpMethod_POST, pathUnsubscribe, fn)
	return fn
}
