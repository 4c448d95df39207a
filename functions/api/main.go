// Command api is the Lambda behind the reading routes (GET /v1/customers,
// GET /v1/customers/{id}, GET /v1/report) and erasure (DELETE
// /v1/customers/{id}): it serves what the nightly job stored.
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
	lambda.Start(httpapi.LambdaHandler(api.Routes(api.Deps{Shops: st, Reports: st, Log: env.Log})))
}
