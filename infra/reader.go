package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
)

// Paths served by the api function.
const (
	pathCustomers = "/v1/customers"
	pathCustomer  = "/v1/customers/{id}"
	pathReport    = "/v1/report"
)

// newReader creates the api function, which serves what the nightly job
// stored (customers' scores, the shop's report) and erasure, and routes
// its paths to it. Erasure deletes a customer's items, so it may write.
func newReader(fns *functions, d *data, a *api) awslambda.Function {
	fn := fns.newGo(goFunction{
		Name:        "api",
		Description: "winback: GET /v1/customers, GET|DELETE /v1/customers/{id}, GET /v1/report",
		Env:         map[string]*string{envTable: d.Table.TableName()},
	})
	d.Table.GrantReadWriteData(fn)
	a.addRoute(awsapigatewayv2.HttpMethod_GET, pathCustomers, fn)
	a.addRoute(awsapigatewayv2.HttpMethod_GET, pathCustomer, fn)
	a.addRoute(awsapigatewayv2.HttpMethod_DELETE, pathCustomer, fn)
	a.addRoute(awsapigatewayv2.HttpMethod_GET, pathReport, fn)
	return fn
}
