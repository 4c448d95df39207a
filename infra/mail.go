package main

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The environment variables of the campaign functions (shared/lambdaenv
// reads them, but for envSendQueue, which the score function's campaign
// stage reads).
const (
	envSendQueue        = "WINBACK_SEND_QUEUE_URL"
	envSendDeadLetters  = "WINBACK_SEND_DLQ_URL"
	envUnsubscribeBase  = "WINBACK_UNSUBSCRIBE_BASE_URL"
	envConfigurationSet = "WINBACK_SES_CONFIGURATION_SET"
	envSendRate         = "WINBACK_SEND_RATE"
)

// The campaign mail's settings (the sender identities, SES's rate and the
// unsubscribe links' base URL are the context keys senderIdentity,
// sesMaxSendRate and unsubscribeBaseUrl: config.go).
const (
	// senderConcurrency is how many sender instances run at once: the
	// event source mapping's MaximumConcurrency (whose least is 2) and
	// the function's reserved concurrency, so that nothing else (a retry,
	// a console test) can start a third. Each instance paces itself to
	// sesMaxSendRate / senderConcurrency e-mails per second
	// (WINBACK_SEND_RATE), so all of them together stay within
	// sesMaxSendRate:
	//
	//	rate per instance × senderConcurrency ≤ sesMaxSendRate
	//	     14 / 2 = 7/s ×                 2 = 14/s
	senderConcurrency = 2
	// senderBatchSize is the most messages (recipients) per invocation;
	// the sender reports each it could not finish as a batch item failure.
	senderBatchSize = 10
	// senderTimeoutSeconds covers a batch of 10 at 0.5 e-mails per second
	// (a sandbox account's rate of 1 over two instances): the sender
	// claims no recipient, and so begins no record, in an invocation's
	// last 45 s (the claim, SendEmail's 30 s, the record's 10 s), so 30 s
	// are left to begin them in.
	senderTimeoutSeconds = 75
	// sendVisibilitySeconds is 6× the sender's timeout, as AWS recommends
	// for a queue that is a Lambda event source. A throttled message is
	// tried again after it.
	sendVisibilitySeconds = 6 * senderTimeoutSeconds
	// sendQueueRetentionDays keeps recipients' messages SQS's default
	// four days. A message that reaches the dead-letter queue after
	// maxReceiveCount deliveries leaves its recipient queued (the sender
	// released its claim) or in doubt (never sent again): a resumed run
	// queues the former again.
	sendQueueRetentionDays = 4

	// EventBridge's delivery of an SES event to the mailevents function:
	// a few attempts within two hours, then the dead-letter queue. The
	// function's own failures are retried twice by Lambda (asynchronous
	// invocation) within six hours, then go to the same queue, so that
	// it holds SES events only, ready to be replayed.
	mailEventsTargetRetries   = 10
	mailEventsTargetMaxAgeHrs = 2
	mailEventsRetries         = 2
	mailEventsMaxAgeHrs       = 6
)

// sesEventTypes are the SES events the configuration set publishes, with
// the EventBridge detail-type of each: what the mailevents function
// records on a campaign's recipients. Opens and clicks are left out (no
// tracking pixel, no rewritten links).
var sesEventTypes = []struct {
	event      awsses.EmailSendingEvent
	detailType string
}{
	{awsses.EmailSendingEvent_SEND, "Email Sent"},
	{awsses.EmailSendingEvent_DELIVERY, "Email Delivered"},
	{awsses.EmailSendingEvent_BOUNCE, "Email Bounced"},
	{awsses.EmailSendingEvent_COMPLAINT, "Email Complaint Received"},
	{awsses.EmailSendingEvent_REJECT, "Email Rejected"},
	{awsses.EmailSendingEvent_RENDERING_FAILURE, "Email Rendering Failed"},
	{awsses.EmailSendingEvent_DELIVERY_DELAY, "Email Delivery Delayed"},
}

// shopTag is the EmailTags name the sender gives every campaign e-mail
// the shop's id under (SES events carry it in detail.mail.tags).
const shopTag = "shop"

// mail is the campaigns' way out and back: the send queue the score
// function's campaign stage fills, the sender it feeds, the SES
// configuration set the sender sends with, whose events come back
// through EventBridge to the mailevents function, and the alarms.
type mail struct {
	// SendQueue holds one message per recipient, filled by the score
	// function's campaign stage; SendDeadLetter what can never be sent.
	SendQueue      awssqs.Queue
	SendDeadLetter awssqs.Queue
	// Sender is the send function, the only one that may call SES.
	Sender awslambda.Function
	// ConfigurationSet is what every campaign e-mail is sent with.
	ConfigurationSet awsses.ConfigurationSet
	// Events is the mailevents function, which EventsRule feeds; what it
	// could not apply ends in EventsDeadLetter.
	Events           awslambda.Function
	EventsRule       awsevents.Rule
	EventsDeadLetter awssqs.Queue
	// SendingPaused counts the sender's SendingPaused log lines.
	SendingPaused awslogs.MetricFilter
	// SendingStopped counts the safety valve's stops of a shop's sending:
	// the SendingStopped log lines of mailevents (while a campaign sends)
	// and of the score worker (the nightly campaign step).
	SendingStopped awscloudwatch.Metric
	Alarms         []awscloudwatch.Alarm
	// setName is the configuration set's name, known at synthesis.
	setName string
}

// newMail creates the campaign mail and lets the nightly worker (the
// score function, which runs each shop's campaign after its night) send
// to the send queue. The sender identities, SES's rate and the
// unsubscribe base URL are cfg's.
func newMail(scope constructs.Construct, fns *functions, d *data, a *api, worker awslambda.Function, cfg config) *mail {
	m := &mail{}
	m.createQueues(scope)
	m.createConfigurationSet(scope)
	m.createSender(scope, fns, d, a, cfg)
	m.createEvents(scope, fns, d)
	m.allowCampaigns(worker)
	m.createAlarms(scope, worker)
	return m
}

// createQueues creates the send queue (one message per recipient) and its
// dead-letter queue, encrypted with SQS-managed keys, TLS only.
func (m *mail) createQueues(scope constructs.Construct) {
	m.SendDeadLetter = newDeadLetterQueue(scope, "SendDeadLetterQueue")
	m.SendQueue = newQueue(scope, "SendQueue", sendVisibilitySeconds, sendQueueRetentionDays, m.SendDeadLetter)
	m.EventsDeadLetter = newDeadLetterQueue(scope, "MailEventsDeadLetterQueue")
}

// createConfigurationSet creates the SES configuration set every campaign
// e-mail is sent with, named after the stack, publishing the events of
// sesEventTypes to the default event bus (the only bus SES publishes to).
func (m *mail) createConfigurationSet(scope constructs.Construct) {
	m.setName = configurationSetName(awscdk.Stack_Of(scope))
	m.ConfigurationSet = awsses.NewConfigurationSet(scope, jsii.String("ConfigurationSet"), &awsses.ConfigurationSetProps{
		ConfigurationSetName: jsii.String(m.setName),
		// The account-level suppression list is off for this set
		// (SuppressionOptions.SuppressedReasons: []): it is shared by
		// every shop of the account, so one shop's bounce or complaint
		// would silently stop another shop's mail to the same address.
		// winback suppresses per shop instead: the mailevents function
		// suppresses an address for the shop whose e-mail hard-bounced or
		// drew a complaint, at once. A dead address may thus bounce once
		// per shop that mails it; SES's global suppression list still
		// applies.
		DisableSuppressionList: jsii.Bool(true),
	})
	events := make([]awsses.EmailSendingEvent, len(sesEventTypes))
	for i, t := range sesEventTypes {
		events[i] = t.event
	}
	m.ConfigurationSet.AddEventDestination(jsii.String("ToEventBridge"), &awsses.ConfigurationSetEventDestinationOptions{
		Destination: awsses.EventDestination_EventBus(
			awsevents.EventBus_FromEventBusName(scope, jsii.String("DefaultEventBus"), jsii.String("default"))),
		Events: &events,
	})
}

// createSender creates the send function, fed by the send queue, and its
// permissions: the table, its dead-letter queue, and ses:SendEmail as the
// configured identities with the configuration set, nothing else of SES.
func (m *mail) createSender(scope constructs.Construct, fns *functions, d *data, a *api, cfg config) {
	m.Sender = fns.newGo(goFunction{
		Name:        "send",
		Description: "winback: the campaign sender (send queue -> SES v2 SendEmail, at most once per recipient)",
		Timeout:     awscdk.Duration_Seconds(jsii.Number(senderTimeoutSeconds)),
		Env: map[string]*string{
			envTable:            d.Table.TableName(),
			envSendDeadLetters:  m.SendDeadLetter.QueueUrl(),
			envUnsubscribeBase:  unsubscribeBase(cfg, a),
			envConfigurationSet: jsii.String(m.setName),
			envSendRate:         jsii.String(strconv.FormatFloat(cfg.SESMaxSendRate/senderConcurrency, 'f', -1, 64)),
		},
		ReservedConcurrency: senderConcurrency,
	})
	d.allow(m.Sender, senderAccess...)
	// What can never be sent goes to the dead letters with its reason;
	// the sender never sends to the send queue itself.
	m.SendDeadLetter.GrantSendMessages(m.Sender)
	// The event source grants receiving and deleting.
	m.Sender.AddEventSource(awslambdaeventsources.NewSqsEventSource(m.SendQueue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(senderBatchSize),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(senderConcurrency),
	}))

	// SES v2 SendEmail authorizes against the sending identity and, when
	// the call names one, the configuration set: both ARNs are needed
	// (aws/aws-cdk#34402: EmailIdentity.grantSendEmail forgets the
	// latter), and they are all that is allowed.
	stack := awscdk.Stack_Of(scope)
	resources := []*string{sesARN(stack, "configuration-set", m.setName)}
	for _, id := range cfg.SenderIdentities {
		resources = append(resources, sesARN(stack, "identity", id))
	}
	m.Sender.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("ses:SendEmail"),
		Resources: &resources,
	}))
}

// createEvents creates the mailevents function and the EventBridge rule
// that delivers it the configuration set's events, with retries and a
// dead-letter queue on both legs (EventBridge → Lambda, and the function).
func (m *mail) createEvents(scope constructs.Construct, fns *functions, d *data) {
	m.Events = fns.newGo(goFunction{
		Name:            "mailevents",
		Description:     "winback: SES events (sends, deliveries, bounces, complaints) -> recipients and suppressions",
		Env:             map[string]*string{envTable: d.Table.TableName()},
		DeadLetterQueue: m.EventsDeadLetter,
	})
	d.allow(m.Events, maileventsAccess...)
	m.Events.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(mailEventsRetries),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(mailEventsMaxAgeHrs)),
	})

	detailTypes := make([]*string, len(sesEventTypes))
	for i, t := range sesEventTypes {
		detailTypes[i] = jsii.String(t.detailType)
	}
	m.EventsRule = awsevents.NewRule(scope, jsii.String("MailEventsRule"), &awsevents.RuleProps{
		Description: jsii.String("winback: SES events of campaign e-mails -> the mailevents function"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.ses"),
			DetailType: &detailTypes,
			// The default bus carries the SES events of every
			// application of the account: only this stack's
			// configuration set's, of e-mails tagged with a shop, are
			// ours.
			Detail: &map[string]any{"mail": map[string]any{"tags": map[string]any{
				"ses:configuration-set": []any{m.setName},
				shopTag:                 []any{map[string]any{"exists": true}},
			}}},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(m.Events, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: m.EventsDeadLetter,
			RetryAttempts:   jsii.Number(mailEventsTargetRetries),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(mailEventsTargetMaxAgeHrs)),
		})},
	})
}

// allowCampaigns lets the score function, which runs a shop's campaign
// once its night is done, queue the recipients for the sender.
func (m *mail) allowCampaigns(worker awslambda.Function) {
	worker.AddEnvironment(jsii.String(envSendQueue), m.SendQueue.QueueUrl(), nil)
	m.SendQueue.GrantSendMessages(worker)
}

// createAlarms watches the mail: anything in either dead-letter queue
// (recipients that failed for good, SES events not applied), and SES
// pausing the account's sending (the sender logs winback_metric
// "SendingPaused" at ERROR, and pauses the campaign).
func (m *mail) createAlarms(scope constructs.Construct, worker awslambda.Function) {
	deadLetterAlarm := func(id string, q awssqs.Queue, what string) awscloudwatch.Alarm {
		return q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(5)),
			Statistic: jsii.String("Maximum"),
		}).CreateAlarm(scope, jsii.String(id), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String(what),
			Threshold:          jsii.Number(0),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
	}
	m.SendingPaused = awslogs.NewMetricFilter(scope, jsii.String("SendingPausedFilter"), &awslogs.MetricFilterProps{
		LogGroup:        m.Sender.LogGroup(),
		FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$.winback_metric"), jsii.String("="), jsii.String("SendingPaused")),
		MetricNamespace: jsii.String(metricNamespace(awscdk.Stack_Of(scope))),
		MetricName:      jsii.String("SendingPaused"),
		MetricValue:     jsii.String("1"),
	})
	// The safety valve (shared/campaign, valve.go) logs winback_metric
	// "SendingStopped" where it trips: in mailevents while a campaign
	// sends, in the score worker at night. One metric, two filters.
	ns := metricNamespace(awscdk.Stack_Of(scope))
	for _, f := range []struct {
		id    string
		group awslogs.ILogGroup
	}{{"SendingStoppedEventsFilter", m.Events.LogGroup()}, {"SendingStoppedNightlyFilter", worker.LogGroup()}} {
		awslogs.NewMetricFilter(scope, jsii.String(f.id), &awslogs.MetricFilterProps{
			LogGroup:        f.group,
			FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$.winback_metric"), jsii.String("="), jsii.String("SendingStopped")),
			MetricNamespace: jsii.String(ns),
			MetricName:      jsii.String("SendingStopped"),
			MetricValue:     jsii.String("1"),
		})
	}
	m.SendingStopped = awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(ns), MetricName: jsii.String("SendingStopped"),
		Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum"),
	})
	m.Alarms = append(m.Alarms,
		m.SendingStopped.CreateAlarm(scope, jsii.String("SendingStoppedAlarm"), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription: jsii.String("winback: the safety valve stopped a shop's sending (its campaign's hard-bounce rate reached 5% or its complaint rate 0.1%); " +
				"see the shop's report or GET /v1/campaigns, clean its list, then: winback shop resume-sending --shop SHOP_ID --yes"),
			Threshold:          jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}),
		deadLetterAlarm("SendDeadLetterAlarm", m.SendDeadLetter,
			"winback: campaign recipients in the send dead-letter queue (rejected by SES, not renderable, or failed "+
				fmt.Sprint(maxReceiveCount)+" times; each message says why, see the send function's logs)"),
		deadLetterAlarm("MailEventsDeadLetterAlarm", m.EventsDeadLetter,
			"winback: SES events the mailevents function could not apply (bounces and complaints not suppressed; replay them)"),
		m.SendingPaused.Metric(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(5)),
			Statistic: jsii.String("Sum"),
		}).CreateAlarm(scope, jsii.String("SendingPausedAlarm"), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String("winback: SES paused the account's sending; campaigns are paused (see the SES console's reputation page)"),
			Threshold:          jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}),
	)
}

// configurationSetName is the SES configuration set's name: the stack's,
// so that two stacks of one account and region (staging, production) keep
// apart, and their events too. SES allows 64 letters, digits, - and _.
func configurationSetName(stack awscdk.Stack) string {
	const suffix = "-campaigns"
	name := *stack.StackName()
	if limit := 64 - len(suffix); len(name) > limit {
		name = name[:limit]
	}
	return name + suffix
}

// metricNamespace is the CloudWatch namespace of the stack's log metrics,
// per stack for the same reason.
func metricNamespace(stack awscdk.Stack) string {
	return "winback/" + *stack.StackName()
}

// sesARN is the ARN of an SES resource of the stack's account and region.
func sesARN(stack awscdk.Stack, resource, name string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("ses"),
		Resource:     jsii.String(resource),
		ResourceName: jsii.String(name),
		ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
}

// unsubscribeBase is the unsubscribe links' base URL: the
// unsubscribeBaseUrl context key (a custom domain of the API), else the
// HTTP API's own URL.
func unsubscribeBase(cfg config, a *api) *string {
	if cfg.UnsubscribeBaseURL == "" {
		return a.HTTP.ApiEndpoint()
	}
	return jsii.String(cfg.UnsubscribeBaseURL)
}
