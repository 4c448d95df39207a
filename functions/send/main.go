// Command send is the campaign sender: the SQS event source of the
// campaign queue delivers one message per recipient, and each is handed
// to SES v2 at most once, at the configured rate (sender.Sender.Work);
// messages to retry are batch item failures.
package main

import (
	"log/slog"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/winback/winback/shared/campaign/sender"
	"github.com/winback/winback/shared/lambdaenv"
	"github.com/winback/winback/shared/mail/ses"
	"github.com/winback/winback/shared/queue"
	"github.com/winback/winback/shared/secrets"
	"github.com/winback/winback/shared/secrets/awskms"
	"github.com/winback/winback/shared/store"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Table, secrets.KeyIDEnv, lambdaenv.SendDeadLetters, lambdaenv.UnsubscribeBase, lambdaenv.ConfigurationSet, lambdaenv.SendRate)
	rate, err := strconv.ParseFloat(env.Vars[lambdaenv.SendRate], 64)
	s := &sender.Sender{
		Store: store.New(dynamodb.NewFromConfig(env.AWS), env.Vars[lambdaenv.Table],
			store.WithSealer(awskms.New(kms.NewFromConfig(env.AWS), env.Vars[secrets.KeyIDEnv])), store.WithoutWebhookSecrets()),
		Mail:            ses.New(sesv2.NewFromConfig(env.AWS), env.Vars[lambdaenv.ConfigurationSet]),
		DeadLetters:     queue.NewDeadLetters(sqs.NewFromConfig(env.AWS), env.Vars[lambdaenv.SendDeadLetters]),
		UnsubscribeBase: env.Vars[lambdaenv.UnsubscribeBase],
		Rate:            rate,
		Log:             env.Log.With(slog.String("function", "send")),

		MetricsNamespace: env.MetricsNamespace,
	}
	if err == nil && !(rate > 0) {
		err = strconv.ErrRange
	}
	if err == nil {
		err = s.Check()
	}
	if err != nil {
		env.Log.Error("start", "error", err.Error(), "rate", env.Vars[lambdaenv.SendRate])
		os.Exit(1)
	}
	lambda.Start(s.Work)
}
