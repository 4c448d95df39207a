package main

import (
	"encoding/json"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
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

// api is the public HTTP API. Functions attach their routes with addRoute.
type api struct {
	HTTP  awsapigatewayv2.HttpApi
	Stage awsapigatewayv2.HttpStage
	// integrations holds one Lambda proxy integration per function, by the
	// function's construct id, shared by all the function's routes.
	integrations map[string]awsapigatewayv2integrations.HttpLambdaIntegration
}

// newAPI creates the HTTP API with its $default stage (auto-deployed,
// throttled, JSON access logs), without routes.
func newAPI(scope constructs.Construct) *api {
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
	return &api{HTTP: httpAPI, Stage: stage, integrations: map[string]awsapigatewayv2integrations.HttpLambdaIntegration{}}
}

// addRoute routes method and path to fn through a Lambda proxy integration
// with payload format 2.0 (one integration per function, whatever its
// number of routes); the integration grants API Gateway the invoke
// permission per route.
func (a *api) addRoute(method awsapigatewayv2.HttpMethod, path string, fn awslambda.IFunction) {
	id := *fn.Node().Id()
	integration, ok := a.integrations[id]
	if !ok {
		// "Ingest" for IngestFunction: the id the integration had before
		// addRoute, so deployed stacks keep their integration.
		name := strings.TrimSuffix(id, "Function")
		integration = awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(name), fn,
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			})
		a.integrations[id] = integration
	}
	a.HTTP.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String(path),
		Methods:     &[]awsapigatewayv2.HttpMethod{method},
		Integration: integration,
	})
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
