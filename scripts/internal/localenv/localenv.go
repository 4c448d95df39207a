// Package localenv reads the settings the local tools share (CLI, dev
// server, demo): the table name and the emulator endpoints, with the
// defaults the README documents.
package localenv

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/winback/winback/shared/emulator"
	"github.com/winback/winback/shared/store"
)

// Defaults for the local stack.
const (
	DefaultTable            = "winback"
	DefaultDynamoDBEndpoint = "http://127.0.0.1:8000"
	DefaultSESEndpoint      = "http://127.0.0.1:8005"
)

// Table is WINBACK_TABLE, or "winback".
func Table() string { return getenv("WINBACK_TABLE", DefaultTable) }

// DynamoDBEndpoint is DYNAMODB_ENDPOINT, or DynamoDB Local's default
// address. Set it to the empty string to use real AWS (credentials and
// region from the usual AWS environment).
func DynamoDBEndpoint() string { return getenv("DYNAMODB_ENDPOINT", DefaultDynamoDBEndpoint) }

// SESEndpoint is SES_ENDPOINT, or the SES emulator's default address.
func SESEndpoint() string { return getenv("SES_ENDPOINT", DefaultSESEndpoint) }

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

// Store connects to DynamoDBEndpoint, makes sure the table exists and
// returns a store over it.
func Store(ctx context.Context) (*store.Store, error) {
	db, err := DynamoDB(ctx)
	if err != nil {
		return nil, err
	}
	if err := store.CreateTable(ctx, db, Table()); err != nil {
		where := DynamoDBEndpoint()
		if where == "" {
			where = "AWS"
		}
		return nil, fmt.Errorf("table %s at %s (is the local stack up? make stack): %w", Table(), where, err)
	}
	return store.New(db, Table()), nil
}

func getenv(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
