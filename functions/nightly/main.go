// Command nightly is the Lambda the EventBridge schedule invokes: it plans
// each shop's night (the as-of day, the run item) and fans the work out to
// the score function through the work queue (nightly.Planner.Plan).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/winback/winback/shared/nightly"
	"github.com/winback/winback/shared/queue"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

func main() {
	log := lambdacontext.NewLogger()
	table, queueURL := os.Getenv("WINBACK_TABLE"), os.Getenv("WINBACK_WORK_QUEUE_URL")
	if table == "" || queueURL == "" {
		log.Error("WINBACK_TABLE and WINBACK_WORK_QUEUE_URL must be set", "table", table, "queue", queueURL)
		os.Exit(1)
	}
	if err := shop.CheckZones(); err != nil {
		log.Error("time zones", "error", err)
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("load AWS config", "error", err)
		os.Exit(1)
	}
	planner := &nightly.Planner{
		Store: store.New(dynamodb.NewFromConfig(cfg), table),
		Queue: queue.New(sqs.NewFromConfig(cfg), queueURL),
		Log:   log.With(slog.String("function", "nightly")),
	}
	lambda.Start(planner.Plan)
}
