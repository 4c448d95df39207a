// Package store is winback's DynamoDB adapter: one table, the keys in
// keys.go, the item layouts in records.go, and the transactions that keep
// orders and customer summaries consistent.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Errors the store maps DynamoDB outcomes to.
var (
	// ErrNotFound means the item does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means a create found the item already there.
	ErrExists = errors.New("already exists")
	// ErrContention means optimistic writes kept colliding with concurrent
	// writers until the retry budget ran out; the request may be retried.
	ErrContention = errors.New("too much concurrent contention")
)

// DB is the part of the DynamoDB client the store uses.
type DB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ DB = (*dynamodb.Client)(nil)

// Store reads and writes winback's items in one DynamoDB table.
type Store struct {
	db    DB
	table string
	now   func() time.Time
	// maxAttempts bounds optimistic-concurrency retries of one write.
	maxAttempts int
}

// New returns a store over the given client and table.
func New(db DB, table string) *Store {
	return &Store{db: db, table: table, now: time.Now, maxAttempts: 12}
}

// Usage is what one operation cost in DynamoDB terms.
type Usage struct {
	RoundTrips int `json:"round_trips"`
	// ReadUnits and WriteUnits are the capacity DynamoDB reported
	// (ReturnConsumedCapacity). DynamoDB Local's figures for transactions
	// and for reads of missing items differ from AWS's billing.
	ReadUnits  float64 `json:"read_units"`
	WriteUnits float64 `json:"write_units"`
	// BilledReadUnits and BilledWriteUnits apply AWS's published on-demand
	// rules to the sizes of the items read and written: a read of up to 4 KB
	// is 0.5 unit eventually consistent, 1 strongly consistent (a missing
	// item too); a transactional write is 2 units per started KB.
	BilledReadUnits  float64 `json:"billed_read_units"`
	BilledWriteUnits float64 `json:"billed_write_units"`
}

// Add accumulates u2 into u.
func (u *Usage) Add(u2 Usage) {
	u.RoundTrips += u2.RoundTrips
	u.ReadUnits += u2.ReadUnits
	u.WriteUnits += u2.WriteUnits
	u.BilledReadUnits += u2.BilledReadUnits
	u.BilledWriteUnits += u2.BilledWriteUnits
}

func (u *Usage) read(cc []types.ConsumedCapacity) {
	u.RoundTrips++
	for _, c := range cc {
		u.ReadUnits += aws.ToFloat64(c.CapacityUnits)
	}
}

func (u *Usage) write(cc []types.ConsumedCapacity) {
	u.RoundTrips++
	for _, c := range cc {
		u.WriteUnits += aws.ToFloat64(c.CapacityUnits)
	}
}

// CreateTable creates winback's table (pk, sk; on demand; ttl) and waits
// until it is active. An existing table is left as it is.
func CreateTable(ctx context.Context, db *dynamodb.Client, table string) error {
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		return nil
	case err != nil:
		return fmt.Errorf("create table %s: %w", table, err)
	}
	w := dynamodb.NewTableExistsWaiter(db)
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", table, err)
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(attrTTL), Enabled: aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("enable ttl on %s: %w", table, err)
	}
	return nil
}

// retryable reports whether a cancelled transaction lost an optimistic
// race (a condition on a version or a concurrent transaction) and should
// be retried after re-reading.
func retryable(err error) bool {
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		for _, r := range tc.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed", "TransactionConflict":
				return true
			}
		}
		return false
	}
	var conflict *types.TransactionConflictException
	return errors.As(err, &conflict)
}
