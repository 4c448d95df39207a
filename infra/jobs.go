package main

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/winback/winback/shared/store"
)

// envWorkQueue carries the work queue's URL to the nightly and score functions.
const envWorkQueue = "WINBACK_WORK_QUEUE_URL"

// envSendRetentionDays carries the sendRetentionDays context key to the
// function that writes campaign recipients (score, whose campaign step
// adds them; the sender only updates them): how many days DynamoDB keeps
// a recipient before its TTL removes it.
const envSendRetentionDays = store.EnvSendRetentionDays

// The nightly job's settings (its schedule and time zone are the
// nightlySchedule and nightlyTimezone context keys: config.go).
const (
	// The worker handles one map, fit, score or finish message per record;
	// a score message is a whole shard of a shop's customers.
	workerMemoryMB       = 1024
	workerTimeoutSeconds = 5 * 60
	// workerBatchSize is one message per invocation: a record can be a
	// whole shard (minutes of work), the worker reports the records it has
	// no time left to start as failures, and each such report counts
	// towards maxReceiveCount. Small shops' messages take milliseconds, so
	// the extra invocations cost little ($0.20 per million).
	workerBatchSize = 1
	// workerMaxConcurrency bounds the worker's concurrent invocations (the
	// event source mapping's MaximumConcurrency; 2 to 1000), and so the
	// table's peak load. It is per mapping, not a reserved concurrency.
	workerMaxConcurrency = 10

	// The planner lists the shops and, per shop, begins the run and sends
	// its map messages: a few round trips per shop, one shop after the
	// other. 15 minutes (Lambda's most) covers ~10,000 shops.
	plannerMemoryMB       = 256
	plannerTimeoutSeconds = 15 * 60

	// workVisibilitySeconds is 6× the worker's timeout, as AWS recommends
	// for a queue that is a Lambda event source.
	workVisibilitySeconds = 6 * workerTimeoutSeconds
	// maxReceiveCount is how many deliveries a message gets before the
	// dead-letter queue takes it.
	maxReceiveCount = 5
	// Work is kept for SQS's default four days, so that a stuck night can
	// still be resumed; what reaches the dead-letter queue is kept for two
	// weeks to be looked at (SQS keeps a message's first enqueue time in
	// the dead-letter queue, so its retention must be the longer).
	workRetentionDays       = 4
	deadLetterRetentionDays = 14
	// oldestMessageAlarmSeconds: work older than this means the night is
	// stuck or falling behind.
	oldestMessageAlarmSeconds = 60 * 60
)

// jobs is the nightly scoring job: the schedule, the planner it invokes,
// the work queue with its dead-letter queue, and the worker the queue
// feeds.
type jobs struct {
	Schedule   awsscheduler.Schedule
	Planner    awslambda.Function
	Worker     awslambda.Function
	WorkQueue  awssqs.Queue
	DeadLetter awssqs.Queue
	Alarms     []awscloudwatch.Alarm
}

// newJobs creates the nightly job, on cfg's schedule in cfg's time zone.
// The worker, which runs the campaigns, keeps their recipients
// cfg.SendRetentionDays.
func newJobs(scope constructs.Construct, fns *functions, d *data, cfg config) *jobs {
	j := &jobs{}
	j.createQueues(scope)
	j.createWorker(fns, d, cfg)
	j.createPlanner(fns, d)
	j.createSchedule(scope, cfg)
	j.createAlarms(scope)
	return j
}

// createQueues creates the work queue and its dead-letter queue, both
// encrypted with SQS-managed keys and reachable over TLS only.
func (j *jobs) createQueues(scope constructs.Construct) {
	j.DeadLetter = newDeadLetterQueue(scope, "WorkDeadLetterQueue")
	j.WorkQueue = newQueue(scope, "WorkQueue", workVisibilitySeconds, workRetentionDays, j.DeadLetter)
}

// newDeadLetterQueue is a dead-letter queue of the stack: messages kept
// deadLetterRetentionDays, SQS-managed encryption, TLS only.
func newDeadLetterQueue(scope constructs.Construct, id string) awssqs.Queue {
	return awssqs.NewQueue(scope, jsii.String(id), &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(deadLetterRetentionDays)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	})
}

// newQueue is a work queue of the stack: SQS-managed encryption, TLS only,
// a message redriven to dlq after maxReceiveCount receives.
func newQueue(scope constructs.Construct, id string, visibilitySeconds, retentionDays float64, dlq awssqs.Queue) awssqs.Queue {
	return awssqs.NewQueue(scope, jsii.String(id), &awssqs.QueueProps{
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(visibilitySeconds)),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(retentionDays)),
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(maxReceiveCount)},
	})
}

// createWorker creates the score function, fed by the work queue. It reads
// summaries and writes scores, results, runs and KPIs, runs the campaigns
// (recipients kept cfg.SendRetentionDays), and sends the next stages'
// messages.
func (j *jobs) createWorker(fns *functions, d *data, cfg config) {
	j.Worker = fns.newGo(goFunction{
		Name:        "score",
		Description: "winback: the nightly job's worker (map, fit, score, finish messages from the work queue)",
		MemoryMB:    workerMemoryMB,
		Timeout:     awscdk.Duration_Seconds(jsii.Number(workerTimeoutSeconds)),
		Env: map[string]*string{
			envTable:             d.Table.TableName(),
			envWorkQueue:         j.WorkQueue.QueueUrl(),
			envSendRetentionDays: jsii.String(strconv.Itoa(cfg.SendRetentionDays)),
		},
	})
	d.allow(j.Worker, workerAccess...)
	j.WorkQueue.GrantSendMessages(j.Worker)
	// The event source grants receiving and deleting.
	j.Worker.AddEventSource(awslambdaeventsources.NewSqsEventSource(j.WorkQueue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(workerBatchSize),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(workerMaxConcurrency),
	}))
}

// createPlanner creates the nightly function. It reads the shop list,
// shops and runs, writes only run items, and sends to the work queue.
func (j *jobs) createPlanner(fns *functions, d *data) {
	j.Planner = fns.newGo(goFunction{
		Name:        "nightly",
		Description: "winback: plans the night (per shop: as-of day, run) and fans the work out to the work queue",
		MemoryMB:    plannerMemoryMB,
		Timeout:     awscdk.Duration_Seconds(jsii.Number(plannerTimeoutSeconds)),
		Env: map[string]*string{
			envTable:     d.Table.TableName(),
			envWorkQueue: j.WorkQueue.QueueUrl(),
		},
	})
	d.allow(j.Planner, plannerAccess...)
	j.WorkQueue.GrantSendMessages(j.Planner)
	// The scheduler invokes the planner asynchronously: Lambda retries a
	// failed night twice (planning again is safe: a started run is
	// resumed, a finished one skipped), within the night.
	j.Planner.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(2),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(6)),
	})
}

// createSchedule creates the EventBridge Scheduler schedule that invokes
// the planner with a scheduled event (nightly.PlanEvent): its id and time
// are the execution's, filled in by the scheduler.
func (j *jobs) createSchedule(scope constructs.Construct, cfg config) {
	input := awsscheduler.ScheduleTargetInput_FromObject(map[string]any{
		"version":     "0",
		"id":          awsscheduler.ContextAttribute_ExecutionId(),
		"detail-type": "Scheduled Event",
		"source":      "aws.scheduler",
		"time":        awsscheduler.ContextAttribute_ScheduledTime(),
		"resources":   []any{awsscheduler.ContextAttribute_ScheduleArn()},
		"detail":      map[string]any{},
	})
	j.Schedule = awsscheduler.NewSchedule(scope, jsii.String("NightlySchedule"), &awsscheduler.ScheduleProps{
		Description: jsii.String("winback: the nightly scoring job"),
		Schedule:    awsscheduler.ScheduleExpression_Expression(jsii.String(cfg.NightlySchedule), awscdk.TimeZone_Of(jsii.String(cfg.NightlyTimezone))),
		Target: awsschedulertargets.NewLambdaInvoke(j.Planner, &awsschedulertargets.ScheduleTargetBaseProps{
			Input: input,
			// Delivery to Lambda only; the planner's own retries are its
			// asynchronous invocation's (createPlanner).
			RetryAttempts: jsii.Number(3),
			MaxEventAge:   awscdk.Duration_Hours(jsii.Number(1)),
		}),
	})
}

// createAlarms watches the night: anything in the dead-letter queue, work
// waiting for over an hour. A planner that failed is its Errors alarm,
// which every function has (observe.go).
func (j *jobs) createAlarms(scope constructs.Construct) {
	j.Alarms = append(j.Alarms,
		j.DeadLetter.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(5)),
			Statistic: jsii.String("Maximum"),
		}).CreateAlarm(scope, jsii.String("WorkDeadLetterAlarm"), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String("winback: nightly messages in the dead-letter queue (failed " + fmt.Sprint(maxReceiveCount) + " times; see the score function's logs)"),
			Threshold:          jsii.Number(0),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}),
		j.WorkQueue.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(5)),
			Statistic: jsii.String("Maximum"),
		}).CreateAlarm(scope, jsii.String("WorkQueueAgeAlarm"), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String("winback: nightly work waiting for over an hour (worker failing or too little concurrency)"),
			Threshold:          jsii.Number(oldestMessageAlarmSeconds),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}),
	)
}
