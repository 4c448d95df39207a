package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// The stack is synthesized once per test binary: every synth round-trips
// through the jsii node process, and the tests only read the template.
var (
	synthOnce sync.Once
	synthTpl  assertions.Template
	synthJSON map[string]any
	synthErr  error
	assetDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	if assetDir != "" {
		os.RemoveAll(assetDir)
	}
	os.Exit(code)
}

// template returns the synthesized Winback stack, built with the context of
// the repository's cdk.json (so the feature flags match `cdk synth`) and a
// temporary asset directory holding a dummy bootstrap per function.
func template(t *testing.T) (assertions.Template, map[string]any) {
	t.Helper()
	synthOnce.Do(func() { synthErr = synthesize() })
	if synthErr != nil {
		t.Fatalf("synthesize: %v", synthErr)
	}
	return synthTpl, synthJSON
}

func synthesize() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	assetDir, err = os.MkdirTemp("", "winback-infra-assets-")
	if err != nil {
		return err
	}
	names := []string{"ingest"}
	if entries, err := os.ReadDir("../functions"); err == nil {
		for _, e := range entries {
			if e.IsDir() && !slices.Contains(names, e.Name()) {
				names = append(names, e.Name())
			}
		}
	}
	for _, name := range names {
		if err := os.MkdirAll(filepath.Join(assetDir, name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(assetDir, name, "zoneinfo.zip"), []byte("dummy"), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(assetDir, name, "bootstrap"), []byte("dummy"), 0o755); err != nil {
			return err
		}
	}

	var cdkJSON struct {
		Context map[string]any `json:"context"`
	}
	raw, err := os.ReadFile("../cdk.json")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &cdkJSON); err != nil {
		return fmt.Errorf("cdk.json: %w", err)
	}

	app := awscdk.NewApp(&awscdk.AppProps{Context: &cdkJSON.Context})
	stack := NewWinbackStack(app, "Winback", &WinbackStackProps{AssetDir: assetDir})
	synthTpl = assertions.Template_FromStack(stack, nil)
	synthJSON = *synthTpl.ToJSON()
	return nil
}

// check runs one CDK assertion, turning its panic (how jsii reports a
// failed match) into a test error that names what was checked.
func check(t *testing.T, what string, assertion func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assertion()
}

// resources returns the template's resources of one type by logical id.
func resources(tpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	all, _ := tpl["Resources"].(map[string]any)
	for id, r := range all {
		res, _ := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// onlyID returns the logical id of the single resource of a type.
func onlyID(t *testing.T, tpl map[string]any, typ string) string {
	t.Helper()
	rs := resources(tpl, typ)
	if len(rs) != 1 {
		t.Fatalf("%s: got %d resources, want 1", typ, len(rs))
	}
	for id := range rs {
		return id
	}
	return ""
}

// functionID returns the logical id of the function newGo created for
// name: its construct id is the capitalised name + "Function", to which
// CDK appends a hash of the construct path.
func functionID(t *testing.T, tpl map[string]any, name string) string {
	t.Helper()
	re := regexp.MustCompile("^" + strings.ToUpper(name[:1]) + name[1:] + "Function[0-9A-F]{8}$")
	var ids []string
	for id := range resources(tpl, "AWS::Lambda::Function") {
		if re.MatchString(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("function %s: got logical ids %v, want one", name, ids)
	}
	return ids[0]
}

// matches reports whether the resource with logical id has the properties
// (a CDK assertions pattern: objects match when they contain the given keys).
func matches(tpl assertions.Template, typ, id string, properties map[string]any) bool {
	found := tpl.FindResources(jsii.String(typ), map[string]any{"Properties": properties})
	_, ok := (*found)[id]
	return ok
}

// routesTo returns the route keys whose target is the integration.
func routesTo(tpl map[string]any, integrationID string) []string {
	var keys []string
	for _, r := range resources(tpl, "AWS::ApiGatewayV2::Route") {
		p := props(r)
		if reflect.DeepEqual(p["Target"], map[string]any{"Fn::Join": []any{"", []any{"integrations/", ref(integrationID)}}}) {
			keys = append(keys, p["RouteKey"].(string))
		}
	}
	slices.Sort(keys)
	return keys
}

func getAtt(id, attr string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, attr}} }
func ref(id string) map[string]any          { return map[string]any{"Ref": id} }

// asList returns v as a list (IAM allows a single value or a list).
func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

func TestTable(t *testing.T) {
	// GIVEN the synthesized stack
	tpl, raw := template(t)

	// THEN there is exactly one table, keyed pk/sk, on demand, with TTL, PITR
	// and deletion protection
	check(t, "one table", func() { tpl.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1)) })
	check(t, "table properties", func() {
		tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"KeySchema": []any{
				map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
				map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
			},
			"AttributeDefinitions": []any{
				map[string]any{"AttributeName": "pk", "AttributeType": "S"},
				map[string]any{"AttributeName": "sk", "AttributeType": "S"},
			},
			"BillingMode":                      "PAY_PER_REQUEST",
			"TimeToLiveSpecification":          map[string]any{"AttributeName": "ttl", "Enabled": true},
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"DeletionProtectionEnabled":        true,
			"ProvisionedThroughput":            assertions.Match_Absent(),
			"GlobalSecondaryIndexes":           assertions.Match_Absent(),
			"LocalSecondaryIndexes":            assertions.Match_Absent(),
			"TableName":                        assertions.Match_Absent(),
		})
	})
	// AND it survives a stack deletion or replacement
	check(t, "table retained", func() {
		tpl.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy":      "Retain",
			"UpdateReplacePolicy": "Retain",
		})
	})
	// AND its name is an output
	tableID := onlyID(t, raw, "AWS::DynamoDB::Table")
	check(t, "TableName output", func() {
		tpl.HasOutput(jsii.String("TableName"), map[string]any{"Value": ref(tableID)})
	})
}

func TestIngestFunction(t *testing.T) {
	// GIVEN the synthesized stack
	tpl, raw := template(t)
	tableID := onlyID(t, raw, "AWS::DynamoDB::Table")

	// THEN the ingest function is its bootstrap on provided.al2023/arm64
	fnID := functionID(t, raw, "ingest")
	if !matches(tpl, "AWS::Lambda::Function", fnID, map[string]any{
		"Runtime":       "provided.al2023",
		"Architectures": []any{"arm64"},
		"Handler":       "bootstrap",
		"MemorySize":    256,
		"Timeout":       10,
		"Environment": map[string]any{"Variables": map[string]any{
			"WINBACK_TABLE": ref(tableID),
			"ZONEINFO":      "/var/task/zoneinfo.zip",
		}},
		"LoggingConfig": assertions.Match_ObjectLike(&map[string]any{"LogFormat": "JSON"}),
	}) {
		t.Errorf("ingest function %s: %v", fnID, props(resources(raw, "AWS::Lambda::Function")[fnID]))
	}
}

// TestFunctionLogs checks every function, whichever it is, for its own log
// group of limited retention.
// TestFunctionsReadTheShippedZoneDatabase: every Go function reads time
// zones from the zoneinfo.zip make build puts beside its binary.
func TestFunctionsReadTheShippedZoneDatabase(t *testing.T) {
	_, raw := template(t)
	for fnID, fn := range resources(raw, "AWS::Lambda::Function") {
		env, _ := props(fn)["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		if vars["ZONEINFO"] != "/var/task/zoneinfo.zip" {
			t.Errorf("%s: ZONEINFO = %v", fnID, vars["ZONEINFO"])
		}
	}
}

func TestFunctionLogs(t *testing.T) {
	_, raw := template(t)
	for fnID, fn := range resources(raw, "AWS::Lambda::Function") {
		logCfg, _ := props(fn)["LoggingConfig"].(map[string]any)
		lgRef, _ := logCfg["LogGroup"].(map[string]any)
		lgID, _ := lgRef["Ref"].(string)
		lg, ok := resources(raw, "AWS::Logs::LogGroup")[lgID]
		if !ok {
			t.Errorf("%s: LoggingConfig.LogGroup = %v, want a Ref to a log group of the stack", fnID, logCfg["LogGroup"])
			continue
		}
		if days, _ := props(lg)["RetentionInDays"].(float64); !slices.Contains(logRetentions(), int(days)) {
			t.Errorf("%s: log group RetentionInDays = %v, want one of %v (logRetentionDays)", fnID, props(lg)["RetentionInDays"], logRetentions())
		}
	}
}

func TestRoutes(t *testing.T) {
	// GIVEN the synthesized stack
	tpl, raw := template(t)
	fnID := functionID(t, raw, "ingest")

	// THEN one Lambda proxy integration, payload 2.0, invokes the ingest function
	found := tpl.FindResources(jsii.String("AWS::ApiGatewayV2::Integration"), map[string]any{"Properties": map[string]any{
		"IntegrationType":      "AWS_PROXY",
		"PayloadFormatVersion": "2.0",
		"IntegrationUri":       getAtt(fnID, "Arn"),
	}})
	if len(*found) != 1 {
		t.Fatalf("%d payload 2.0 proxy integrations of the ingest function, want 1", len(*found))
	}
	var integrationID string
	for id := range *found {
		integrationID = id
	}

	// AND exactly the two POST routes target it
	want := []string{"POST /v1/orders", "POST /v1/webhooks/shopify/orders"}
	if got := routesTo(raw, integrationID); !slices.Equal(got, want) {
		t.Errorf("routes to the ingest function: %v, want %v", got, want)
	}

	// AND every route of the API targets some function's integration
	var routed int
	for id := range resources(raw, "AWS::ApiGatewayV2::Integration") {
		routed += len(routesTo(raw, id))
	}
	if all := len(resources(raw, "AWS::ApiGatewayV2::Route")); routed != all {
		t.Errorf("%d of %d routes target an integration of the stack", routed, all)
	}

	// AND the reading routes, erasure, the campaign reports and
	// unsubscribing target the api function
	apiFn := functionID(t, raw, "api")
	apiIntegrations := 0
	for id, in := range resources(raw, "AWS::ApiGatewayV2::Integration") {
		if uri, _ := props(in)["IntegrationUri"].(map[string]any); fmt.Sprint(uri) == fmt.Sprint(getAtt(apiFn, "Arn")) {
			apiIntegrations++
			want := []string{"DELETE /v1/customers/{id}", "GET /v1/campaigns", "GET /v1/campaigns/{id}", "GET /v1/campaigns/{id}/coupons",
				"GET /v1/customers", "GET /v1/customers/{id}", "GET /v1/report", "GET /v1/unsubscribe/{token}", "POST /v1/unsubscribe/{token}"}
			if got := routesTo(raw, id); !slices.Equal(got, want) {
				t.Errorf("routes to the api function: %v, want %v", got, want)
			}
		}
	}
	if apiIntegrations != 1 {
		t.Errorf("%d integrations of the api function, want 1", apiIntegrations)
	}

	// AND API Gateway may invoke the function for each route
	check(t, "invoke permissions", func() {
		tpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Permission"), map[string]any{
			"Action":       "lambda:InvokeFunction",
			"FunctionName": getAtt(fnID, "Arn"),
			"Principal":    "apigateway.amazonaws.com",
		}, jsii.Number(2))
	})

	// AND the $default stage is throttled and writes JSON access logs
	check(t, "default stage", func() {
		tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
			"StageName":  "$default",
			"AutoDeploy": true,
			"DefaultRouteSettings": map[string]any{
				"ThrottlingBurstLimit": 200,
				"ThrottlingRateLimit":  100,
			},
			"AccessLogSettings": map[string]any{
				"DestinationArn": assertions.Match_ObjectLike(&map[string]any{"Fn::GetAtt": assertions.Match_AnyValue()}),
				"Format":         assertions.Match_StringLikeRegexp(jsii.String(`\$context\.requestId`)),
			},
		})
	})
	for _, st := range resources(raw, "AWS::ApiGatewayV2::Stage") {
		als, _ := props(st)["AccessLogSettings"].(map[string]any)
		format, _ := als["Format"].(string)
		var line map[string]string
		if err := json.Unmarshal([]byte(format), &line); err != nil {
			t.Errorf("access log format is not a JSON object of strings: %v (%q)", err, format)
		}
		dest, _ := als["DestinationArn"].(map[string]any)
		att, _ := dest["Fn::GetAtt"].([]any)
		if len(att) != 2 {
			t.Fatalf("access log DestinationArn = %v, want a GetAtt of a log group", als["DestinationArn"])
		}
		if _, ok := resources(raw, "AWS::Logs::LogGroup")[att[0].(string)]; !ok {
			t.Errorf("access logs go to %v, not a log group of the stack", att[0])
		}
	}

	// AND the API URL is an output
	check(t, "ApiUrl output", func() {
		tpl.HasOutput(jsii.String("ApiUrl"), map[string]any{"Value": assertions.Match_AnyValue()})
	})
}

func TestPermissions(t *testing.T) {
	// GIVEN the synthesized stack
	tpl, raw := template(t)
	tableID := onlyID(t, raw, "AWS::DynamoDB::Table")
	fnID := functionID(t, raw, "ingest")

	// THEN no managed policy is created or attached
	check(t, "no managed policies", func() {
		tpl.ResourceCountIs(jsii.String("AWS::IAM::ManagedPolicy"), jsii.Number(0))
	})
	for id, role := range resources(raw, "AWS::IAM::Role") {
		if mp, ok := props(role)["ManagedPolicyArns"]; ok {
			t.Errorf("role %s attaches managed policies %v", id, mp)
		}
	}

	// AND no statement allows every action or every resource
	dynamoActions := map[string][]string{} // DynamoDB actions allowed, by role logical id
	for id, pol := range resources(raw, "AWS::IAM::Policy") {
		doc, _ := props(pol)["PolicyDocument"].(map[string]any)
		for _, s := range asList(doc["Statement"]) {
			st, _ := s.(map[string]any)
			for _, r := range asList(st["Resource"]) {
				if str, ok := r.(string); ok && strings.Contains(str, "*") {
					t.Errorf("policy %s: resource %q", id, str)
				}
			}
			if _, ok := st["NotResource"]; ok {
				t.Errorf("policy %s uses NotResource", id)
			}
			var dynamo []string
			for _, a := range asList(st["Action"]) {
				act, _ := a.(string)
				if act == "*" || strings.HasSuffix(act, ":*") {
					t.Errorf("policy %s: action %q", id, act)
				}
				if strings.HasPrefix(act, "dynamodb:") {
					dynamo = append(dynamo, act)
				}
			}
			if len(dynamo) == 0 || st["Effect"] != "Allow" {
				continue
			}
			// AND DynamoDB access is allowed on the table only
			for _, r := range asList(st["Resource"]) {
				if !reflect.DeepEqual(r, getAtt(tableID, "Arn")) && !reflect.DeepEqual(r, ref("AWS::NoValue")) {
					t.Errorf("policy %s: dynamodb resource %v, want only the table ARN %v", id, r, getAtt(tableID, "Arn"))
				}
			}
			for _, role := range asList(props(pol)["Roles"]) {
				r, _ := role.(map[string]any)
				roleID, _ := r["Ref"].(string)
				dynamoActions[roleID] = append(dynamoActions[roleID], dynamo...)
			}
		}
	}

	// AND the ingest function's role may read and write the table (what
	// exactly each role may do: privilege_test.go)
	actions := dynamoActions[roleOf(t, raw, fnID)]
	for _, want := range []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"} {
		if !slices.Contains(actions, want) {
			t.Errorf("the ingest role lacks %s (has %v)", want, actions)
		}
	}

	// AND only function roles have DynamoDB access
	functionRoles := map[string]bool{}
	for _, fn := range resources(raw, "AWS::Lambda::Function") {
		r, _ := props(fn)["Role"].(map[string]any)
		if att, _ := r["Fn::GetAtt"].([]any); len(att) == 2 {
			functionRoles[att[0].(string)] = true
		}
	}
	for roleID := range dynamoActions {
		if !functionRoles[roleID] {
			t.Errorf("role %s is not a function's role but has dynamodb access", roleID)
		}
	}
}

func TestMissingBootstrap(t *testing.T) {
	// GIVEN an asset directory without bin/ingest/bootstrap
	dir := t.TempDir()
	app := awscdk.NewApp(nil)

	// WHEN the stack is built
	defer func() {
		// THEN it refuses, naming the function and `make build`
		r := recover()
		if msg := fmt.Sprint(r); r == nil || !strings.Contains(msg, "ingest") || !strings.Contains(msg, "make build") {
			t.Errorf("NewWinbackStack without a bootstrap: panic %v, want one naming ingest and `make build`", r)
		}
	}()
	NewWinbackStack(app, "Winback", &WinbackStackProps{AssetDir: dir})
}

// roleOf returns the logical id of a function's role.
func roleOf(t *testing.T, raw map[string]any, fnID string) string {
	t.Helper()
	r, _ := props(resources(raw, "AWS::Lambda::Function")[fnID])["Role"].(map[string]any)
	att, _ := r["Fn::GetAtt"].([]any)
	if len(att) != 2 {
		t.Fatalf("function %s: Role = %v, want a GetAtt of a role of the stack", fnID, r)
	}
	return att[0].(string)
}

// allowed is one Allow statement of the stack's IAM policies, with the
// roles it applies to.
type allowed struct {
	policy    string
	roles     []string
	actions   []string
	resources []any
	condition any
}

func allowStatements(raw map[string]any) []allowed {
	var out []allowed
	for id, pol := range resources(raw, "AWS::IAM::Policy") {
		var roles []string
		for _, role := range asList(props(pol)["Roles"]) {
			r, _ := role.(map[string]any)
			if ref, ok := r["Ref"].(string); ok {
				roles = append(roles, ref)
			}
		}
		doc, _ := props(pol)["PolicyDocument"].(map[string]any)
		for _, s := range asList(doc["Statement"]) {
			st, _ := s.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			a := allowed{policy: id, roles: roles, resources: asList(st["Resource"]), condition: st["Condition"]}
			for _, act := range asList(st["Action"]) {
				s, _ := act.(string)
				a.actions = append(a.actions, s)
			}
			out = append(out, a)
		}
	}
	return out
}

// queueIDs returns the logical ids of the work queue and its dead-letter queue.
func queueIDs(t *testing.T, raw map[string]any) (work, dead string) {
	t.Helper()
	return queueID(t, raw, "WorkQueue"), queueID(t, raw, "WorkDeadLetterQueue")
}

// queueID returns the logical id of the queue whose construct id is name
// (CDK appends a hash of the construct path).
func queueID(t *testing.T, raw map[string]any, name string) string {
	t.Helper()
	re := regexp.MustCompile("^" + name + "[0-9A-F]{8}$")
	var ids []string
	for id := range resources(raw, "AWS::SQS::Queue") {
		if re.MatchString(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("queue %s: got logical ids %v, want one", name, ids)
	}
	return ids[0]
}

func TestQueuesAreKnown(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)

	// THEN its queues are the nightly job's and the campaign mail's, no other
	known := map[string]bool{}
	for _, name := range []string{"WorkQueue", "WorkDeadLetterQueue", "SendQueue", "SendDeadLetterQueue", "MailEventsDeadLetterQueue"} {
		known[queueID(t, raw, name)] = true
	}
	for id, q := range resources(raw, "AWS::SQS::Queue") {
		if !known[id] {
			t.Errorf("unexpected queue %s: %v", id, props(q))
		}
	}
}

func TestNightlyQueues(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)
	work, dead := queueIDs(t, raw)
	worker := functionID(t, raw, "score")
	wp, qp, dp := props(resources(raw, "AWS::Lambda::Function")[worker]), props(resources(raw, "AWS::SQS::Queue")[work]), props(resources(raw, "AWS::SQS::Queue")[dead])

	// THEN the work queue's visibility timeout is at least 6× the worker's timeout
	timeout, _ := wp["Timeout"].(float64)
	if vis, _ := qp["VisibilityTimeout"].(float64); timeout == 0 || vis < 6*timeout {
		t.Errorf("work queue VisibilityTimeout %v, worker Timeout %v: want at least 6×", qp["VisibilityTimeout"], wp["Timeout"])
	}
	// AND it redrives to the dead-letter queue after a few receives
	want := map[string]any{"deadLetterTargetArn": getAtt(dead, "Arn"), "maxReceiveCount": float64(5)}
	if !reflect.DeepEqual(qp["RedrivePolicy"], want) {
		t.Errorf("work queue RedrivePolicy = %v, want %v", qp["RedrivePolicy"], want)
	}
	// AND the dead-letter queue keeps messages 14 days (longer than the work queue)
	if dp["MessageRetentionPeriod"] != float64(14*24*3600) {
		t.Errorf("dead-letter MessageRetentionPeriod = %v, want 14 days", dp["MessageRetentionPeriod"])
	}
	if r, _ := qp["MessageRetentionPeriod"].(float64); r == 0 || r > dp["MessageRetentionPeriod"].(float64) {
		t.Errorf("work queue MessageRetentionPeriod = %v: want set, and at most the dead-letter queue's", qp["MessageRetentionPeriod"])
	}
	// AND both are encrypted
	for _, p := range []map[string]any{qp, dp} {
		if p["SqsManagedSseEnabled"] != true {
			t.Errorf("queue without SQS-managed encryption: %v", p)
		}
	}
	// AND the queue URL is an output
	if out := raw["Outputs"].(map[string]any)["WorkQueueUrl"]; !reflect.DeepEqual(out.(map[string]any)["Value"], ref(work)) {
		t.Errorf("WorkQueueUrl output = %v", out)
	}
}

func TestNightlyFunctions(t *testing.T) {
	// GIVEN the synthesized stack
	tpl, raw := template(t)
	tableID := onlyID(t, raw, "AWS::DynamoDB::Table")
	work, _ := queueIDs(t, raw)

	// THEN the planner and the worker are arm64 functions told the table and the work queue
	for name, want := range map[string]map[string]any{
		"nightly": {"MemorySize": 256, "Timeout": 900},
		"score":   {"MemorySize": 1024, "Timeout": 300},
	} {
		fnID := functionID(t, raw, name)
		want["Architectures"] = []any{"arm64"}
		want["Runtime"] = "provided.al2023"
		want["Environment"] = map[string]any{"Variables": map[string]any{
			"WINBACK_TABLE":          ref(tableID),
			"WINBACK_WORK_QUEUE_URL": ref(work),
			"ZONEINFO":               "/var/task/zoneinfo.zip",
		}}
		if !matches(tpl, "AWS::Lambda::Function", fnID, want) {
			t.Errorf("%s function %s: %v, want %v", name, fnID, props(resources(raw, "AWS::Lambda::Function")[fnID]), want)
		}
	}

	// AND the work queue feeds the worker, one shard-sized message per
	// invocation, with batch item failures and a bounded concurrency
	worker := functionID(t, raw, "score")
	esms := mappingsFrom(raw, work)
	if len(esms) != 1 {
		t.Fatalf("%d event source mappings from the work queue, want 1", len(esms))
	}
	for id, esm := range esms {
		p := props(esm)
		if !reflect.DeepEqual(p["FunctionName"], ref(worker)) {
			t.Errorf("mapping %s: the work queue → %v, want the score function", id, p["FunctionName"])
		}
		if !slices.Contains(asList(p["FunctionResponseTypes"]), any("ReportBatchItemFailures")) {
			t.Errorf("mapping %s: FunctionResponseTypes = %v, want ReportBatchItemFailures", id, p["FunctionResponseTypes"])
		}
		sc, _ := p["ScalingConfig"].(map[string]any)
		if c, _ := sc["MaximumConcurrency"].(float64); c < 2 || c > 10 {
			t.Errorf("mapping %s: MaximumConcurrency = %v, want 2..10", id, sc["MaximumConcurrency"])
		}
		if b, _ := p["BatchSize"].(float64); b < 1 || b > 10 {
			t.Errorf("mapping %s: BatchSize = %v, want 1..10", id, p["BatchSize"])
		}
	}
}

func TestNightlySchedule(t *testing.T) {
	// GIVEN the synthesized stack, without context
	_, raw := template(t)
	planner := functionID(t, raw, "nightly")

	// THEN one schedule invokes the planner at 02:30 UTC
	id := onlyID(t, raw, "AWS::Scheduler::Schedule")
	p := props(resources(raw, "AWS::Scheduler::Schedule")[id])
	if p["ScheduleExpression"] != "cron(30 2 * * ? *)" || p["ScheduleExpressionTimezone"] != "UTC" || p["State"] != "ENABLED" {
		t.Errorf("schedule %s: %v in %v (%v), want cron(30 2 * * ? *) in UTC, enabled", id, p["ScheduleExpression"], p["ScheduleExpressionTimezone"], p["State"])
	}
	target, _ := p["Target"].(map[string]any)
	if !reflect.DeepEqual(target["Arn"], getAtt(planner, "Arn")) {
		t.Errorf("schedule target %v, want the nightly function", target["Arn"])
	}
	// AND its input is a scheduled event with the execution's id and time
	var in struct {
		ID, Time, Source string
		DetailType       string         `json:"detail-type"`
		Detail           map[string]any `json:"detail"`
	}
	if err := json.Unmarshal([]byte(fmt.Sprint(target["Input"])), &in); err != nil {
		t.Fatalf("schedule input %v: %v", target["Input"], err)
	}
	if in.ID != "<aws.scheduler.execution-id>" || in.Time != "<aws.scheduler.scheduled-time>" || in.DetailType != "Scheduled Event" || in.Detail == nil {
		t.Errorf("schedule input = %+v, want a scheduled event filled by the scheduler", in)
	}

	// AND the scheduler's role may only invoke the planner
	roleRef, _ := target["RoleArn"].(map[string]any)
	att, _ := roleRef["Fn::GetAtt"].([]any)
	if len(att) != 2 {
		t.Fatalf("schedule RoleArn = %v", target["RoleArn"])
	}
	role := att[0].(string)
	var n int
	for _, st := range allowStatements(raw) {
		if !slices.Contains(st.roles, role) {
			continue
		}
		n++
		if !slices.Equal(st.actions, []string{"lambda:InvokeFunction"}) {
			t.Errorf("scheduler role: actions %v, want only lambda:InvokeFunction", st.actions)
		}
		for _, r := range st.resources {
			if !strings.Contains(fmt.Sprint(r), fmt.Sprint(getAtt(planner, "Arn"))) {
				t.Errorf("scheduler role: resource %v is not the planner (or its versions)", r)
			}
		}
	}
	if n == 0 {
		t.Error("the scheduler role has no permission")
	}
}

func TestNightlyScheduleFromContext(t *testing.T) {
	// GIVEN the context keys nightlySchedule and nightlyTimezone
	template(t) // the asset directory
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{
		"nightlySchedule": "cron(15 3 * * ? *)",
		"nightlyTimezone": "Europe/Berlin",
	}})

	// WHEN the stack is synthesized
	stack := NewWinbackStack(app, "Winback", &WinbackStackProps{AssetDir: assetDir})
	tpl := assertions.Template_FromStack(stack, nil)

	// THEN the schedule runs then, there
	check(t, "schedule from context", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Scheduler::Schedule"), map[string]any{
			"ScheduleExpression":         "cron(15 3 * * ? *)",
			"ScheduleExpressionTimezone": "Europe/Berlin",
		})
	})

	// AND a malformed schedule is refused, naming the key
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "nightlySchedule") {
			t.Errorf("nightlySchedule=\"2:30\": panic %v, want one naming nightlySchedule", r)
		}
	}()
	NewWinbackStack(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{"nightlySchedule": "2:30"}}),
		"Winback", &WinbackStackProps{AssetDir: assetDir})
}

func TestNightlyAlarms(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)
	work, dead := queueIDs(t, raw)
	planner := functionID(t, raw, "nightly")

	// THEN alarms watch the dead-letter queue's depth, the age of the
	// oldest work and the planner's errors
	want := []struct {
		metric    string
		dimension any
		threshold float64
	}{
		{"ApproximateNumberOfMessagesVisible", getAtt(dead, "QueueName"), 0},
		{"ApproximateAgeOfOldestMessage", getAtt(work, "QueueName"), 3600},
		{"Errors", ref(planner), 0},
	}
	alarms := resources(raw, "AWS::CloudWatch::Alarm")
	for _, w := range want {
		found := false
		for _, a := range alarms {
			p := props(a)
			dims := asList(p["Dimensions"])
			if p["MetricName"] != w.metric || len(dims) != 1 || !reflect.DeepEqual(dims[0].(map[string]any)["Value"], w.dimension) {
				continue
			}
			found = true
			if p["Threshold"] != w.threshold || p["ComparisonOperator"] != "GreaterThanThreshold" {
				t.Errorf("alarm on %s: %v %v, want > %v", w.metric, p["ComparisonOperator"], p["Threshold"], w.threshold)
			}
		}
		if !found {
			t.Errorf("no alarm on %s of %v", w.metric, w.dimension)
		}
	}
}

func TestNightlyPermissions(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)
	work, _ := queueIDs(t, raw)
	planner, worker := roleOf(t, raw, functionID(t, raw, "nightly")), roleOf(t, raw, functionID(t, raw, "score"))

	sqsActions := map[string][]string{}    // on the work queue, by role
	dynamoWrites := map[string][]allowed{} // by role
	for _, st := range allowStatements(raw) {
		for _, act := range st.actions {
			// THEN no allowed action is a wildcard
			if strings.Contains(act, "*") {
				t.Errorf("policy %s allows %q", st.policy, act)
			}
			if strings.HasPrefix(act, "sqs:") && slices.ContainsFunc(st.resources, func(r any) bool {
				return reflect.DeepEqual(r, getAtt(work, "Arn"))
			}) {
				for _, role := range st.roles {
					sqsActions[role] = append(sqsActions[role], act)
				}
			}
			switch act {
			case "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem":
				for _, role := range st.roles {
					dynamoWrites[role] = append(dynamoWrites[role], st)
				}
			}
		}
	}

	// AND only the planner and the worker may send to the work queue
	for role, acts := range sqsActions {
		if slices.Contains(acts, "sqs:SendMessage") && role != planner && role != worker {
			t.Errorf("role %s may send to the work queue", role)
		}
	}
	for _, role := range []string{planner, worker} {
		if !slices.Contains(sqsActions[role], "sqs:SendMessage") {
			t.Errorf("role %s may not send to the work queue (has %v)", role, sqsActions[role])
		}
	}
	// AND only the worker receives from it
	for role, acts := range sqsActions {
		if slices.Contains(acts, "sqs:ReceiveMessage") != (role == worker) {
			t.Errorf("role %s: sqs:ReceiveMessage allowed = %v", role, slices.Contains(acts, "sqs:ReceiveMessage"))
		}
	}

	// AND the planner writes only run items: no deletes, no batch writes,
	// and puts and updates only under the runs' partition keys
	for _, st := range dynamoWrites[planner] {
		for _, act := range st.actions {
			if act == "dynamodb:DeleteItem" || act == "dynamodb:BatchWriteItem" {
				t.Errorf("the planner may %s", act)
			}
		}
		want := map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []any{"SHOP#*#RUNS"}}}
		if !reflect.DeepEqual(st.condition, want) {
			t.Errorf("planner writes %v with condition %v, want %v", st.actions, st.condition, want)
		}
	}
	if len(dynamoWrites[planner]) == 0 {
		t.Error("the planner cannot begin runs (no PutItem/UpdateItem on run items)")
	}
	// AND the worker reads and writes the table
	var workerWrites []string
	for _, st := range dynamoWrites[worker] {
		if st.condition == nil {
			workerWrites = append(workerWrites, st.actions...)
		}
	}
	for _, want := range []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"} {
		if !slices.Contains(workerWrites, want) {
			t.Errorf("the worker lacks %s (has %v)", want, workerWrites)
		}
	}
}
