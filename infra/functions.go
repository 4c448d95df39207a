package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// envTable is the environment variable that carries the table name to a function.
const envTable = "WINBACK_TABLE"

// envMetricsNamespace carries the namespace of the custom metrics
// (shared/metrics) to every function: metricNamespace, the stack's.
const envMetricsNamespace = "WINBACK_METRICS_NAMESPACE"

// Defaults shared by every Go function unless its goFunction says otherwise.
const (
	defaultMemoryMB       = 256
	defaultTimeoutSeconds = 10
)

// functions creates the stack's Go Lambda functions with the common settings.
type functions struct {
	scope    constructs.Construct
	assetDir string
	// retention is how long the functions' logs are kept.
	retention awslogs.RetentionDays
	// created is every function newGo made, in order: what the alarms
	// and the dashboard watch (observe.go).
	created []createdFunction
}

// createdFunction is one function newGo made, with the goFunction's name.
type createdFunction struct {
	Name string
	Fn   awslambda.Function
}

// goFunction describes one function; zero values take the defaults.
type goFunction struct {
	// Name is the directory under functions/ and under the asset directory
	// (bin/<Name>/bootstrap); it also prefixes the construct ids.
	Name        string
	Description string
	MemoryMB    float64
	Timeout     awscdk.Duration
	Env         map[string]*string
	// ReservedConcurrency caps the function's concurrent instances and
	// sets them aside from the account's pool (0: no reservation).
	ReservedConcurrency int
	// DeadLetterQueue receives the events of asynchronous invocations
	// that failed every attempt (nil: none). Lambda grants the role
	// sqs:SendMessage on it.
	DeadLetterQueue awssqs.IQueue
}

// newFunctions returns the helper that builds functions from
// assetDir/<name>/bootstrap, keeping their logs cfg.LogRetentionDays.
func newFunctions(scope constructs.Construct, assetDir string, cfg config) *functions {
	return &functions{scope: scope, assetDir: assetDir, retention: retentionDays[cfg.LogRetentionDays]}
}

// newGo creates a provided.al2023 arm64 function from <assetDir>/<Name>/bootstrap
// with JSON logs in its own log group of limited retention, and a role of
// its own that may only write to that log group. Further access is granted
// with Grant* or, on the table, access.go's statements.
// Every function is told the metrics namespace, and is recorded in created.
// It panics, as CDK constructs do, when the bootstrap binary or the zone
// database beside it (zoneinfo.zip, read through ZONEINFO) is missing.
func (f *functions) newGo(fn goFunction) awslambda.Function {
	code := filepath.Join(f.assetDir, fn.Name)
	for _, file := range []string{"bootstrap", "zoneinfo.zip"} {
		if _, err := os.Stat(filepath.Join(code, file)); err != nil {
			panic(fmt.Errorf("function %s: %w (run `make build` first)", fn.Name, err))
		}
	}
	id := strings.ToUpper(fn.Name[:1]) + fn.Name[1:]
	memory := fn.MemoryMB
	if memory == 0 {
		memory = defaultMemoryMB
	}
	timeout := fn.Timeout
	if timeout == nil {
		timeout = awscdk.Duration_Seconds(jsii.Number(defaultTimeoutSeconds))
	}
	env := map[string]*string{
		// Go's zone database, shipped beside the binary by make build.
		"ZONEINFO":          jsii.String("/var/task/zoneinfo.zip"),
		envMetricsNamespace: jsii.String(metricNamespace(awscdk.Stack_Of(f.scope))),
	}
	for k, v := range fn.Env {
		env[k] = v
	}

	logs := awslogs.NewLogGroup(f.scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     f.retention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	// An own role instead of the default one: the default attaches the
	// AWSLambdaBasicExecutionRole managed policy, which allows writing to
	// any log group ("*").
	role := awsiam.NewRole(f.scope, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("winback " + fn.Name + " function"),
	})
	logs.GrantWrite(role)

	var description *string
	if fn.Description != "" {
		description = jsii.String(fn.Description)
	}
	var reserved *float64
	if fn.ReservedConcurrency > 0 {
		reserved = jsii.Number(fn.ReservedConcurrency)
	}
	function := awslambda.NewFunction(f.scope, jsii.String(id+"Function"), &awslambda.FunctionProps{
		Description:   description,
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(code), nil),
		MemorySize:    jsii.Number(memory),
		Timeout:       timeout,
		Environment:   &env,
		Role:          role,
		LogGroup:      logs,
		LoggingFormat: awslambda.LoggingFormat_JSON,

		ReservedConcurrentExecutions: reserved,
		DeadLetterQueue:              fn.DeadLetterQueue,
	})
	f.created = append(f.created, createdFunction{Name: fn.Name, Fn: function})
	return function
}
