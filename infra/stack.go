package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// WinbackStackProps configures the winback stack.
type WinbackStackProps struct {
	awscdk.StackProps
	// AssetDir holds one <function>/bootstrap per Lambda function, as built
	// by `make build`. Relative paths are resolved against the working
	// directory (the repository root under the CDK CLI). Default "bin".
	AssetDir string
}

// NewWinbackStack assembles the whole of winback, one concern per file:
// data.go (the table), api.go (the HTTP API, to which each function
// attaches its routes), ingest.go (the ingest function), reader.go (the api
// function), jobs.go (the nightly job: schedule, queues, planner, worker,
// alarms), mail.go (the campaigns' e-mail: send queue, sender, SES
// configuration set, mailevents, alarms), observe.go (the alarm topic,
// the alarms of every function, queue, the API, the table and SES, and the
// dashboard); functions.go holds the helper every Go Lambda is created
// with.
func NewWinbackStack(scope constructs.Construct, id string, props *WinbackStackProps) awscdk.Stack {
	var sprops awscdk.StackProps
	assetDir := "bin"
	if props != nil {
		sprops = props.StackProps
		if props.AssetDir != "" {
			assetDir = props.AssetDir
		}
	}
	if sprops.Description == nil {
		sprops.Description = jsii.String("winback: serverless retention toolkit for online shops")
	}
	stack := awscdk.NewStack(scope, &id, &sprops)

	fns := newFunctions(stack, assetDir)
	data := newData(stack)
	api := newAPI(stack)
	newIngest(fns, data, api)
	newReader(fns, data, api)
	jobs := newJobs(stack, fns, data)
	mail := newMail(stack, fns, data, api, jobs.Worker)
	observe := newObserve(stack, fns, data, api, jobs, mail)

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("Base URL of the HTTP API"),
		Value:       api.Stage.Url(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("TableName"), &awscdk.CfnOutputProps{
		Description: jsii.String("Name of the DynamoDB table (WINBACK_TABLE)"),
		Value:       data.Table.TableName(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("WorkQueueUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("URL of the nightly job's work queue (WINBACK_WORK_QUEUE_URL)"),
		Value:       jobs.WorkQueue.QueueUrl(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("WorkDeadLetterQueueUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("URL of the work queue's dead-letter queue"),
		Value:       jobs.DeadLetter.QueueUrl(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("SendQueueUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("URL of the campaigns' send queue (WINBACK_SEND_QUEUE_URL)"),
		Value:       mail.SendQueue.QueueUrl(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("SendDeadLetterQueueUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("URL of the send queue's dead-letter queue (WINBACK_SEND_DLQ_URL)"),
		Value:       mail.SendDeadLetter.QueueUrl(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("MailEventsDeadLetterQueueUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("URL of the dead-letter queue of SES events the mailevents function could not apply"),
		Value:       mail.EventsDeadLetter.QueueUrl(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("ConfigurationSetName"), &awscdk.CfnOutputProps{
		Description: jsii.String("SES configuration set of the campaign e-mails (WINBACK_SES_CONFIGURATION_SET)"),
		Value:       mail.ConfigurationSet.ConfigurationSetName(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("SNS topic every alarm notifies (context alarmEmail subscribes addresses; subscribe other endpoints here)"),
		Value:       observe.Topic.TopicArn(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("DashboardName"), &awscdk.CfnOutputProps{
		Description: jsii.String("CloudWatch dashboard of the alarms' figures and the custom metrics"),
		Value:       observe.Dashboard.DashboardName(),
	})
	return stack
}
