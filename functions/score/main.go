// Command score is the nightly job's worker: the SQS event source of the
// work queue delivers map, fit, score and finish messages in batches, and
// failed messages are reported as batch item failures (stages.Worker.Work).
package main

import (
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/winback/winback/shared/lambdaenv"
	"github.com/winback/winback/shared/nightly/stages"
	"github.com/winback/winback/shared/queue"
	"github.com/winback/winback/shared/store"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Table, lambdaenv.WorkQueue)
	worker := &stages.Worker{
		Store: store.New(dynamodb.NewFromConfig(env.AWS), env.Vars[lambdaenv.Table]),
		Queue: queue.New(sqs.NewFromConfig(env.AWS), env.Vars[lambdaenv.WorkQueue]),
		Log:   env.Log.With(slog.String("function", "score")),
	}
	lambda.Start(worker.Work)
}
