// Command api is the Lambda behind the reading routes (GET /v1/customers,
// GET /v1/customers/{id}, GET /v1/report), erasure (DELETE
// /v1/customers/{id}), the campaign reports and coupons (GET
// /v1/campaigns, /v1/campaigns/{id}, /v1/campaigns/{id}/coupons) and the
// one-click unsubscribe page (GET and POST /v1/unsubscribe/{token}): it
// serves what the nightly job and the campaigns stored.
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
	st := store.New(dynamodb.NewFromConfig(env.AWS), env.Vars[lambdaenv.Table], store.WithSealer(sealer), store.WithoutWebhookSecrets())
	lambda.Start(httpapi.LambdaHandler(api.ReadingRoutes(api.Deps{Shops: st, Reports: st, Campaigns: st, Log: env.Log, Limits: limits})))
}
