package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/winback/winback/shared/metrics"
)

// What the alarms watch, and when they go off.
const (
	// alarmPeriodMinutes is the window of the functions', queues', API's
	// and table's alarms.
	alarmPeriodMinutes = 5
	// sendQueueAgeAlarmSeconds: a recipient queued for over 6 hours. At
	// SES's default 14 e-mails a second a night's campaigns of up to
	// 300,000 recipients drain within it, so the alarm means the sender
	// is stuck or the account's rate is too small for the stack's shops;
	// 6 hours leave time to act before the sender gives up on e-mails
	// queued for longer than 72 hours (sender.MaxSendDelay).
	sendQueueAgeAlarmSeconds = 6 * 60 * 60
	// apiErrorRatePercent: the HTTP API answers more than 1% of its
	// requests with a 5xx in 5 minutes, of at least apiMinRequests.
	apiErrorRatePercent = 1
	apiMinRequests      = 20
	// SES puts an account under review at a bounce rate of 5% and a
	// complaint rate of 0.1%, and may pause its sending at 10% and 0.5%.
	sesBounceRateReview    = 0.05
	sesComplaintRateReview = 0.001
	// dashboardDays is the span of the dashboard's per-day graphs.
	dashboardDays = 14
)

// observe is how an operator watches the stack: every alarm of the stack
// notifying one SNS topic, and one dashboard with the alarms' figures and
// the custom metrics.
type observe struct {
	// Topic receives every alarm's state changes, ALARM and OK.
	Topic awssns.Topic
	// Alarms is every alarm of the stack: those of jobs.go and mail.go,
	// and those created here.
	Alarms    []awscloudwatch.Alarm
	Dashboard awscloudwatch.Dashboard

	scope constructs.Construct
}

// newObserve creates the alarm topic and its e-mail subscriptions (the
// alarmEmail context key), the alarms not yet created by the stack's
// concerns, and the dashboard; and points every alarm (j's and m's too)
// at the topic.
func newObserve(scope constructs.Construct, fns *functions, d *data, a *api, j *jobs, m *mail, cfg config) *observe {
	o := &observe{scope: scope}
	o.createTopic(cfg)
	o.Alarms = append(o.Alarms, j.Alarms...)
	o.Alarms = append(o.Alarms, m.Alarms...)
	// Each watch creates its alarms and returns its row of the dashboard.
	rows := [][]awscloudwatch.IWidget{
		o.watchCustomMetrics(m),
		o.watchFunctions(fns),
		o.watchQueues(j, m),
		append(o.watchAPI(a), o.watchTable(d)...),
		o.watchSES(),
	}
	o.notify()
	o.createDashboard(rows)
	return o
}

// createTopic creates the Alarms topic, subscribing the alarmEmail
// addresses when given. SNS asks each address to confirm first. The
// e-mails come from "winback <stage> alarms".
//
// The topic is not encrypted: CloudWatch cannot publish to a topic under
// the AWS-managed SNS key, and a key of the stack ($1 a month) would
// guard alarm names and states, which are no secret. It accepts TLS only.
func (o *observe) createTopic(cfg config) {
	o.Topic = awssns.NewTopic(o.scope, jsii.String("Alarms"), &awssns.TopicProps{
		DisplayName: jsii.String("winback " + cfg.Stage + " alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	for _, addr := range cfg.AlarmEmails {
		o.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(addr), nil))
	}
}

// alarm creates an alarm on metric (its own period and statistic) going
// off when it crosses threshold in one period; no data is no alarm.
func (o *observe) alarm(id string, metric awscloudwatch.IMetric, op awscloudwatch.ComparisonOperator, threshold float64, what string) awscloudwatch.Alarm {
	al := awscloudwatch.NewAlarm(o.scope, jsii.String(id), &awscloudwatch.AlarmProps{
		Metric:             metric,
		AlarmDescription:   jsii.String(what),
		Threshold:          jsii.Number(threshold),
		ComparisonOperator: op,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	o.Alarms = append(o.Alarms, al)
	return al
}

// every is a metric option of the alarms' period.
func every(minutes float64, statistic string) *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{
		Period:    awscdk.Duration_Minutes(jsii.Number(minutes)),
		Statistic: jsii.String(statistic),
	}
}

// graph is a dashboard graph of metrics, with horizontal lines at the
// alarms' thresholds.
func graph(title string, width float64, ms []awscloudwatch.IMetric, lines ...*awscloudwatch.HorizontalAnnotation) awscloudwatch.GraphWidget {
	return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
		Title:           jsii.String(title),
		Width:           jsii.Number(width),
		Height:          jsii.Number(6),
		Left:            &ms,
		LeftAnnotations: &lines,
	})
}

// threshold is a graph's line at an alarm's threshold.
func threshold(value float64, label string) *awscloudwatch.HorizontalAnnotation {
	return &awscloudwatch.HorizontalAnnotation{Value: jsii.Number(value), Label: jsii.String(label), Color: jsii.String("#d62728")}
}

// watchCustomMetrics puts the metrics the functions write into their logs
// (shared/metrics) on the dashboard, summed per day, with SES pausing the
// account's sending (mail.go's metric filter and alarm).
func (o *observe) watchCustomMetrics(m *mail) []awscloudwatch.IWidget {
	ns := metricNamespace(awscdk.Stack_Of(o.scope))
	perDay := func(title, name string) awscloudwatch.IWidget {
		metric := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:  jsii.String(ns),
			MetricName: jsii.String(name),
			Statistic:  jsii.String("Sum"),
			Period:     awscdk.Duration_Days(jsii.Number(1)),
			Label:      jsii.String(title),
		})
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title:  jsii.String(title + " per day"),
			Width:  jsii.Number(6),
			Height: jsii.Number(6),
			Left:   &[]awscloudwatch.IMetric{metric},
			Start:  jsii.String(fmt.Sprintf("-P%dD", dashboardDays)),
			Period: awscdk.Duration_Days(jsii.Number(1)),
		})
	}
	paused := m.SendingPaused.Metric(every(alarmPeriodMinutes, "Sum"))
	return []awscloudwatch.IWidget{
		perDay("Orders ingested", metrics.OrdersIngested),
		perDay("Customers scored", metrics.CustomersScored),
		perDay("E-mails sent", metrics.EmailsSent),
		graph("SES paused sending", 6, []awscloudwatch.IMetric{paused}, threshold(1, "alarm")),
		graph("Shops stopped by the safety valve", 6, []awscloudwatch.IMetric{m.SendingStopped}, threshold(1, "alarm")),
	}
}

// watchFunctions alarms on every function's errors and throttles (any, in
// 5 minutes) and graphs them.
func (o *observe) watchFunctions(fns *functions) []awscloudwatch.IWidget {
	var errs, throttles []awscloudwatch.IMetric
	for _, f := range fns.created {
		id := strings.ToUpper(f.Name[:1]) + f.Name[1:]
		e := f.Fn.MetricErrors(every(alarmPeriodMinutes, "Sum"))
		t := f.Fn.MetricThrottles(every(alarmPeriodMinutes, "Sum"))
		o.alarm(id+"ErrorsAlarm", e, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 0,
			"winback: the "+f.Name+" function failed (an error, a panic or a timeout; see its log group)")
		o.alarm(id+"ThrottlesAlarm", t, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 0,
			"winback: the "+f.Name+" function was throttled (the account's or its reserved concurrency is exhausted)")
		// Labelled for the graphs only: a label makes an alarm's metric a
		// metric-math one.
		label := &awscloudwatch.MetricOptions{Label: jsii.String(f.Name)}
		errs, throttles = append(errs, e.With(label)), append(throttles, t.With(label))
	}
	return []awscloudwatch.IWidget{
		graph("Function errors", 12, errs, threshold(0, "alarm: > 0")),
		graph("Function throttles", 12, throttles, threshold(0, "alarm: > 0")),
	}
}

// watchQueues adds the send queue's age alarm (the work queue's and the
// dead-letter queues' are jobs.go's and mail.go's) and graphs them all.
func (o *observe) watchQueues(j *jobs, m *mail) []awscloudwatch.IWidget {
	sendAge := m.SendQueue.MetricApproximateAgeOfOldestMessage(every(alarmPeriodMinutes, "Maximum"))
	o.alarm("SendQueueAgeAlarm", sendAge, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, sendQueueAgeAlarmSeconds,
		"winback: campaign e-mails waiting for over 6 hours (sender failing or throttled, or SES's rate too small for the campaigns)")

	depth := func(q awssqs.Queue, label string) awscloudwatch.IMetric {
		return q.MetricApproximateNumberOfMessagesVisible(every(alarmPeriodMinutes, "Maximum")).
			With(&awscloudwatch.MetricOptions{Label: jsii.String(label)})
	}
	age := func(q awssqs.Queue, label string) awscloudwatch.IMetric {
		return q.MetricApproximateAgeOfOldestMessage(every(alarmPeriodMinutes, "Maximum")).
			With(&awscloudwatch.MetricOptions{Label: jsii.String(label)})
	}
	return []awscloudwatch.IWidget{
		graph("Dead-letter queues: messages", 12, []awscloudwatch.IMetric{
			depth(j.DeadLetter, "work"), depth(m.SendDeadLetter, "send"), depth(m.EventsDeadLetter, "mailevents"),
		}, threshold(0, "alarm: > 0")),
		graph("Oldest message, seconds", 12, []awscloudwatch.IMetric{age(j.WorkQueue, "work"), age(m.SendQueue, "send")},
			threshold(oldestMessageAlarmSeconds, "work alarm"), threshold(sendQueueAgeAlarmSeconds, "send alarm")),
	}
}

// watchAPI alarms on the HTTP API's rate of 5xx answers: over 1% of the
// requests of 5 minutes, when there were at least 20. A rate, not a
// count: a count either goes off at one 5xx of a quiet hour, or misses a
// steady few percent of a busy one. The minimum keeps one failed request
// of a handful from paging; the functions' own failures are their Errors
// alarms, and DynamoDB's, the source of most 503s, the table's.
func (o *observe) watchAPI(a *api) []awscloudwatch.IWidget {
	errs := a.HTTP.MetricServerError(every(alarmPeriodMinutes, "Sum")).With(&awscloudwatch.MetricOptions{Label: jsii.String("5xx")})
	count := a.HTTP.MetricCount(every(alarmPeriodMinutes, "Sum")).With(&awscloudwatch.MetricOptions{Label: jsii.String("requests")})
	rate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(fmt.Sprintf("IF(requests >= %d, 100 * FILL(errors, 0) / requests, 0)", apiMinRequests)),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"errors":   errs,
			"requests": count,
		},
		Label:  jsii.String("5xx, % of requests"),
		Period: awscdk.Duration_Minutes(jsii.Number(alarmPeriodMinutes)),
	})
	o.alarm("Api5xxRateAlarm", rate, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, apiErrorRatePercent,
		fmt.Sprintf("winback: the HTTP API answered over %d%% of its requests with a 5xx in %d minutes (see the ingest and api functions' logs)",
			apiErrorRatePercent, alarmPeriodMinutes))
	return []awscloudwatch.IWidget{
		graph("HTTP API: requests and 5xx", 8, []awscloudwatch.IMetric{count, errs}),
		graph("HTTP API: 5xx rate, %", 8, []awscloudwatch.IMetric{rate}, threshold(apiErrorRatePercent, "alarm")),
	}
}

// watchTable alarms on any read or write of the table DynamoDB throttled
// in 5 minutes (on demand, a table throttles beyond its partitions' or
// the account's limits) and graphs them.
func (o *observe) watchTable(d *data) []awscloudwatch.IWidget {
	reads := d.Table.Metric(jsii.String("ReadThrottleEvents"), every(alarmPeriodMinutes, "Sum"))
	writes := d.Table.Metric(jsii.String("WriteThrottleEvents"), every(alarmPeriodMinutes, "Sum"))
	throttled := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String("FILL(reads, 0) + FILL(writes, 0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{"reads": reads, "writes": writes},
		Label:        jsii.String("throttle events"),
		Period:       awscdk.Duration_Minutes(jsii.Number(alarmPeriodMinutes)),
	})
	o.alarm("TableThrottleAlarm", throttled, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 0,
		"winback: DynamoDB throttled reads or writes of the table (requests failed or were retried)")
	return []awscloudwatch.IWidget{graph("DynamoDB throttle events", 8, []awscloudwatch.IMetric{
		reads.With(&awscloudwatch.MetricOptions{Label: jsii.String("reads")}),
		writes.With(&awscloudwatch.MetricOptions{Label: jsii.String("writes")}),
	}, threshold(0, "alarm: > 0"))}
}

// watchSES alarms on the account's reputation (AWS/SES, per account and
// region, no dimension) at the levels SES reviews an account at.
func (o *observe) watchSES() []awscloudwatch.IWidget {
	reputation := func(name string) awscloudwatch.Metric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:  jsii.String("AWS/SES"),
			MetricName: jsii.String(name),
			Statistic:  jsii.String("Maximum"),
			Period:     awscdk.Duration_Hours(jsii.Number(1)),
		})
	}
	bounces, complaints := reputation("Reputation.BounceRate"), reputation("Reputation.ComplaintRate")
	o.alarm("SesBounceRateAlarm", bounces, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, sesBounceRateReview,
		"winback: the SES account's bounce rate is 5% or more: SES reviews the account (and may pause its sending at 10%)")
	o.alarm("SesComplaintRateAlarm", complaints, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, sesComplaintRateReview,
		"winback: the SES account's complaint rate is 0.1% or more: SES reviews the account (and may pause its sending at 0.5%)")
	return []awscloudwatch.IWidget{
		graph("SES bounce rate", 12, []awscloudwatch.IMetric{bounces}, threshold(sesBounceRateReview, "review: 5%")),
		graph("SES complaint rate", 12, []awscloudwatch.IMetric{complaints}, threshold(sesComplaintRateReview, "review: 0.1%")),
	}
}

// notify points every alarm at the topic, going off and clearing alike.
func (o *observe) notify() {
	action := awscloudwatchactions.NewSnsAction(o.Topic)
	for _, al := range o.Alarms {
		al.AddAlarmAction(action)
		al.AddOkAction(action)
	}
}

// createDashboard creates the <stack>-winback dashboard: the alarms'
// states on top, then rows, the custom metrics per day and the alarms'
// figures.
func (o *observe) createDashboard(rows [][]awscloudwatch.IWidget) {
	alarms := make([]awscloudwatch.IAlarm, len(o.Alarms))
	for i, al := range o.Alarms {
		alarms[i] = al
	}
	status := awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title:  jsii.String("Alarms"),
		Alarms: &alarms,
		Width:  jsii.Number(24),
		Height: jsii.Number(float64(2 + (len(alarms)+3)/4)), // four alarms a line
		SortBy: awscloudwatch.AlarmStatusWidgetSortBy_STATE_UPDATED_TIMESTAMP,
	})
	widgets := []*[]awscloudwatch.IWidget{{status}}
	for i := range rows {
		widgets = append(widgets, &rows[i])
	}
	o.Dashboard = awscloudwatch.NewDashboard(o.scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(dashboardName(awscdk.Stack_Of(o.scope))),
		Widgets:       &widgets,
	})
}

// dashboardName is "<stack>-winback": per stack, so that two stacks of an
// account and region keep apart. Dashboard names allow 255 letters,
// digits, - and _, which a stack name fits.
func dashboardName(stack awscdk.Stack) string {
	return *stack.StackName() + "-winback"
}
