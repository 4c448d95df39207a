// Command mailevents is the Lambda behind the EventBridge rule on SES's
// events (source aws.ses): permanent bounces and complaints suppress the
// address for the shop that sent the e-mail, and every send, delivery,
// bounce and complaint is recorded on the campaign's recipient
// (feedback.Handler.Handle).
package main

import (
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/winback/winback/shared/campaign/feedback"
	"github.com/winback/winback/shared/lambdaenv"
	"github.com/winback/winback/shared/store"
)

func main() {
	env := lambdaenv.Must(lambdaenv.Table)
	h := &feedback.Handler{
		Store: store.New(dynamodb.NewFromConfig(env.AWS), env.Vars[lambdaenv.Table], store.WithoutSecrets()),
		Log:   env.Log.With(slog.String("function", "mailevents")),
		Now:   time.Now,
	}
	lambda.Start(h.Handle)
}
