package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/winback/winback/shared/secrets"
)

// WinbackStackProps configures the winback stack.
type WinbackStackProps struct {
	awscdk.StackProps
	// AssetDir holds one <function>/bootstrap per Lambda function, as built
	// by `make build`. Relative paths are resolved against the working
	// directory (the repository root under the CDK CLI). Default "bin".
	AssetDir string
}

// stageTag is the tag every resource of the stack carries the stage
// context key's value under.
const stageTag = "winback:stage"

// NewWinbackStack assembles the whole of winback, one concern per file:
// data.go (the table), api.go (the HTTP API, to which each function
// attaches its routes), ingest.go (the ingest function), reader.go (the api
// function), jobs.go (the nightly job: schedule, queues, planner, worker,
// alarms), mail.go (the campaigns' e-mail: send queue, sender, SES
// configuration set, mailevents, alarms), observe.go (the alarm topic,
// the alarms of every function, queue, the API, the table and SES, and the
// dashboard), secrets.go (the KMS key that seals secrets, and who may use
// it); functions.go holds the helper every Go Lambda is created
// with, access.go what each may do on the table, and config.go the CDK
// context keys the stack is configured with (read and checked first: a
// bad value stops the synthesis before anything is built).
func NewWinbackStack(scope constructs.Construct, id string, props *WinbackStackProps) awscdk.Stack {
	var sprops awscdk.StackProps
	assetDir := "bin"
	if props != nil {
		sprops = props.StackProps
		if props.AssetDir != "" {
			assetDir = props.AssetDir
		}
	}
	cfg := stackConfig(scope)
	if sprops.Description == nil {
		sprops.Description = jsii.String("winback (" + cfg.Stage + "): serverless retention toolkit for online shops")
	}
	stack := awscdk.NewStack(scope, &id, &sprops)
	// Every taggable resource of the stack says which deployment it is
	// (cost allocation, the console's resource groups).
	awscdk.Tags_Of(stack).Add(jsii.String(stageTag), jsii.String(cfg.Stage), nil)

	fns := newFunctions(stack, assetDir, cfg)
	data := newData(stack, cfg)
	api := newAPI(stack, cfg)
	keys := newSecretsKey(stack, cfg)
	keys.allowOpen(newIngest(fns, data, api), secrets.PurposeWebhookSecret)
	keys.allowSealAndOpen(newReader(fns, data, api), secrets.PurposeTokenKey)
	jobs := newJobs(stack, fns, data, cfg)
	mail := newMail(stack, fns, data, api, jobs.Worker, cfg)
	keys.allowSealAndOpen(mail.Sender, secrets.PurposeTokenKey)
	observe := newObserve(stack, fns, data, api, jobs, mail, cfg)

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
	awscdk.NewCfnOutput(stack, jsii.String("KmsKeyArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("KMS key sealing webhook secrets and token keys (WINBACK_KMS_KEY_ID for the winback CLI)"),
		Value:       keys.Key.KeyArn(),
	})
	return stack
}
