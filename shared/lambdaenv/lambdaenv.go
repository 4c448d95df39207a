// Package lambdaenv starts a winback Lambda function: the settings it reads
// from its environment, the checks that fail its start rather than its
// first request, and the AWS configuration its clients are built from once.
package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/winback/winback/shared/shop"
)

// The environment variables the functions read (infra/ sets them).
const (
	Table     = "WINBACK_TABLE"
	WorkQueue = "WINBACK_WORK_QUEUE_URL"
	// SendQueue is the URL of the campaign send queue the nightly worker
	// queues recipients on.
	SendQueue = "WINBACK_SEND_QUEUE_URL"
	// SendDeadLetters is the URL of the campaign queue's dead-letter
	// queue, where the sender puts what can never be sent, with why.
	SendDeadLetters = "WINBACK_SEND_DLQ_URL"
	// UnsubscribeBase is the absolute URL unsubscribe links start with
	// (the API's URL or a custom domain).
	UnsubscribeBase = "WINBACK_UNSUBSCRIBE_BASE_URL"
	// ConfigurationSet is the SES configuration set e-mails are sent with.
	ConfigurationSet = "WINBACK_SES_CONFIGURATION_SET"
	// SendRate is how many e-mails per second one sender instance hands
	// to SES, a decimal number.
	SendRate = "WINBACK_SEND_RATE"
	// MetricsNamespace is the CloudWatch namespace of the custom metrics
	// the functions write into their logs (shared/metrics); optional:
	// unset, no metric is written.
	MetricsNamespace = "WINBACK_METRICS_NAMESPACE"
)

// Env is a function's start-up state.
type Env struct {
	// Log writes JSON with the Lambda request id of the context it is given.
	Log *slog.Logger
	// Vars holds the required variables, by name.
	Vars map[string]string
	// AWS is the SDK configuration of the function's role and region.
	AWS aws.Config
	// MetricsNamespace is MetricsNamespace's value ("": no metrics).
	MetricsNamespace string
}

// Load reads the required environment variables, checks that the time
// zone database is there, and loads the AWS configuration. An error is a
// start-up failure: the caller logs it with env.Log and exits.
func Load(ctx context.Context, required ...string) (Env, error) {
	env := Env{Log: lambdacontext.NewLogger(), Vars: map[string]string{}, MetricsNamespace: os.Getenv(MetricsNamespace)}
	var missing []string
	for _, name := range required {
		if v := os.Getenv(name); v != "" {
			env.Vars[name] = v
		} else {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return env, fmt.Errorf("environment: %s not set", strings.Join(missing, ", "))
	}
	if err := shop.CheckZones(); err != nil {
		return env, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return env, fmt.Errorf("load AWS config: %w", err)
	}
	env.AWS = cfg
	return env, nil
}

// Must is Load for a main: it exits the process when Load fails.
func Must(required ...string) Env {
	env, err := Load(context.Background(), required...)
	if err != nil {
		env.Log.Error("start", "error", err)
		os.Exit(1)
	}
	return env
}
