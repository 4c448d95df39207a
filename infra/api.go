package main

import (
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Paths served by the ingest function (POST only).
const (
	pathOrders        = "/v1/orders"
	pathShopifyOrders = "/v1/webhooks/shopify/orders"
)

// Stage-wide throttling of the HTTP API (all routes, all shops together).
const (
	throttleBurst = 200
	throttleRate  = 100 // requests per second, steady state
)

// accessLogFields is the JSON access log line of the HTTP API, one key per
// $context variable; no request bodies, headers or query strings.
var accessLogFields = map[string]string{
	"requestId":          "$context.requestId",
	"time":               "$context.requestTime",
	"ip":                 "$context.identity.sourceIp",
	"method":             "$context.httpMethod",
	"routeKey":           "$context.routeKey",
	"path":               "$context.path",
	"protocol":           "$context.protocol",
	"status":             "$context.status",
	"responseLength":     "$context.responseLength",
	"latencyMs":          "$context.responseLatency",
	"integrationLatency": "$context.integrationLatency",
	"integrationStatus":  "$context.integrationStatus",
	"integrationError":   "$context.integrationErrorMessage",
	"error":              "$context.error.message",
}

// api is the public HTTP API and the functions behind its routes.
type api struct {
	HTTP   awsapigatewayv2.HttpApi
	Stage  awsapigatewayv2.HttpStage
	Ingest awslambda.Function
}

// newAPI creates the ingest function with read/write access to the table,
// and the HTTP API ($default stage, throttled, JSON access logs) routing
// POST /v1/orders and POST /v1/webhooks/shopify/orders to it (payload 2.0).
func newAPI(scope constructs.Construct, fns *functions, d *data) *api {
	ingest := fns.newGo(goFunction{
		Name:        "ingest",
		Description: "winback: POST /v1/orders and the Shopify orders webhook",
		Env:         map[string]*string{envTable: d.Table.TableName()},
	})
	d.Table.GrantReadWriteData(ingest)

	httpAPI := awsapigatewayv2.NewHttpApi(scope, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description: jsii.String("winback public API"),
		// The default stage is added below, with throttling and access logs.
		CreateDefaultStage: jsii.Bool(false),
	})
	stage := httpAPI.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			BurstLimit: jsii.Number(throttleBurst),
			RateLimit:  jsii.Number(throttleRate),
		},
		AccessLogSettings: newAccessLogSettings(awslogs.NewLogGroup(scope, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
			Retention:     logRetention,
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})),
	})

	ingestIntegration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Ingest"), ingest,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
			PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
		})
	for _, path := range []string{pathOrders, pathShopifyOrders} {
		httpAPI.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST},
			Integration: ingestIntegration,
		})
	}
	return &api{HTTP: httpAPI, Stage: stage, Ingest: ingest}
}

// accessLogSettings sends a stage's access logs to a CloudWatch log group.
type accessLogSettings struct {
	destination awsapigatewayv2.IAccessLogDestination
	format      awsapigateway.AccessLogFormat
}

var _ awsapigatewayv2.IAccessLogSettings = (*accessLogSettings)(nil)

func newAccessLogSettings(group awslogs.ILogGroup) *accessLogSettings {
	line, err := json.Marshal(accessLogFields)
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return &accessLogSettings{
		destination: awsapigatewayv2.NewLogGroupLogDestination(group),
		format:      awsapigateway.AccessLogFormat_Custom(jsii.String(string(line))),
	}
}

// Destination is the log group receiving the access logs.
func (s *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination {
	return s.destination
}

// Format is the JSON line written per request.
func (s *accessLogSettings) Format() awsapigateway.AccessLogFormat { return s.format }
