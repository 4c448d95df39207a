// Command ingest is the Lambda behind POST /v1/orders and the Shopify order
// webhook: it validates orders and stores them with their customers'
// summaries in DynamoDB.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/lambdaenv"
	"github.com/winback/winback/shared/store"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Table)
	st := store.New(dynamodb.NewFromConfig(env.AWS), env.Vars[lambdaenv.Table])
	lambda.Start(httpapi.LambdaHandler(api.OrderRoutes(api.Deps{Shops: st, Orders: st, Log: env.Log, MetricsNamespace: env.MetricsNamespace})))
}
