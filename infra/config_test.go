package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
)

// synthWith synthesizes the stack with the given context only.
func synthWith(t *testing.T, ctx map[string]any) map[string]any {
	t.Helper()
	template(t) // the asset directory
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	return *assertions.Template_FromStack(NewWinbackStack(app, "Winback", &WinbackStackProps{AssetDir: assetDir}), nil).ToJSON()
}

// tagOf returns the value of a resource's tag ("" when it has none).
func tagOf(r map[string]any, key string) string {
	for _, tag := range asList(props(r)["Tags"]) {
		m, _ := tag.(map[string]any)
		if m["Key"] == key {
			return fmt.Sprint(m["Value"])
		}
	}
	return ""
}

func TestConfigDefaults(t *testing.T) {
	// GIVEN no context at all
	app := awscdk.NewApp(nil)

	// WHEN the configuration is read
	got := stackConfig(app)

	// THEN every key has its default
	want := config{
		Stage: "prod", SenderIdentities: []string{"example.com"}, SESMaxSendRate: 14,
		NightlySchedule: "cron(30 2 * * ? *)", NightlyTimezone: "UTC",
		LogRetentionDays: 30, SendRetentionDays: 400,
		Limits: limits{Stage: throttle{rate: 100, burst: 200}, ShopRate: 20, ShopBurst: 40, IngestConcurrency: 5, APIConcurrency: 10},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stackConfig() = %+v, want %+v", got, want)
	}
}

func TestSynthWithoutContext(t *testing.T) {
	// GIVEN the stack synthesized without any of its context keys
	raw := synthWith(t, map[string]any{})

	// THEN it is the prod stage: its description says so, every function,
	// log group and the table carry the tag, the alarm mails say so
	if d := raw["Description"]; d != "winback (prod): serverless retention toolkit for online shops" {
		t.Errorf("Description = %v", d)
	}
	for _, typ := range []string{"AWS::Lambda::Function", "AWS::Logs::LogGroup", "AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SNS::Topic"} {
		for id, r := range resources(raw, typ) {
			if v := tagOf(r, stageTag); v != "prod" {
				t.Errorf("%s %s: tag %s = %q, want prod", typ, id, stageTag, v)
			}
		}
	}
	topic := props(resources(raw, "AWS::SNS::Topic")[onlyID(t, raw, "AWS::SNS::Topic")])
	if topic["DisplayName"] != "winback prod alarms" {
		t.Errorf("alarm topic DisplayName = %v", topic["DisplayName"])
	}
	// AND logs are kept 30 days, the API's access logs too
	groups := resources(raw, "AWS::Logs::LogGroup")
	for id, lg := range groups {
		if props(lg)["RetentionInDays"] != float64(30) {
			t.Errorf("log group %s: RetentionInDays = %v, want 30", id, props(lg)["RetentionInDays"])
		}
	}
	if len(groups) < 7 {
		t.Errorf("%d log groups, want one per function and the API's", len(groups))
	}
	// AND the function that writes recipients keeps them 400 days; the
	// sender, which only updates them, is not told
	if got := envOf(raw, functionID(t, raw, "score"))[envSendRetentionDays]; got != "400" {
		t.Errorf("score %s = %v, want 400", envSendRetentionDays, got)
	}
	if got, ok := envOf(raw, functionID(t, raw, "send"))[envSendRetentionDays]; ok {
		t.Errorf("send %s = %v, want none (it writes no recipient)", envSendRetentionDays, got)
	}
	// AND the stack creates its table, and nobody is mailed the alarms
	onlyID(t, raw, "AWS::DynamoDB::Table")
	if subs := resources(raw, "AWS::SNS::Subscription"); len(subs) != 0 {
		t.Errorf("subscriptions %v, want none", subs)
	}
}

// allGiven is a value of every context key, none its default.
var allGiven = map[string]any{
	ctxStage:              "staging",
	ctxSenderIdentity:     "shop.example, news@other.example",
	ctxSESMaxSendRate:     "50",
	ctxUnsubscribeBaseURL: "https://api.shop.example/",
	ctxNightlySchedule:    "cron(15 3 * * ? *)",
	ctxNightlyTimezone:    "Europe/Berlin",
	ctxAlarmEmail:         "ops@shop.example, oncall@shop.example",
	ctxLogRetentionDays:   "90",
	ctxSendRetentionDays:  float64(500), // cdk.json holds numbers
	ctxTableName:          "winback-restored-2026-05-01",
	ctxAPIRateLimit:       "50",
	ctxAPIBurstLimit:      "100",
	ctxShopRateLimit:      "10",
	ctxShopBurstLimit:     "20",
	ctxIngestConcurrency:  "3",
	ctxAPIConcurrency:     "4",
}

func TestSynthWithEveryKey(t *testing.T) {
	// GIVEN a value of every context key the stack reads
	for _, k := range contextKeys {
		if _, ok := allGiven[k.Key]; !ok {
			t.Fatalf("allGiven has no value of %s", k.Key)
		}
	}

	// WHEN the stack is synthesized with them
	raw := synthWith(t, allGiven)

	// THEN the stage names the deployment
	if d := raw["Description"]; d != "winback (staging): serverless retention toolkit for online shops" {
		t.Errorf("Description = %v", d)
	}
	for id, fn := range resources(raw, "AWS::Lambda::Function") {
		if v := tagOf(fn, stageTag); v != "staging" {
			t.Errorf("function %s: tag %s = %q", id, stageTag, v)
		}
	}
	topic := props(resources(raw, "AWS::SNS::Topic")[onlyID(t, raw, "AWS::SNS::Topic")])
	if topic["DisplayName"] != "winback staging alarms" {
		t.Errorf("alarm topic DisplayName = %v", topic["DisplayName"])
	}
	// AND the sender sends as both identities, 25 a second each, with
	// links on the custom domain, and the worker keeps recipients 500
	// days
	send := functionID(t, raw, "send")
	got := sendEmailResources(t, raw, roleOf(t, raw, send))
	want := []string{sesARNOf("configuration-set/Winback-campaigns"), sesARNOf("identity/news@other.example"), sesARNOf("identity/shop.example")}
	if !slices.Equal(got, want) {
		t.Errorf("ses:SendEmail on %v, want %v", got, want)
	}
	vars := envOf(raw, send)
	if vars["WINBACK_SEND_RATE"] != "25" || vars["WINBACK_UNSUBSCRIBE_BASE_URL"] != "https://api.shop.example" {
		t.Errorf("sender environment %v", vars)
	}
	if got := envOf(raw, functionID(t, raw, "score"))[envSendRetentionDays]; got != "500" {
		t.Errorf("score %s = %v, want 500", envSendRetentionDays, got)
	}
	// AND the night runs at 03:15 in Berlin
	sch := props(resources(raw, "AWS::Scheduler::Schedule")[onlyID(t, raw, "AWS::Scheduler::Schedule")])
	if sch["ScheduleExpression"] != "cron(15 3 * * ? *)" || sch["ScheduleExpressionTimezone"] != "Europe/Berlin" {
		t.Errorf("schedule %v in %v", sch["ScheduleExpression"], sch["ScheduleExpressionTimezone"])
	}
	// AND both addresses are mailed the alarms
	var emails []string
	for _, sub := range resources(raw, "AWS::SNS::Subscription") {
		if p := props(sub); p["Protocol"] == "email" {
			emails = append(emails, fmt.Sprint(p["Endpoint"]))
		}
	}
	slices.Sort(emails)
	if !slices.Equal(emails, []string{"oncall@shop.example", "ops@shop.example"}) {
		t.Errorf("alarm e-mails to %v", emails)
	}
	// AND every log group keeps 90 days
	for id, lg := range resources(raw, "AWS::Logs::LogGroup") {
		if props(lg)["RetentionInDays"] != float64(90) {
			t.Errorf("log group %s: RetentionInDays = %v, want 90", id, props(lg)["RetentionInDays"])
		}
	}
	// AND the stack uses the named table instead of creating one
	if n := len(resources(raw, "AWS::DynamoDB::Table")); n != 0 {
		t.Errorf("%d tables created, want none", n)
	}
}

func TestTableFromContext(t *testing.T) {
	// GIVEN the name of a table restored from a point in time
	const name = "winback-restored-2026-05-01"

	// WHEN the stack is synthesized with it
	raw := synthWith(t, map[string]any{ctxTableName: name})

	// THEN no table is created, every function is told the restored one,
	// and its name is the TableName output
	if n := len(resources(raw, "AWS::DynamoDB::Table")); n != 0 {
		t.Errorf("%d tables created, want none", n)
	}
	for id := range resources(raw, "AWS::Lambda::Function") {
		if got := envOf(raw, id)[envTable]; got != name {
			t.Errorf("function %s: %s = %v, want %s", id, envTable, got, name)
		}
	}
	out, _ := raw["Outputs"].(map[string]any)["TableName"].(map[string]any)
	if out["Value"] != name {
		t.Errorf("TableName output = %v, want %s", out["Value"], name)
	}
	// AND every DynamoDB statement is on that table and no other, granted
	// as on the stack's own: the ingest function still denied campaign
	// data, the planner still limited to its partitions
	tableArn := "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/" + name
	var n int
	for _, st := range statements(raw) {
		if !slices.ContainsFunc(st.actions, func(a string) bool { return strings.HasPrefix(a, "dynamodb:") }) {
			continue
		}
		n++
		var rs []string
		for _, r := range st.resources {
			rs = append(rs, render(r))
		}
		if !slices.Equal(rs, []string{tableArn}) {
			t.Errorf("%s: %v on %v, want only %s", st.where, st.actions, rs, tableArn)
		}
	}
	if n == 0 {
		t.Fatal("no DynamoDB statement")
	}
	for _, tt := range []struct {
		fn      string
		effect  string
		operand string
	}{{"ingest", "Deny", "ForAnyValue:StringLike"}, {"nightly", "Allow", "ForAllValues:StringLike"}} {
		role := roleOf(t, raw, functionID(t, raw, tt.fn))
		found := false
		for _, st := range statements(raw) {
			if _, ok := leadingKeys(st.condition, tt.operand); ok && st.effect == tt.effect && slices.Contains(st.roles, role) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no %s under %s on the restored table", tt.fn, tt.effect, tt.operand)
		}
	}
}

func TestConfigRefused(t *testing.T) {
	for _, tt := range []struct {
		key   string
		value any
	}{
		{ctxStage, "Prod"},
		{ctxStage, "my stage"},
		{ctxStage, "a-very-long-stage-name-indeed"},
		{ctxLogRetentionDays, "45"},
		{ctxLogRetentionDays, "a month"},
		{ctxLogRetentionDays, float64(30.5)},
		{ctxSendRetentionDays, "100"},
		{ctxSendRetentionDays, "5000"},
		{ctxNightlyTimezone, "Europe/Berln"},
		{ctxNightlyTimezone, "Local"},
		{ctxNightlyTimezone, "CET extra"},
		{ctxTableName, "ab"},
		{ctxTableName, "arn:aws:dynamodb:eu-west-1:123456789012:table/winback"},
		{ctxAlarmEmail, "ops"},
		{ctxSenderIdentity, "*.shop.example"},
		{ctxStage, float64(1)},
	} {
		t.Run(fmt.Sprintf("%s=%v", tt.key, tt.value), func(t *testing.T) {
			// GIVEN a bad value of a context key
			app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{tt.key: tt.value}})

			// WHEN the stack is built
			defer func() {
				// THEN it refuses, naming the key, before anything is built
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "context "+tt.key+" ") {
					t.Errorf("panic %v, want one naming %s", r, tt.key)
				}
				if n := len(*app.Node().Children()); n != 0 {
					t.Errorf("%d constructs built before the refusal", n)
				}
			}()
			NewWinbackStack(app, "Winback", &WinbackStackProps{AssetDir: t.TempDir()})
		})
	}
}

func TestContextKeysAreAllListed(t *testing.T) {
	// GIVEN every ctx* constant of the app's sources
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	decl := regexp.MustCompile(`(?m)^\s*ctx[A-Z]\w*\s*=\s*"(\w+)"`)
	var keys []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			keys = append(keys, m[1])
		}
	}
	if len(keys) < 10 {
		t.Fatalf("found only the context keys %v", keys)
	}

	// THEN contextKeys lists each once, with a default and a meaning
	listed := map[string]int{}
	for _, k := range contextKeys {
		listed[k.Key]++
		if k.Default == "" || k.Meaning == "" {
			t.Errorf("%s: default %q, meaning %q", k.Key, k.Default, k.Meaning)
		}
	}
	for _, k := range keys {
		if listed[k] != 1 {
			t.Errorf("context key %s is listed %d times in contextKeys", k, listed[k])
		}
	}
	if len(listed) != len(keys) {
		t.Errorf("contextKeys lists %d keys, the sources declare %d: %v", len(listed), len(keys), keys)
	}
}
