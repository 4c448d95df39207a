// Command nightly is the Lambda the EventBridge schedule invokes: it plans
// each shop's night (the as-of day, the run item) and fans the work out to
// the score function through the work queue (nightly.Planner.Plan).
package main

import (
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/winback/winback/shared/lambdaenv"
	"github.com/winback/winback/shared/nightly"
	"github.com/winback/winback/shared/queue"
	"github.com/winback/winback/shared/store"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Table, lambdaenv.WorkQueue)
	planner := &nightly.Planner{
		Store: store.New(dynamodb.NewFromConfig(env.AWS), env.Vars[lambdaenv.Table], store.WithoutSecrets()),
		Queue: queue.New(sqs.NewFromConfig(env.AWS), env.Vars[lambdaenv.WorkQueue]),
		Log:   env.Log.With(slog.String("function", "nightly")),
	}
	lambda.Start(planner.Plan)
}
