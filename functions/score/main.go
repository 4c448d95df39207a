// Command score is the nightly job's worker: the SQS event source of the
// work queue delivers map, fit, score, finish and campaign messages in
// batches, and failed messages are reported as batch item failures
// (stages.Worker.Work). The campaign step runs the shop's win-back
// campaign of the night and queues its e-mails on the send queue; its
// recipients expire after WINBACK_SEND_RETENTION_DAYS (store.WithSendRetention).
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/winback/winback/shared/campaign/runner"
	"github.com/winback/winback/shared/lambdaenv"
	"github.com/winback/winback/shared/nightly/stages"
	"github.com/winback/winback/shared/queue"
	"github.com/winback/winback/shared/store"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Table, lambdaenv.WorkQueue, lambdaenv.SendQueue)
	retention, err := store.ParseSendRetention(os.Getenv(store.EnvSendRetentionDays))
	if err != nil {
		env.Log.Error("start", "error", err)
		os.Exit(1)
	}
	st := store.New(dynamodb.NewFromConfig(env.AWS), env.Vars[lambdaenv.Table], store.WithoutSecrets(), store.WithSendRetention(retention))
	sqsc := sqs.NewFromConfig(env.AWS)
	log := env.Log.With(slog.String("function", "score"))
	worker := &stages.Worker{
		Store:     st,
		Queue:     queue.New(sqsc, env.Vars[lambdaenv.WorkQueue]),
		Log:       log,
		Campaigns: &runner.Runner{Store: st, Queue: queue.New(sqsc, env.Vars[lambdaenv.SendQueue]), Log: log},

		MetricsNamespace: env.MetricsNamespace,
	}
	lambda.Start(worker.Work)
}
