// Command api is the Lambda behind the reading routes (GET /v1/customers,
// GET /v1/customers/{id}, GET /v1/report), erasure (DELETE
// /v1/customers/{id}), the campaign reports and coupons (GET
// /v1/campaigns, /v1/campaigns/{id}, /v1/campaigns/{id}/coupons) and the
// one-click unsubscribe page (GET and POST /v1/unsubscribe/{token}): it
// serves what the nightly job and the campaigns stored.
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
	lambda.Start(httpapi.LambdaHandler(api.ReadingRoutes(api.Deps{Shops: st, Reports: st, Campaigns: st, Log: env.Log})))
}
