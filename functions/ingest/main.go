// Command ingest is the Lambda behind POST /v1/orders and the Shopify order
// webhook: it validates orders and stores them with their customers'
// summaries in DynamoDB.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/lambdaenv"
	"github.com/winback/winback/shared/secrets"
	"github.com/winback/winback/shared/secrets/awskms"
	"github.com/winback/winback/shared/store"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Table, secrets.KeyIDEnv)
	limits, err := httpapi.LimitsFromEnv(os.Getenv)
	if err != nil {
		env.Log.Error("start", "error", err)
		os.Exit(1)
	}
	sealer := awskms.New(kms.NewFromConfig(env.AWS), env.Vars[secrets.KeyIDEnv])
	st := store.New(dynamodb.NewFromConfig(env.AWS), env.Vars[lambdaenv.Table], store.WithSealer(sealer))
	lambda.Start(httpapi.LambdaHandler(api.OrderRoutes(api.Deps{
		Shops: st, Orders: st, Log: env.Log, MetricsNamespace: env.MetricsNamespace, Limits: limits,
	})))
}
