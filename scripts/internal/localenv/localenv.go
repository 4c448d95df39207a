// Package localenv reads the settings the local tools share (CLI, dev
// server, demo): the table name and the emulator endpoints (DynamoDB Local,
// SES, SQS), with the
// defaults the README documents.
package localenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/shared/store"
)

// Defaults for the local stack.
const (
	DefaultTable            = "winback"
	DefaultDynamoDBEndpoint = "http://127.0.0.1:8000"
	DefaultSESEndpoint      = "http://127.0.0.1:8005"
	DefaultSQSEndpoint      = "http://127.0.0.1:8010"
)

// Table is WINBACK_TABLE, or "winback".
func Table() string { return getenv("WINBACK_TABLE", DefaultTable) }

// DynamoDBEndpoint is DYNAMODB_ENDPOINT, or DynamoDB Local's default
// address. Set it to the empty string to use real AWS (credentials and
// region from the usual AWS environment).
func DynamoDBEndpoint() string { return getenv("DYNAMODB_ENDPOINT", DefaultDynamoDBEndpoint) }

// SESEndpoint is SES_ENDPOINT, or the SES emulator's default address.
func SESEndpoint() string { return getenv("SES_ENDPOINT", DefaultSESEndpoint) }

// SQSEndpoint is SQS_ENDPOINT, or the SQS emulator's (local-aws-sqs)
// default address. The empty string means real AWS.
func SQSEndpoint() string { return getenv("SQS_ENDPOINT", DefaultSQSEndpoint) }

// SQS returns a client for SQSEndpoint (real AWS when it is empty).
func SQS(ctx context.Context) (*sqs.Client, error) {
	if ep := SQSEndpoint(); ep != "" {
		return emulator.SQSClient(ep), nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return sqs.NewFromConfig(cfg), nil
}

// DynamoDB returns a client for DynamoDBEndpoint (real AWS when it is empty).
func DynamoDB(ctx context.Context) (*dynamodb.Client, error) {
	if ep := DynamoDBEndpoint(); ep != "" {
		return emulator.DynamoDBClient(ep), nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return dynamodb.NewFromConfig(cfg), nil
}

// CreateTableVar names the environment variable that allows Store to
// create a missing table at an endpoint that is not local ("1" or "true").
const CreateTableVar = "WINBACK_CREATE_TABLE"

// Store connects to DynamoDBEndpoint and returns a store over Table. A
// missing table is created only where MayCreateTable allows it: on a local
// emulator, or when WINBACK_CREATE_TABLE=1 says so; never silently in an
// AWS account.
func Store(ctx context.Context) (*store.Store, error) {
	db, err := DynamoDB(ctx)
	if err != nil {
		return nil, err
	}
	_, err = db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(Table())})
	var missing *types.ResourceNotFoundException
	switch {
	case errors.As(err, &missing):
		if !MayCreateTable(DynamoDBEndpoint(), os.Getenv(CreateTableVar)) {
			return nil, fmt.Errorf("table %s does not exist at %s: create it with 'go run ./scripts/winback table create' "+
				"(or deploy the stack and set WINBACK_TABLE to its TableName output), or set %s=1 to create it on first use",
				Table(), where(), CreateTableVar)
		}
		if err := store.CreateTable(ctx, db, Table()); err != nil {
			return nil, fmt.Errorf("table %s at %s: %w", Table(), where(), err)
		}
	case err != nil:
		return nil, fmt.Errorf("table %s at %s (%s): %w", Table(), where(), unreachableHint(), err)
	}
	opts, err := storeOptions(ctx)
	if err != nil {
		return nil, err
	}
	return store.New(db, Table(), opts...), nil
}

// CreateTable creates Table at DynamoDBEndpoint, wherever that is, unless
// it exists: the explicit "winback table create".
func CreateTable(ctx context.Context) error {
	db, err := DynamoDB(ctx)
	if err != nil {
		return err
	}
	if err := store.CreateTable(ctx, db, Table()); err != nil {
		return fmt.Errorf("table %s at %s (%s): %w", Table(), where(), unreachableHint(), err)
	}
	return nil
}

// Local reports whether endpoint is on this machine (localhost or a
// loopback address: an emulator); an empty endpoint is real AWS.
func Local(endpoint string) bool {
	if endpoint == "" {
		return false
	}
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// MayCreateTable reports whether a missing table may be created without
// being asked to: when endpoint is on this machine (localhost or a
// loopback address: an emulator), or when createTable (the value of
// WINBACK_CREATE_TABLE) is "1" or "true". An empty endpoint is real AWS.
func MayCreateTable(endpoint, createTable string) bool {
	if ok, err := strconv.ParseBool(createTable); err == nil && ok {
		return true
	}
	return Local(endpoint)
}

// where names the DynamoDB endpoint for messages.
// unreachableHint says what to check when the table cannot be reached.
func unreachableHint() string {
	if DynamoDBEndpoint() == "" {
		return "check your AWS credentials and region (AWS_PROFILE or AWS_ACCESS_KEY_ID, AWS_REGION) and that WINBACK_TABLE is the stack's TableName output"
	}
	return "is the local stack up? make stack"
}

func where() string {
	if ep := DynamoDBEndpoint(); ep != "" {
		return ep
	}
	return "AWS"
}

func getenv(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
