// Command ingest is the Lambda behind POST /v1/orders and the Shopify order
// webhook: it validates orders and stores them with their customers'
// summaries in DynamoDB.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	table := os.Getenv("WINBACK_TABLE")
	if table == "" {
		log.Error("WINBACK_TABLE is not set")
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
	st := store.New(dynamodb.NewFromConfig(cfg), table)
	lambda.Start(httpapi.LambdaHandler(api.Routes(api.Deps{Shops: st, Orders: st, Log: log})))
}
