// Command api is the Lambda behind the reading routes (GET /v1/customers,
// GET /v1/customers/{id}, GET /v1/report) and erasure (DELETE
// /v1/customers/{id}): it serves what the nightly job stored.
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
	lambda.Start(httpapi.LambdaHandler(api.Routes(api.Deps{Shops: st, Reports: st, Log: log})))
}
