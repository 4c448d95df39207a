package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
)

// simpleAlarms returns the alarms on one metric (not metric math) of a
// namespace and name whose only dimension has the value, by logical id.
func simpleAlarms(raw map[string]any, namespace, name string, dimension any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, a := range resources(raw, "AWS::CloudWatch::Alarm") {
		p := props(a)
		if p["Namespace"] != namespace || p["MetricName"] != name {
			continue
		}
		dims, _ := p["Dimensions"].([]any)
		switch {
		case dimension == nil && len(dims) == 0:
		case len(dims) == 1 && reflect.DeepEqual(dims[0].(map[string]any)["Value"], dimension):
		default:
			continue
		}
		out[id] = p
	}
	return out
}

// mathAlarm returns the properties of the one metric-math alarm whose
// expression contains expr, and its metrics by id.
func mathAlarm(t *testing.T, raw map[string]any, expr string) (map[string]any, map[string]map[string]any) {
	t.Helper()
	var found []map[string]any
	for _, a := range resources(raw, "AWS::CloudWatch::Alarm") {
		for _, m := range asList(props(a)["Metrics"]) {
			mm, _ := m.(map[string]any)
			if e, _ := mm["Expression"].(string); strings.Contains(e, expr) {
				found = append(found, props(a))
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d alarms on an expression with %q, want 1", len(found), expr)
	}
	stats := map[string]map[string]any{}
	for _, m := range asList(found[0]["Metrics"]) {
		mm := m.(map[string]any)
		if ms, ok := mm["MetricStat"].(map[string]any); ok {
			stats[mm["Id"].(string)] = ms
		}
	}
	return found[0], stats
}

// metricStat is how a metric-math alarm names one metric of one dimension.
func metricStat(namespace, name, dimension string, value any, stat string, period float64) map[string]any {
	return map[string]any{
		"Metric": map[string]any{
			"Namespace": namespace, "MetricName": name,
			"Dimensions": []any{map[string]any{"Name": dimension, "Value": value}},
		},
		"Stat": stat, "Period": period,
	}
}

func TestAlarmTopic(t *testing.T) {
	// GIVEN the synthesized stack, without context
	_, raw := template(t)

	// THEN there is one topic, TLS only, and no subscription
	topic := onlyID(t, raw, "AWS::SNS::Topic")
	if n := len(resources(raw, "AWS::SNS::Subscription")); n != 0 {
		t.Errorf("%d subscriptions without alarmEmail, want none", n)
	}
	var tls bool
	for _, pol := range resources(raw, "AWS::SNS::TopicPolicy") {
		if b, _ := json.Marshal(props(pol)); strings.Contains(string(b), `"aws:SecureTransport":"false"`) &&
			reflect.DeepEqual(props(pol)["Topics"], []any{ref(topic)}) {
			tls = true
		}
	}
	if !tls {
		t.Error("the alarm topic accepts publishing without TLS")
	}

	// AND every alarm of the stack notifies it, going off and clearing
	alarms := resources(raw, "AWS::CloudWatch::Alarm")
	if len(alarms) == 0 {
		t.Fatal("no alarm")
	}
	for id, a := range alarms {
		p := props(a)
		want := []any{ref(topic)}
		if !reflect.DeepEqual(p["AlarmActions"], want) || !reflect.DeepEqual(p["OKActions"], want) {
			t.Errorf("alarm %s: AlarmActions %v, OKActions %v; want the topic in both", id, p["AlarmActions"], p["OKActions"])
		}
		if p["TreatMissingData"] != "notBreaching" {
			t.Errorf("alarm %s: TreatMissingData %v, want notBreaching (no traffic is no alarm)", id, p["TreatMissingData"])
		}
	}
	// AND its ARN is an output
	out, _ := raw["Outputs"].(map[string]any)["AlarmTopicArn"].(map[string]any)
	if !reflect.DeepEqual(out["Value"], ref(topic)) {
		t.Errorf("AlarmTopicArn output = %v, want the topic", out)
	}
}

func TestAlarmEmailFromContext(t *testing.T) {
	template(t) // the asset directory

	// GIVEN two addresses in the alarmEmail context key
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{"alarmEmail": "ops@shop.example, oncall@shop.example"}})

	// WHEN the stack is synthesized
	raw := *assertions.Template_FromStack(NewWinbackStack(app, "Winback", &WinbackStackProps{AssetDir: assetDir}), nil).ToJSON()

	// THEN each is an e-mail subscription of the alarm topic
	topic := onlyID(t, raw, "AWS::SNS::Topic")
	var endpoints []string
	for _, s := range resources(raw, "AWS::SNS::Subscription") {
		p := props(s)
		if p["Protocol"] != "email" || !reflect.DeepEqual(p["TopicArn"], ref(topic)) {
			t.Errorf("subscription %v, want e-mail to the alarm topic", p)
		}
		endpoints = append(endpoints, fmt.Sprint(p["Endpoint"]))
	}
	slices.Sort(endpoints)
	if want := []string{"oncall@shop.example", "ops@shop.example"}; !slices.Equal(endpoints, want) {
		t.Errorf("subscribed %v, want %v", endpoints, want)
	}

	// AND a value that is no address is refused, naming the key
	for _, bad := range []string{"ops", "ops@localhost", "ops@shop.example,", "Ops <ops@shop.example>"} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "alarmEmail") {
					t.Errorf("alarmEmail=%q: panic %v, want one naming alarmEmail", bad, r)
				}
			}()
			NewWinbackStack(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{"alarmEmail": bad}}),
				"Winback", &WinbackStackProps{AssetDir: assetDir})
		}()
	}
}

func TestFunctionAlarms(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)
	fns := resources(raw, "AWS::Lambda::Function")
	if len(fns) < 6 {
		t.Fatalf("%d functions, want at least ingest, api, nightly, score, send and mailevents", len(fns))
	}

	// THEN every function, whichever it is, has an alarm on any error and
	// any throttle in 5 minutes
	for fnID := range fns {
		for _, metric := range []string{"Errors", "Throttles"} {
			alarms := simpleAlarms(raw, "AWS/Lambda", metric, ref(fnID))
			if len(alarms) != 1 {
				t.Errorf("%s: %d alarms on %s, want 1", fnID, len(alarms), metric)
			}
			for id, p := range alarms {
				if p["Statistic"] != "Sum" || p["Period"] != float64(300) || p["Threshold"] != float64(0) ||
					p["ComparisonOperator"] != "GreaterThanThreshold" || p["EvaluationPeriods"] != float64(1) {
					t.Errorf("alarm %s: %v", id, p)
				}
			}
		}
	}
}

func TestQueueAlarms(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)

	// THEN every dead-letter queue's depth above 0 is an alarm
	for _, name := range []string{"WorkDeadLetterQueue", "SendDeadLetterQueue", "MailEventsDeadLetterQueue"} {
		alarms := simpleAlarms(raw, "AWS/SQS", "ApproximateNumberOfMessagesVisible", getAtt(queueID(t, raw, name), "QueueName"))
		if len(alarms) != 1 {
			t.Errorf("%s: %d depth alarms, want 1", name, len(alarms))
		}
		for id, p := range alarms {
			if p["Threshold"] != float64(0) || p["ComparisonOperator"] != "GreaterThanThreshold" || p["Statistic"] != "Maximum" {
				t.Errorf("alarm %s: %v %v of the %v, want > 0 of the Maximum", id, p["ComparisonOperator"], p["Threshold"], p["Statistic"])
			}
		}
	}
	// AND work waiting over an hour, and e-mails over six, are alarms
	for name, seconds := range map[string]float64{"WorkQueue": 3600, "SendQueue": 6 * 3600} {
		alarms := simpleAlarms(raw, "AWS/SQS", "ApproximateAgeOfOldestMessage", getAtt(queueID(t, raw, name), "QueueName"))
		if len(alarms) != 1 {
			t.Errorf("%s: %d age alarms, want 1", name, len(alarms))
		}
		for id, p := range alarms {
			if p["Threshold"] != seconds || p["ComparisonOperator"] != "GreaterThanThreshold" || p["Statistic"] != "Maximum" {
				t.Errorf("alarm %s: %v %v, want > %v", id, p["ComparisonOperator"], p["Threshold"], seconds)
			}
		}
	}
	// AND the send queue's threshold leaves time before the sender gives
	// up on an e-mail (72 hours)
	if sendQueueAgeAlarmSeconds >= 72*3600/2 {
		t.Errorf("send queue age alarm at %d s: want it well within the sender's 72 h", sendQueueAgeAlarmSeconds)
	}
}

func TestAPI5xxRateAlarm(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)
	apiID := onlyID(t, raw, "AWS::ApiGatewayV2::Api")

	// THEN one alarm goes off when over 1% of 5 minutes' requests, of at
	// least 20, were answered with a 5xx
	p, stats := mathAlarm(t, raw, "requests >= 20")
	if p["Threshold"] != float64(1) || p["ComparisonOperator"] != "GreaterThanThreshold" || p["EvaluationPeriods"] != float64(1) {
		t.Errorf("5xx rate alarm: %v %v over %v periods, want > 1 (%%) over 1", p["ComparisonOperator"], p["Threshold"], p["EvaluationPeriods"])
	}
	for _, m := range asList(p["Metrics"]) {
		if e, _ := m.(map[string]any)["Expression"].(string); e != "" && e != "IF(requests >= 20, 100 * FILL(errors, 0) / requests, 0)" {
			t.Errorf("expression %q", e)
		}
	}
	want := map[string]map[string]any{
		"errors":   metricStat("AWS/ApiGateway", "5xx", "ApiId", ref(apiID), "Sum", 300),
		"requests": metricStat("AWS/ApiGateway", "Count", "ApiId", ref(apiID), "Sum", 300),
	}
	if !reflect.DeepEqual(stats, want) {
		t.Errorf("5xx rate alarm metrics %v, want %v", stats, want)
	}
}

func TestTableThrottleAlarm(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)
	table := onlyID(t, raw, "AWS::DynamoDB::Table")

	// THEN any read or write the table throttled in 5 minutes is an alarm
	p, stats := mathAlarm(t, raw, "FILL(reads, 0) + FILL(writes, 0)")
	if p["Threshold"] != float64(0) || p["ComparisonOperator"] != "GreaterThanThreshold" {
		t.Errorf("table throttle alarm: %v %v, want > 0", p["ComparisonOperator"], p["Threshold"])
	}
	want := map[string]map[string]any{
		"reads":  metricStat("AWS/DynamoDB", "ReadThrottleEvents", "TableName", ref(table), "Sum", 300),
		"writes": metricStat("AWS/DynamoDB", "WriteThrottleEvents", "TableName", ref(table), "Sum", 300),
	}
	if !reflect.DeepEqual(stats, want) {
		t.Errorf("table throttle alarm metrics %v, want %v", stats, want)
	}
}

func TestSESReputationAlarms(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)

	// THEN the account's bounce rate at 5% and complaint rate at 0.1%
	// (where SES puts an account under review) are alarms
	for name, level := range map[string]float64{"Reputation.BounceRate": 0.05, "Reputation.ComplaintRate": 0.001} {
		alarms := simpleAlarms(raw, "AWS/SES", name, nil)
		if len(alarms) != 1 {
			t.Errorf("%d alarms on %s, want 1", len(alarms), name)
		}
		for id, p := range alarms {
			if p["Threshold"] != level || p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" || p["Statistic"] != "Maximum" {
				t.Errorf("alarm %s: %v %v of the %v, want >= %v of the Maximum", id, p["ComparisonOperator"], p["Threshold"], p["Statistic"], level)
			}
		}
	}
}

func TestMetricsNamespace(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)

	// THEN every function is told the stack's metrics namespace, the one
	// of the SendingPaused metric filter
	for fnID := range resources(raw, "AWS::Lambda::Function") {
		if got := envOf(raw, fnID)["WINBACK_METRICS_NAMESPACE"]; got != "winback/Winback" {
			t.Errorf("%s: WINBACK_METRICS_NAMESPACE = %v, want winback/Winback", fnID, got)
		}
	}
}

// dashboardMetrics returns the dashboard's graphed metrics as CloudWatch
// writes them: [namespace, name, dimension name, value, ..., {options}],
// or [{expression options}].
func dashboardMetrics(t *testing.T, body map[string]any) [][]any {
	t.Helper()
	var out [][]any
	for _, w := range asList(body["widgets"]) {
		p, _ := w.(map[string]any)["properties"].(map[string]any)
		for _, m := range asList(p["metrics"]) {
			if l, ok := m.([]any); ok {
				out = append(out, l)
			}
		}
	}
	return out
}

func TestDashboard(t *testing.T) {
	// GIVEN the synthesized stack
	_, raw := template(t)

	// THEN one dashboard, named after the stack
	id := onlyID(t, raw, "AWS::CloudWatch::Dashboard")
	p := props(resources(raw, "AWS::CloudWatch::Dashboard")[id])
	if p["DashboardName"] != "Winback-winback" {
		t.Errorf("DashboardName = %v, want Winback-winback", p["DashboardName"])
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(render(p["DashboardBody"])), &body); err != nil {
		t.Fatalf("dashboard body: %v", err)
	}
	ms := dashboardMetrics(t, body)
	has := func(namespace, name string, options map[string]any) bool {
		return slices.ContainsFunc(ms, func(m []any) bool {
			if len(m) < 3 || m[0] != namespace || m[1] != name {
				return false
			}
			opts, _ := m[len(m)-1].(map[string]any)
			for k, v := range options {
				if opts[k] != v {
					return false
				}
			}
			return true
		})
	}

	// AND it graphs the custom metrics summed per day
	for _, name := range []string{"OrdersIngested", "CustomersScored", "EmailsSent"} {
		if !has("winback/Winback", name, map[string]any{"stat": "Sum", "period": float64(86400)}) {
			t.Errorf("dashboard lacks %s summed per day", name)
		}
	}
	// AND the alarms' figures
	for _, m := range [][2]string{
		{"winback/Winback", "SendingPaused"}, {"winback/Winback", "SendingStopped"},
		{"AWS/Lambda", "Errors"}, {"AWS/Lambda", "Throttles"},
		{"AWS/SQS", "ApproximateNumberOfMessagesVisible"}, {"AWS/SQS", "ApproximateAgeOfOldestMessage"},
		{"AWS/ApiGateway", "5xx"}, {"AWS/ApiGateway", "Count"},
		{"AWS/DynamoDB", "ReadThrottleEvents"}, {"AWS/DynamoDB", "WriteThrottleEvents"},
		{"AWS/SES", "Reputation.BounceRate"}, {"AWS/SES", "Reputation.ComplaintRate"},
	} {
		if !has(m[0], m[1], nil) {
			t.Errorf("dashboard lacks %s %s", m[0], m[1])
		}
	}
	if !slices.ContainsFunc(ms, func(m []any) bool {
		opts, _ := m[0].(map[string]any)
		return len(m) == 1 && strings.HasPrefix(fmt.Sprint(opts["expression"]), "IF(requests >= 20")
	}) {
		t.Error("dashboard lacks the API's 5xx rate")
	}
	// AND every alarm's state
	var shown []string
	for _, w := range asList(body["widgets"]) {
		if wm := w.(map[string]any); wm["type"] == "alarm" {
			for _, a := range asList(wm["properties"].(map[string]any)["alarms"]) {
				shown = append(shown, fmt.Sprint(a))
			}
		}
	}
	for alarmID := range resources(raw, "AWS::CloudWatch::Alarm") {
		if !slices.Contains(shown, "${"+alarmID+".Arn}") {
			t.Errorf("dashboard does not show alarm %s", alarmID)
		}
	}
	// AND its name is an output
	out, _ := raw["Outputs"].(map[string]any)["DashboardName"].(map[string]any)
	if !reflect.DeepEqual(out["Value"], ref(id)) {
		t.Errorf("DashboardName output = %v, want the dashboard", out)
	}
}
