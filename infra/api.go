package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/winback/winback/shared/httpapi"
)

// The API's limits, in three layers (each one is a CDK context key with a
// default; see newLimits):
//
//  1. API Gateway throttles each route of the $default stage to
//     apiRateLimit requests per second with bursts of apiBurstLimit, all
//     shops and anonymous callers together, and answers the excess 429
//     before any function runs. The unsubscribe routes, which need no key
//     and so escape the functions' per-address limit, have their own,
//     smaller throttle (routeThrottles).
//  2. Each warm instance of the ingest and api functions limits each shop
//     to shopRateLimit requests per second (bursts of shopBurstLimit), and
//     each client address to httpapi.DefaultLimits' UnauthRate requests
//     per second without a valid API key (bursts of UnauthBurst),
//     answering 429 problem+json with Retry-After (shared/httpapi, told
//     them through httpapi.EnvShopRate and friends).
//  3. The ingest and api functions have a reserved concurrency
//     (ingestConcurrency, apiConcurrency): the most instances a flood can
//     start, which bounds their share of the account's Lambda concurrency
//     and what they can ask of DynamoDB. Past it API Gateway answers 5xx
//     (the function is throttled, the Throttles alarm goes off).
const (
	ctxAPIRateLimit      = "apiRateLimit"
	ctxAPIBurstLimit     = "apiBurstLimit"
	ctxShopRateLimit     = "shopRateLimit"
	ctxShopBurstLimit    = "shopBurstLimit"
	ctxIngestConcurrency = "ingestConcurrency"
	ctxAPIConcurrency    = "apiConcurrency"

	// defaultThrottleRate and defaultThrottleBurst are API Gateway's
	// throttle of each route, which bounds what a flood of one route
	// costs: 100/s is 360,000 requests an hour, about $0.45 in API
	// Gateway ($1.00 a million) and Lambda ($0.20 a million, and a few
	// milliseconds each) charges.
	defaultThrottleRate  = 100 // requests per second, steady state
	defaultThrottleBurst = 200

	// The per-shop limit's defaults, and the per-address limit of
	// requests without a valid key, are the functions' own
	// (httpapi.DefaultLimits, which says why).

	// defaultIngestConcurrency: an ingest instance storing batches of 100
	// orders (about 1 s each, 4-8 write units an order) writes at most
	// about 800 write units a second; 5 instances stay within the 4,000 a
	// new on-demand table serves at once, and take single orders (about
	// 30 ms) at about 160 a second, above the route's throttle, so that
	// API Gateway's clean 429 comes before the function's throttling.
	defaultIngestConcurrency = 5
	// defaultAPIConcurrency: reading routes take 10-50 ms, so 10 instances
	// serve 200-1,000 requests a second, above the routes' throttle; a
	// page of customers reads up to 1 MB (128 read units), so 10 instances
	// stay near the 12,000 read units a new on-demand table serves at once.
	defaultAPIConcurrency = 10

	// The unsubscribe routes' own throttle: a campaign mails at SES's
	// rate (14/s by default) and far fewer than 1 in 100 recipients
	// unsubscribe, so 20/s is ample for real readers and caps what a flood
	// of links, which the per-address limit does not see, can cost.
	unsubscribeThrottleRate  = 20
	unsubscribeThrottleBurst = 40
)

// throttle is an API Gateway rate (requests per second) and burst.
type throttle struct{ rate, burst float64 }

// routeThrottles are the routes whose throttle is not the stage's, by
// route key.
var routeThrottles = map[string]throttle{
	"GET " + pathUnsubscribe:  {unsubscribeThrottleRate, unsubscribeThrottleBurst},
	"POST " + pathUnsubscribe: {unsubscribeThrottleRate, unsubscribeThrottleBurst},
}

// limits are the API's limits as the stack sets them.
type limits struct {
	Stage             throttle
	ShopRate          float64
	ShopBurst         int
	IngestConcurrency int
	APIConcurrency    int
}

// newLimits reads the limits from the CDK context, with their defaults,
// for stackConfig; a value that cannot be right stops the synthesis with
// an error naming its key.
func newLimits(scope constructs.Construct) limits {
	positive := func(key string, def float64) float64 {
		v := contextNumber(scope, key, def)
		if !(v > 0) || math.IsInf(v, 1) {
			panic(fmt.Errorf("context %s = %v: want requests per second, above 0", key, v))
		}
		return v
	}
	whole := func(key string, def, least float64) int {
		v := contextNumber(scope, key, def)
		if v != math.Trunc(v) || v < least || v > 10_000 {
			panic(fmt.Errorf("context %s = %v: want a whole number from %v to 10000", key, v, least))
		}
		return int(v)
	}
	return limits{
		Stage:             throttle{positive(ctxAPIRateLimit, defaultThrottleRate), float64(whole(ctxAPIBurstLimit, defaultThrottleBurst, 1))},
		ShopRate:          positive(ctxShopRateLimit, httpapi.DefaultLimits.ShopRate),
		ShopBurst:         whole(ctxShopBurstLimit, float64(httpapi.DefaultLimits.ShopBurst), 1),
		IngestConcurrency: whole(ctxIngestConcurrency, defaultIngestConcurrency, 0),
		APIConcurrency:    whole(ctxAPIConcurrency, defaultAPIConcurrency, 0),
	}
}

// functionEnv is env with the functions' request limits added.
func (a *api) functionEnv(env map[string]*string) map[string]*string {
	format := func(f float64) *string { return jsii.String(strconv.FormatFloat(f, 'f', -1, 64)) }
	out := map[string]*string{
		httpapi.EnvShopRate:    format(a.Limits.ShopRate),
		httpapi.EnvShopBurst:   format(float64(a.Limits.ShopBurst)),
		httpapi.EnvUnauthRate:  format(httpapi.DefaultLimits.UnauthRate),
		httpapi.EnvUnauthBurst: format(float64(httpapi.DefaultLimits.UnauthBurst)),
	}
	for k, v := range env {
		out[k] = v
	}
	return out
}

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
	// Limits are the API's limits (the stage's throttle, the functions'
	// per-shop limits and reserved concurrency).
	Limits limits
	// integrations holds one Lambda proxy integration per function, by the
	// function's construct id, shared by all the function's routes.
	integrations map[string]awsapigatewayv2integrations.HttpLambdaIntegration
	// routeSettings are the stage's route-level throttles, by route key.
	routeSettings map[string]any
}

// newAPI creates the HTTP API with its $default stage (auto-deployed,
// throttled as cfg.Limits says, JSON access logs kept
// cfg.LogRetentionDays), without routes.
func newAPI(scope constructs.Construct, cfg config) *api {
	lim := cfg.Limits
	httpAPI := awsapigatewayv2.NewHttpApi(scope, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description: jsii.String("winback public API"),
		// The default stage is added below, with throttling and access logs.
		CreateDefaultStage: jsii.Bool(false),
	})
	stage := httpAPI.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			BurstLimit: jsii.Number(lim.Stage.burst),
			RateLimit:  jsii.Number(lim.Stage.rate),
		},
		AccessLogSettings: newAccessLogSettings(awslogs.NewLogGroup(scope, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
			Retention:     retentionDays[cfg.LogRetentionDays],
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})),
	})
	return &api{HTTP: httpAPI, Stage: stage, Limits: lim,
		integrations: map[string]awsapigatewayv2integrations.HttpLambdaIntegration{}, routeSettings: map[string]any{}}
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
	routes := a.HTTP.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String(path),
		Methods:     &[]awsapigatewayv2.HttpMethod{method},
		Integration: integration,
	})
	key := string(method) + " " + path
	if t, ok := routeThrottles[key]; ok {
		// The stage names the route by its key: the route must exist
		// before the stage's settings for it.
		a.routeSettings[key] = map[string]any{"ThrottlingRateLimit": t.rate, "ThrottlingBurstLimit": t.burst}
		stage := a.Stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
		stage.SetRouteSettings(a.routeSettings)
		for _, r := range *routes {
			stage.Node().AddDependency(r)
		}
	}
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
