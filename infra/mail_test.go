package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// The SES events the configuration set publishes and the rule delivers:
// CloudFormation's MatchingEventTypes and EventBridge's detail-types.
var (
	wantMatchingEventTypes = []string{"bounce", "complaint", "delivery", "deliveryDelay", "reject", "renderingFailure", "send"}
	wantDetailTypes        = []string{"Email Bounced", "Email Complaint Received", "Email Delivered", "Email Delivery Delayed",
		"Email Rejected", "Email Rendering Failed", "Email Sent"}
)

// render writes a CloudFormation value as a string: Fn::Join joined,
// Ref as ${Name}, Fn::GetAtt as ${Id.Attr}; so an ARN built from the
// stack's account and region reads arn:${AWS::Partition}:ses:${AWS::Region}:….
func render(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if r, ok := v["Ref"].(string); ok {
			return "${" + r + "}"
		}
		if att, ok := v["Fn::GetAtt"].([]any); ok && len(att) == 2 {
			return fmt.Sprintf("${%v.%v}", att[0], att[1])
		}
		if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
			sep, _ := join[0].(string)
			var parts []string
			for _, p := range asList(join[1]) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, sep)
		}
	}
	return fmt.Sprint(v)
}

// sesARNOf is how render shows the ARN of an SES resource of the stack.
func sesARNOf(resource string) string {
	return "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:" + resource
}

// envOf returns a function's environment variables.
func envOf(raw map[string]any, fnID string) map[string]any {
	env, _ := props(resources(raw, "AWS::Lambda::Function")[fnID])["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	return vars
}

// mappingsFrom returns the event source mappings whose source is the queue.
func mappingsFrom(raw map[string]any, queueID string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, esm := range resources(raw, "AWS::Lambda::EventSourceMapping") {
		if reflect.DeepEqual(props(esm)["EventSourceArn"], getAtt(queueID, "Arn")) {
			out[id] = esm
		}
	}
	return out
}

// roleStatements returns every Allow statement of the stack's roles, from
// AWS::IAM::Policy resources and from roles' inline policies alike.
func roleStatements(raw map[string]any) []allowed {
	out := allowStatements(raw)
	for roleID, role := range resources(raw, "AWS::IAM::Role") {
		for _, p := range asList(props(role)["Policies"]) {
			pol, _ := p.(map[string]any)
			doc, _ := pol["PolicyDocument"].(map[string]any)
			for _, s := range asList(doc["Statement"]) {
				st, _ := s.(map[string]any)
				if st["Effect"] != "Allow" {
					continue
				}
				a := allowed{policy: roleID + " (inline)", roles: []string{roleID}, resources: asList(st["Resource"]), condition: st["Condition"]}
				for _, act := range asList(st["Action"]) {
					s, _ := act.(string)
					a.actions = append(a.actions, s)
				}
				out = append(out, a)
			}
		}
	}
	return out
}

func TestSendQueue(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)
	send, dead := queueID(t, raw, "SendQueue"), queueID(t, raw, "SendDeadLetterQueue")
	events := queueID(t, raw, "MailEventsDeadLetterQueue")
	queues := resources(raw, "AWS::SQS::Queue")
	sp, dp, ep := props(queues[send]), props(queues[dead]), props(queues[events])
	sender := props(resources(raw, "AWS::Lambda::Function")[functionID(t, raw, "send")])

	// THEN the send queue's visibility timeout is at least 6× the sender's timeout
	timeout, _ := sender["Timeout"].(float64)
	if vis, _ := sp["VisibilityTimeout"].(float64); timeout == 0 || vis < 6*timeout {
		t.Errorf("send queue VisibilityTimeout %v, sender Timeout %v: want at least 6×", sp["VisibilityTimeout"], sender["Timeout"])
	}
	// AND it redrives to its dead-letter queue after 5 receives
	want := map[string]any{"deadLetterTargetArn": getAtt(dead, "Arn"), "maxReceiveCount": float64(5)}
	if !reflect.DeepEqual(sp["RedrivePolicy"], want) {
		t.Errorf("send queue RedrivePolicy = %v, want %v", sp["RedrivePolicy"], want)
	}
	// AND both dead-letter queues keep messages 14 days, longer than the send queue
	for name, p := range map[string]map[string]any{"send dead-letter": dp, "mailevents dead-letter": ep} {
		if p["MessageRetentionPeriod"] != float64(14*24*3600) {
			t.Errorf("%s queue MessageRetentionPeriod = %v, want 14 days", name, p["MessageRetentionPeriod"])
		}
	}
	if r, _ := sp["MessageRetentionPeriod"].(float64); r == 0 || r > dp["MessageRetentionPeriod"].(float64) {
		t.Errorf("send queue MessageRetentionPeriod = %v: want set, and at most the dead-letter queue's", sp["MessageRetentionPeriod"])
	}
	// AND all three are encrypted
	for _, p := range []map[string]any{sp, dp, ep} {
		if p["SqsManagedSseEnabled"] != true {
			t.Errorf("queue without SQS-managed encryption: %v", p)
		}
	}
	// AND the queues' URLs are outputs
	outputs, _ := raw["Outputs"].(map[string]any)
	for name, id := range map[string]string{"SendQueueUrl": send, "SendDeadLetterQueueUrl": dead, "MailEventsDeadLetterQueueUrl": events} {
		out, _ := outputs[name].(map[string]any)
		if !reflect.DeepEqual(out["Value"], ref(id)) {
			t.Errorf("%s output = %v, want %v", name, outputs[name], ref(id))
		}
	}
}

func TestSender(t *testing.T) {
	// GIVEN the synthesized stack, without context
	_, raw := template(t)
	tableID := onlyID(t, raw, "AWS::DynamoDB::Table")
	send, dead := queueID(t, raw, "SendQueue"), queueID(t, raw, "SendDeadLetterQueue")
	fnID := functionID(t, raw, "send")
	p := props(resources(raw, "AWS::Lambda::Function")[fnID])

	// THEN the sender is told the table, its dead-letter queue, the
	// configuration set, the API's own URL for unsubscribe links, half
	// of SES's default 14 e-mails per second (not the recipients'
	// retention: it writes none)
	vars := envOf(raw, fnID)
	for name, want := range map[string]any{
		"WINBACK_TABLE":                 ref(tableID),
		"WINBACK_SEND_DLQ_URL":          ref(dead),
		"WINBACK_SES_CONFIGURATION_SET": "Winback-campaigns",
		"WINBACK_SEND_RATE":             "7",
		"ZONEINFO":                      "/var/task/zoneinfo.zip",
	} {
		if !reflect.DeepEqual(vars[name], want) {
			t.Errorf("sender %s = %v, want %v", name, vars[name], want)
		}
	}
	apiID := onlyID(t, raw, "AWS::ApiGatewayV2::Api")
	if got := vars["WINBACK_UNSUBSCRIBE_BASE_URL"]; !reflect.DeepEqual(got, getAtt(apiID, "ApiEndpoint")) {
		t.Errorf("sender WINBACK_UNSUBSCRIBE_BASE_URL = %v, want the HTTP API's URL %v", got, getAtt(apiID, "ApiEndpoint"))
	}
	if len(vars) != 8 || vars["WINBACK_METRICS_NAMESPACE"] != "winback/Winback" || vars["WINBACK_KMS_KEY_ID"] == nil {
		t.Errorf("sender environment %v: want exactly the table, the dead letters, the base URL, the configuration set, the rate, "+
			"the secrets key, the metrics namespace and ZONEINFO", vars)
	}

	// AND the send queue feeds it, 10 recipients per invocation, with
	// batch item failures, at most 2 instances at once
	esms := mappingsFrom(raw, send)
	if len(esms) != 1 {
		t.Fatalf("%d event source mappings from the send queue, want 1", len(esms))
	}
	var concurrency float64
	for id, esm := range esms {
		ep := props(esm)
		if !reflect.DeepEqual(ep["FunctionName"], ref(fnID)) {
			t.Errorf("mapping %s: the send queue → %v, want the send function", id, ep["FunctionName"])
		}
		if ep["BatchSize"] != float64(10) {
			t.Errorf("mapping %s: BatchSize = %v, want 10", id, ep["BatchSize"])
		}
		if !reflect.DeepEqual(ep["FunctionResponseTypes"], []any{"ReportBatchItemFailures"}) {
			t.Errorf("mapping %s: FunctionResponseTypes = %v, want ReportBatchItemFailures", id, ep["FunctionResponseTypes"])
		}
		sc, _ := ep["ScalingConfig"].(map[string]any)
		concurrency, _ = sc["MaximumConcurrency"].(float64)
		if concurrency != 2 {
			t.Errorf("mapping %s: MaximumConcurrency = %v, want 2", id, sc["MaximumConcurrency"])
		}
	}
	// AND its reserved concurrency is the mapping's, so that the
	// instances' rates together stay within SES's MaxSendRate
	if p["ReservedConcurrentExecutions"] != concurrency {
		t.Errorf("sender ReservedConcurrentExecutions = %v, want the mapping's MaximumConcurrency %v", p["ReservedConcurrentExecutions"], concurrency)
	}
	var rate float64
	fmt.Sscan(fmt.Sprint(vars["WINBACK_SEND_RATE"]), &rate)
	if total := rate * concurrency; total != defaultSESMaxSendRate {
		t.Errorf("rate %v × %v instances = %v e-mails per second, want SES's %v", rate, concurrency, total, defaultSESMaxSendRate)
	}
}

func TestSenderFromContext(t *testing.T) {
	template(t) // the asset directory

	// GIVEN two identities, a MaxSendRate and a custom domain for the API
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{
		"senderIdentity":     "shop.example, news@other.example",
		"sesMaxSendRate":     "50",
		"unsubscribeBaseUrl": "https://api.shop.example/",
	}})

	// WHEN the stack is synthesized
	raw := *assertions.Template_FromStack(NewWinbackStack(app, "Winback", &WinbackStackProps{AssetDir: assetDir}), nil).ToJSON()

	// THEN each instance sends 25 a second, links start with the custom domain
	fnID := functionID(t, raw, "send")
	vars := envOf(raw, fnID)
	if vars["WINBACK_SEND_RATE"] != "25" || vars["WINBACK_UNSUBSCRIBE_BASE_URL"] != "https://api.shop.example" {
		t.Errorf("sender environment %v: want rate 25 and base https://api.shop.example", vars)
	}
	// AND the sender may send as both identities
	got := sendEmailResources(t, raw, roleOf(t, raw, fnID))
	want := []string{sesARNOf("configuration-set/Winback-campaigns"), sesARNOf("identity/news@other.example"), sesARNOf("identity/shop.example")}
	if !slices.Equal(got, want) {
		t.Errorf("ses:SendEmail on %v, want %v", got, want)
	}
}

func TestMailContextRefused(t *testing.T) {
	template(t) // the asset directory
	for _, tt := range []struct{ key, value string }{
		{"sesMaxSendRate", "0"},
		{"sesMaxSendRate", "fast"},
		{"senderIdentity", "*"},
		{"senderIdentity", "arn:aws:ses:eu-west-1:123456789012:identity/shop.example"},
		{"unsubscribeBaseUrl", "http://api.shop.example"},
	} {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
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

func TestConfigurationSet(t *testing.T) {
	// GIVEN the synthesized stack
	tpl, raw := template(t)

	// THEN one configuration set, named after the stack, with the
	// account-level suppression list off (an empty SuppressedReasons):
	// bounces and complaints are winback's per-shop suppressions, never
	// the account's, shared by every shop
	setID := onlyID(t, raw, "AWS::SES::ConfigurationSet")
	check(t, "configuration set", func() {
		tpl.HasResourceProperties(jsii.String("AWS::SES::ConfigurationSet"), map[string]any{
			"Name": "Winback-campaigns",
		})
	})
	set := props(resources(raw, "AWS::SES::ConfigurationSet")[setID])
	so, ok := set["SuppressionOptions"].(map[string]any)
	if reasons, isList := so["SuppressedReasons"].([]any); !ok || !isList || len(reasons) != 0 {
		t.Errorf("SuppressionOptions = %#v, want SuppressedReasons an empty list", set["SuppressionOptions"])
	}
	// AND it publishes the send, delivery, bounce, complaint, reject,
	// rendering failure and delay events to the default event bus
	destID := onlyID(t, raw, "AWS::SES::ConfigurationSetEventDestination")
	p := props(resources(raw, "AWS::SES::ConfigurationSetEventDestination")[destID])
	if !reflect.DeepEqual(p["ConfigurationSetName"], ref(setID)) {
		t.Errorf("event destination of %v, want the configuration set", p["ConfigurationSetName"])
	}
	dest, _ := p["EventDestination"].(map[string]any)
	var types []string
	for _, ty := range asList(dest["MatchingEventTypes"]) {
		types = append(types, fmt.Sprint(ty))
	}
	slices.Sort(types)
	if !slices.Equal(types, wantMatchingEventTypes) {
		t.Errorf("MatchingEventTypes = %v, want %v", types, wantMatchingEventTypes)
	}
	if dest["Enabled"] == false {
		t.Error("event destination disabled")
	}
	eb, _ := dest["EventBridgeDestination"].(map[string]any)
	if got, want := render(eb["EventBusArn"]), "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"; got != want {
		t.Errorf("EventBusArn = %s, want %s", got, want)
	}
	// AND its name is an output
	check(t, "ConfigurationSetName output", func() {
		tpl.HasOutput(jsii.String("ConfigurationSetName"), map[string]any{"Value": ref(setID)})
	})
}

func TestMailEventsRule(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)
	fnID := functionID(t, raw, "mailevents")
	dead := queueID(t, raw, "MailEventsDeadLetterQueue")

	// THEN one rule takes SES's events of those detail-types, of this
	// stack's configuration set, of e-mails tagged with a shop
	ruleID := onlyID(t, raw, "AWS::Events::Rule")
	p := props(resources(raw, "AWS::Events::Rule")[ruleID])
	if p["EventBusName"] != nil || p["State"] != "ENABLED" {
		t.Errorf("rule on bus %v, state %v: want the default bus, enabled", p["EventBusName"], p["State"])
	}
	pattern, _ := p["EventPattern"].(map[string]any)
	var detailTypes []string
	for _, dt := range asList(pattern["detail-type"]) {
		detailTypes = append(detailTypes, fmt.Sprint(dt))
	}
	slices.Sort(detailTypes)
	if !slices.Equal(detailTypes, wantDetailTypes) {
		t.Errorf("rule detail-type = %v, want %v", detailTypes, wantDetailTypes)
	}
	wantDetail := map[string]any{"mail": map[string]any{"tags": map[string]any{
		"shop":                  []any{map[string]any{"exists": true}},
		"ses:configuration-set": []any{"Winback-campaigns"},
	}}}
	if !reflect.DeepEqual(pattern["source"], []any{"aws.ses"}) || !reflect.DeepEqual(pattern["detail"], wantDetail) {
		t.Errorf("rule pattern %v, want source aws.ses and detail %v", pattern, wantDetail)
	}

	// AND it targets the mailevents function, with retries and a dead-letter queue
	targets := asList(p["Targets"])
	if len(targets) != 1 {
		t.Fatalf("rule targets %v, want one", targets)
	}
	target, _ := targets[0].(map[string]any)
	if !reflect.DeepEqual(target["Arn"], getAtt(fnID, "Arn")) {
		t.Errorf("rule target %v, want the mailevents function", target["Arn"])
	}
	retry, _ := target["RetryPolicy"].(map[string]any)
	if n, _ := retry["MaximumRetryAttempts"].(float64); n < 1 {
		t.Errorf("rule target RetryPolicy = %v, want retries", target["RetryPolicy"])
	}
	if !reflect.DeepEqual(target["DeadLetterConfig"], map[string]any{"Arn": getAtt(dead, "Arn")}) {
		t.Errorf("rule target DeadLetterConfig = %v, want the mailevents dead-letter queue", target["DeadLetterConfig"])
	}
	// AND EventBridge may invoke the function for this rule only
	var invoke int
	for _, perm := range resources(raw, "AWS::Lambda::Permission") {
		pp := props(perm)
		if reflect.DeepEqual(pp["FunctionName"], getAtt(fnID, "Arn")) {
			invoke++
			if pp["Principal"] != "events.amazonaws.com" || !reflect.DeepEqual(pp["SourceArn"], getAtt(ruleID, "Arn")) {
				t.Errorf("mailevents invoke permission %v, want events.amazonaws.com from the rule", pp)
			}
		}
	}
	if invoke != 1 {
		t.Errorf("%d invoke permissions of the mailevents function, want 1", invoke)
	}
	// AND its own failures are retried, then go to the same dead-letter queue
	fp := props(resources(raw, "AWS::Lambda::Function")[fnID])
	if !reflect.DeepEqual(fp["DeadLetterConfig"], map[string]any{"TargetArn": getAtt(dead, "Arn")}) {
		t.Errorf("mailevents DeadLetterConfig = %v, want its dead-letter queue", fp["DeadLetterConfig"])
	}
	var configs int
	for _, c := range resources(raw, "AWS::Lambda::EventInvokeConfig") {
		if cp := props(c); reflect.DeepEqual(cp["FunctionName"], ref(fnID)) {
			configs++
			if n, _ := cp["MaximumRetryAttempts"].(float64); n < 1 {
				t.Errorf("mailevents MaximumRetryAttempts = %v, want retries", cp["MaximumRetryAttempts"])
			}
		}
	}
	if configs != 1 {
		t.Errorf("%d asynchronous invocation configs of mailevents, want 1", configs)
	}

	// AND the sample SES events of the repository are of those
	// detail-types, and only the one without a shop tag is not ours
	files, _ := filepath.Glob(filepath.Join("..", "events", "ses", "*.json"))
	if len(files) == 0 {
		t.Fatal("no events/ses/*.json")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			DetailType string `json:"detail-type"`
			Source     string `json:"source"`
			Detail     struct {
				Mail struct {
					Tags map[string][]string `json:"tags"`
				} `json:"mail"`
			} `json:"detail"`
		}
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		_, tagged := ev.Detail.Mail.Tags["shop"]
		if ev.Source != "aws.ses" || !slices.Contains(wantDetailTypes, ev.DetailType) || tagged == (filepath.Base(f) == "not-ours.json") {
			t.Errorf("%s: %s from %s, shop tag %v", f, ev.DetailType, ev.Source, tagged)
		}
	}
}

// sendEmailResources returns, sorted and rendered, the resources on which
// a role may call ses:SendEmail; it fails on any other ses action of the role.
func sendEmailResources(t *testing.T, raw map[string]any, role string) []string {
	t.Helper()
	var out []string
	for _, st := range roleStatements(raw) {
		if !slices.Contains(st.roles, role) {
			continue
		}
		for _, act := range st.actions {
			if !strings.HasPrefix(act, "ses:") {
				continue
			}
			if act != "ses:SendEmail" {
				t.Errorf("policy %s: %s, want ses:SendEmail only", st.policy, act)
				continue
			}
			if st.condition != nil {
				t.Errorf("policy %s: ses:SendEmail under condition %v", st.policy, st.condition)
			}
			for _, r := range st.resources {
				out = append(out, render(r))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestOnlyTheSenderSendsMail(t *testing.T) {
	// GIVEN the synthesized stack, without context
	_, raw := template(t)
	sender := roleOf(t, raw, functionID(t, raw, "send"))

	// THEN the sender may call ses:SendEmail as the placeholder identity
	// with the configuration set, on nothing else, and no other SES action
	got := sendEmailResources(t, raw, sender)
	want := []string{sesARNOf("configuration-set/Winback-campaigns"), sesARNOf("identity/example.com")}
	if !slices.Equal(got, want) {
		t.Errorf("sender: ses:SendEmail on %v, want %v", got, want)
	}
	for _, r := range got {
		if strings.Contains(r, "*") {
			t.Errorf("sender: ses:SendEmail on %s, a wildcard", r)
		}
	}

	// AND no other role may send mail, nor do anything with SES
	for _, st := range roleStatements(raw) {
		for _, role := range st.roles {
			if role == sender {
				continue
			}
			for _, act := range st.actions {
				if a := strings.ToLower(act); strings.HasPrefix(a, "ses:") || a == "*" {
					t.Errorf("role %s (policy %s) may %s", role, st.policy, act)
				}
			}
		}
	}
}

func TestQueueAccess(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)
	planner := roleOf(t, raw, functionID(t, raw, "nightly"))
	worker := roleOf(t, raw, functionID(t, raw, "score"))
	sender := roleOf(t, raw, functionID(t, raw, "send"))
	mailevents := roleOf(t, raw, functionID(t, raw, "mailevents"))
	queues := map[string]string{}
	for _, name := range []string{"WorkQueue", "WorkDeadLetterQueue", "SendQueue", "SendDeadLetterQueue", "MailEventsDeadLetterQueue"} {
		queues[queueID(t, raw, name)] = name
	}

	// WHEN the roles' sqs:SendMessage and sqs:ReceiveMessage are collected by queue
	access := map[string]map[string][]string{} // action → queue name → roles
	for _, st := range roleStatements(raw) {
		for _, act := range st.actions {
			if !strings.HasPrefix(act, "sqs:") {
				continue
			}
			for _, r := range st.resources {
				att, _ := r.(map[string]any)["Fn::GetAtt"].([]any)
				if len(att) != 2 || queues[fmt.Sprint(att[0])] == "" || att[1] != "Arn" {
					// THEN queue access is to the stack's queues only
					t.Errorf("policy %s: %s on %v, not a queue of the stack", st.policy, act, r)
					continue
				}
				if act != "sqs:SendMessage" && act != "sqs:ReceiveMessage" {
					continue
				}
				if access[act] == nil {
					access[act] = map[string][]string{}
				}
				q := queues[att[0].(string)]
				for _, role := range st.roles {
					if !slices.Contains(access[act][q], role) {
						access[act][q] = append(access[act][q], role)
					}
				}
			}
		}
	}
	for _, m := range access {
		for _, roles := range m {
			slices.Sort(roles)
		}
	}

	// AND the planner and the worker send to the work queue, the worker
	// (the campaign stage) to the send queue, the sender to its
	// dead-letter queue only, mailevents (Lambda, for it) to its own
	sorted := func(roles ...string) []string { slices.Sort(roles); return roles }
	wantSend := map[string][]string{
		"WorkQueue":                 sorted(planner, worker),
		"SendQueue":                 {worker},
		"SendDeadLetterQueue":       {sender},
		"MailEventsDeadLetterQueue": {mailevents},
	}
	// AND the worker receives from the work queue, the sender from the send queue
	wantReceive := map[string][]string{
		"WorkQueue": {worker},
		"SendQueue": {sender},
	}
	if !reflect.DeepEqual(access["sqs:SendMessage"], wantSend) {
		t.Errorf("sqs:SendMessage by queue: %v, want %v", access["sqs:SendMessage"], wantSend)
	}
	if !reflect.DeepEqual(access["sqs:ReceiveMessage"], wantReceive) {
		t.Errorf("sqs:ReceiveMessage by queue: %v, want %v", access["sqs:ReceiveMessage"], wantReceive)
	}

	// AND the worker is told the send queue's URL
	if got := envOf(raw, functionID(t, raw, "score"))["WINBACK_SEND_QUEUE_URL"]; !reflect.DeepEqual(got, ref(queueID(t, raw, "SendQueue"))) {
		t.Errorf("score WINBACK_SEND_QUEUE_URL = %v, want the send queue's URL", got)
	}
}

func TestUnsubscribeRoutes(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)

	// THEN GET and POST /v1/unsubscribe/{token} exist without an
	// authorizer: a mail provider's one-click POST carries no credentials
	found := map[string]bool{}
	for id, r := range resources(raw, "AWS::ApiGatewayV2::Route") {
		p := props(r)
		key, _ := p["RouteKey"].(string)
		if !strings.HasSuffix(key, " /v1/unsubscribe/{token}") {
			continue
		}
		found[key] = true
		if at, ok := p["AuthorizationType"]; (ok && at != "NONE") || p["AuthorizerId"] != nil {
			t.Errorf("route %s (%s): AuthorizationType %v, AuthorizerId %v; want none", key, id, p["AuthorizationType"], p["AuthorizerId"])
		}
	}
	for _, key := range []string{"GET /v1/unsubscribe/{token}", "POST /v1/unsubscribe/{token}"} {
		if !found[key] {
			t.Errorf("no route %s", key)
		}
	}
}

func TestMailAlarms(t *testing.T) {
	// GIVEN the synthesized stack
	tpl, raw := template(t)
	sendDead, eventsDead := queueID(t, raw, "SendDeadLetterQueue"), queueID(t, raw, "MailEventsDeadLetterQueue")

	// THEN alarms watch both dead-letter queues' depth (> 0)
	alarms := resources(raw, "AWS::CloudWatch::Alarm")
	for _, dead := range []string{sendDead, eventsDead} {
		found := false
		for _, a := range alarms {
			p := props(a)
			dims := asList(p["Dimensions"])
			if p["MetricName"] != "ApproximateNumberOfMessagesVisible" || len(dims) != 1 ||
				!reflect.DeepEqual(dims[0].(map[string]any)["Value"], getAtt(dead, "QueueName")) {
				continue
			}
			found = true
			if p["Threshold"] != float64(0) || p["ComparisonOperator"] != "GreaterThanThreshold" {
				t.Errorf("alarm on %s: %v %v, want > 0", dead, p["ComparisonOperator"], p["Threshold"])
			}
		}
		if !found {
			t.Errorf("no alarm on the depth of %s", dead)
		}
	}

	// AND a metric filter counts the sender's SendingPaused log lines,
	// with an alarm at the first one
	logMetric(t, tpl, raw, "SendingPaused", "send")
	// AND the safety valve's SendingStopped lines are counted where it
	// trips, in mailevents and in the score worker, into one metric with
	// an alarm at the first stop
	logMetric(t, tpl, raw, "SendingStopped", "mailevents", "score")
}

// logMetric checks that a metric filter counts the winback_metric lines
// named metric in the log group of each of fns, into one metric of the
// stack's namespace, and that an alarm goes off at the first one.
func logMetric(t *testing.T, tpl assertions.Template, raw map[string]any, metric string, fns ...string) {
	t.Helper()
	for _, fn := range fns {
		cfg, _ := props(resources(raw, "AWS::Lambda::Function")[functionID(t, raw, fn)])["LoggingConfig"].(map[string]any)
		check(t, metric+" metric filter of "+fn, func() {
			tpl.HasResourceProperties(jsii.String("AWS::Logs::MetricFilter"), map[string]any{
				"LogGroupName":  cfg["LogGroup"],
				"FilterPattern": `{ $.winback_metric = "` + metric + `" }`,
				"MetricTransformations": []any{map[string]any{
					"MetricNamespace": "winback/Winback",
					"MetricName":      metric,
					"MetricValue":     "1",
				}},
			})
		})
	}
	check(t, metric+" alarm", func() {
		tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"Namespace":          "winback/Winback",
			"MetricName":         metric,
			"Statistic":          "Sum",
			"Threshold":          1,
			"ComparisonOperator": "GreaterThanOrEqualToThreshold",
		})
	})
}
