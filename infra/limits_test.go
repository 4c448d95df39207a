package main

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"

	"github.com/winback/winback/shared/httpapi"
)

// unreservedMinimum is the Lambda concurrency an account must keep
// unreserved, and defaultAccountConcurrency an established account's
// default quota: reservations beyond the difference fail the deployment.
const (
	unreservedMinimum         = 100
	defaultAccountConcurrency = 1000
)

// stageOf returns the properties and DependsOn of the stack's only stage.
func stageOf(t *testing.T, raw map[string]any) (properties map[string]any, dependsOn []string) {
	t.Helper()
	id := onlyID(t, raw, "AWS::ApiGatewayV2::Stage")
	st := resources(raw, "AWS::ApiGatewayV2::Stage")[id]
	for _, d := range asList(st["DependsOn"]) {
		if s, ok := d.(string); ok {
			dependsOn = append(dependsOn, s)
		}
	}
	return props(st), dependsOn
}

// routeIDs returns the logical ids of the routes, by route key.
func routeIDs(raw map[string]any) map[string]string {
	out := map[string]string{}
	for id, r := range resources(raw, "AWS::ApiGatewayV2::Route") {
		key, _ := props(r)["RouteKey"].(string)
		out[key] = id
	}
	return out
}

// limitsOf is what the stack sets for one function: its reserved
// concurrency (nil: none) and its limits' environment.
func limitsOf(t *testing.T, raw map[string]any, name string) (reserved any, env map[string]any) {
	t.Helper()
	id := functionID(t, raw, name)
	vars := envOf(raw, id)
	env = map[string]any{}
	for _, k := range []string{httpapi.EnvShopRate, httpapi.EnvShopBurst, httpapi.EnvUnauthRate, httpapi.EnvUnauthBurst} {
		env[k] = vars[k]
	}
	return props(resources(raw, "AWS::Lambda::Function")[id])["ReservedConcurrentExecutions"], env
}

func TestAPILimits(t *testing.T) {
	// GIVEN the synthesized stack with the default context
	_, raw := template(t)

	// THEN every route is throttled by the stage's defaults
	p, dependsOn := stageOf(t, raw)
	if got, want := p["DefaultRouteSettings"], map[string]any{
		"ThrottlingRateLimit": float64(defaultThrottleRate), "ThrottlingBurstLimit": float64(defaultThrottleBurst),
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultRouteSettings %v, want %v", got, want)
	}
	// AND the unsubscribe routes have their own, smaller throttle, with
	// the stage depending on them (it names them by key)
	routes := routeIDs(raw)
	settings, _ := p["RouteSettings"].(map[string]any)
	want := map[string]any{"ThrottlingRateLimit": float64(unsubscribeThrottleRate), "ThrottlingBurstLimit": float64(unsubscribeThrottleBurst)}
	for _, key := range []string{"GET /v1/unsubscribe/{token}", "POST /v1/unsubscribe/{token}"} {
		if !reflect.DeepEqual(settings[key], want) {
			t.Errorf("RouteSettings[%q] = %v, want %v", key, settings[key], want)
		}
		if id := routes[key]; id == "" || !slices.Contains(dependsOn, id) {
			t.Errorf("the stage does not depend on route %s (%q); DependsOn %v", key, id, dependsOn)
		}
	}
	if len(settings) != 2 {
		t.Errorf("RouteSettings %v: want only the unsubscribe routes", settings)
	}
	if unsubscribeThrottleRate >= defaultThrottleRate {
		t.Error("the unsubscribe routes' throttle is not below the stage's")
	}

	// AND the ingest and api functions have reserved concurrency and
	// their per-shop and per-address limits in their environment
	wantEnv := map[string]any{httpapi.EnvShopRate: "20", httpapi.EnvShopBurst: "40", httpapi.EnvUnauthRate: "1", httpapi.EnvUnauthBurst: "20"}
	for name, concurrency := range map[string]float64{"ingest": defaultIngestConcurrency, "api": defaultAPIConcurrency} {
		reserved, env := limitsOf(t, raw, name)
		if reserved != concurrency {
			t.Errorf("%s: ReservedConcurrentExecutions %v, want %v", name, reserved, concurrency)
		}
		if !reflect.DeepEqual(env, wantEnv) {
			t.Errorf("%s: limits environment %v, want %v", name, env, wantEnv)
		}
	}

	// AND every reservation of the stack together leaves the account's
	// unreserved minimum of a default quota
	total := 0.0
	for id, fn := range resources(raw, "AWS::Lambda::Function") {
		if n, ok := props(fn)["ReservedConcurrentExecutions"].(float64); ok {
			total += n
			t.Logf("%s reserves %v", id, n)
		}
	}
	if total > defaultAccountConcurrency-unreservedMinimum {
		t.Errorf("the stack reserves %v concurrent executions: more than a default account (%d) can spare (%d unreserved)",
			total, defaultAccountConcurrency, unreservedMinimum)
	}
}

func TestAPILimitsReadByTheFunctions(t *testing.T) {
	// GIVEN the synthesized stack with the default context
	_, raw := template(t)

	// WHEN the functions read the limits the stack tells them
	_, env := limitsOf(t, raw, "ingest")
	got, err := httpapi.LimitsFromEnv(func(k string) string { s, _ := env[k].(string); return s })

	// THEN they accept them, and they are the functions' defaults
	if err != nil || got != httpapi.DefaultLimits {
		t.Errorf("the functions read the stack's environment %v as %+v, %v; want %+v", env, got, err, httpapi.DefaultLimits)
	}
}

func TestAPILimitsFromContext(t *testing.T) {
	template(t) // the asset directory

	// GIVEN other limits in the context (numbers or strings, as -c gives them)
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{
		"apiRateLimit":      "250",
		"apiBurstLimit":     500,
		"shopRateLimit":     "7.5",
		"shopBurstLimit":    "15",
		"ingestConcurrency": "0",
		"apiConcurrency":    25,
	}})

	// WHEN the stack is synthesized
	raw := *assertions.Template_FromStack(NewWinbackStack(app, "Winback", &WinbackStackProps{AssetDir: assetDir}), nil).ToJSON()

	// THEN the stage, the functions' environment and reservations follow
	p, _ := stageOf(t, raw)
	if got, want := p["DefaultRouteSettings"], map[string]any{"ThrottlingRateLimit": float64(250), "ThrottlingBurstLimit": float64(500)}; !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultRouteSettings %v, want %v", got, want)
	}
	reserved, env := limitsOf(t, raw, "ingest")
	if reserved != nil {
		t.Errorf("ingestConcurrency 0: ReservedConcurrentExecutions %v, want none", reserved)
	}
	if env[httpapi.EnvShopRate] != "7.5" || env[httpapi.EnvShopBurst] != "15" {
		t.Errorf("ingest limits environment %v, want 7.5 and 15", env)
	}
	if reserved, _ := limitsOf(t, raw, "api"); reserved != float64(25) {
		t.Errorf("apiConcurrency 25: ReservedConcurrentExecutions %v", reserved)
	}
}

func TestAPILimitsContextRefused(t *testing.T) {
	template(t) // the asset directory
	for _, tt := range []struct {
		key   string
		value any
	}{
		{"apiRateLimit", "0"},
		{"apiRateLimit", "lots"},
		{"apiBurstLimit", "1.5"},
		{"shopRateLimit", -1},
		{"shopBurstLimit", "0"},
		{"ingestConcurrency", "-1"},
		{"apiConcurrency", 2.5},
		{"apiConcurrency", 100000},
	} {
		t.Run(tt.key+"="+fmt.Sprint(tt.value), func(t *testing.T) {
			// GIVEN a bad value of a context key
			app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{tt.key: tt.value}})

			// WHEN the stack is built
			defer func() {
				// THEN it refuses, naming the key
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), tt.key) {
					t.Errorf("panic %v, want one naming %s", r, tt.key)
				}
			}()
			NewWinbackStack(app, "Winback", &WinbackStackProps{AssetDir: assetDir})
		})
	}
}
