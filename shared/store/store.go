// Package store is winback's DynamoDB adapter: one table, the keys in
// keys.go, the item layouts in records.go, and the transactions that keep
// orders and customer summaries consistent. What an order does to a summary
// is decided by customer.Fold; the store reads, conditions and writes.
package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/secrets"
	"github.com/winback/winback/shared/shop"
)

// Errors the store maps DynamoDB outcomes to, besides the domain's
// (customer.ErrNotFound, customer.ErrConflict, customer.ErrTooLarge,
// shop.ErrNotFound).
var (
	// ErrExists means a create found the shop or its API key already
	// there; it is shop.ErrExists.
	ErrExists = shop.ErrExists
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
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var _ DB = (*dynamodb.Client)(nil)

// Store reads and writes winback's items in one DynamoDB table.
type Store struct {
	db    DB
	table string
	now   func() time.Time
	// maxAttempts bounds optimistic-concurrency retries of one write.
	maxAttempts int
	// maxBatchAttempts bounds the BatchGetItem calls spent on one read
	// while DynamoDB leaves keys unprocessed.
	maxBatchAttempts int
	// maxItem is the largest item the store writes (DynamoDB's limit).
	maxItem int
	// sealer seals and opens webhook secrets and token keys.
	sealer secrets.Sealer
	// noWebhookSecrets: Shop leaves WebhookSecret empty (WithoutWebhookSecrets).
	noWebhookSecrets bool
	// sendRetention is how long campaign recipients and their coupons are
	// kept (WithSendRetention; 0: DefaultSendRetention).
	sendRetention time.Duration
}

// Option configures a Store.
type Option func(*Store)

// WithSealer seals the webhook secrets and token keys the store writes,
// and opens those it reads, with sealer: the functions' AWS KMS sealer
// (awskms). Without it the store uses secrets.Dev(), whose key is public:
// for tests and the local tools only.
func WithSealer(sealer secrets.Sealer) Option { return func(s *Store) { s.sealer = sealer } }

// WithoutWebhookSecrets makes Shop leave every shop's WebhookSecret empty
// and never open one: for the functions that do not verify webhooks (and
// may not decrypt webhook secrets), and the CLI against AWS.
func WithoutWebhookSecrets() Option { return func(s *Store) { s.noWebhookSecrets = true } }

// WithoutSecrets is for the functions that hold no KMS key (nightly,
// score, mailevents): Shop leaves webhook secrets out, and any attempt to
// seal or open a secret fails (secrets.ErrNoSealer) instead of falling back
// to the development key, so no such function can ever write a secret
// sealed with a public key into a deployment's table.
func WithoutSecrets() Option {
	return func(s *Store) {
		s.noWebhookSecrets = true
		s.sealer = secrets.Unavailable("this function holds no KMS key: it neither seals nor opens secrets")
	}
}

// New returns a store over the given client and table.
func New(db DB, table string, opts ...Option) *Store {
	s := &Store{db: db, table: table, now: time.Now, maxAttempts: 12, maxBatchAttempts: 8, maxItem: maxItemSize}
	for _, o := range opts {
		o(s)
	}
	if s.sealer == nil {
		s.sealer = secrets.Dev()
	}
	return s
}

// Usage is what one operation cost in DynamoDB terms.
type Usage = capacity.Usage

// addRead counts a read round trip and the capacity DynamoDB reported.
func addRead(u *Usage, cc ...types.ConsumedCapacity) {
	u.RoundTrips++
	for _, c := range cc {
		u.ReadUnits += aws.ToFloat64(c.CapacityUnits)
	}
}

// addWrite counts a write round trip and the capacity DynamoDB reported.
func addWrite(u *Usage, cc ...types.ConsumedCapacity) {
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

// retryable reports whether a failed transaction lost an optimistic race
// (a condition on a version or a concurrent transaction) and should be
// retried after re-reading. A reused request token with other parameters
// (a concurrent identical request) is such a race too.
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

// tokenClash reports whether DynamoDB refused a transaction because its
// ClientRequestToken was used, within the last ten minutes, by another
// transaction: ours did not happen, and must be retried with another token.
// (The same orders stored again after their customer was erased derive the
// same token as the first time.)
func tokenClash(err error) bool {
	var mismatch *types.IdempotentParameterMismatchException
	return errors.As(err, &mismatch)
}

// tooLarge reports whether DynamoDB refused a write for the size of an item
// or of the whole transaction: a permanent failure.
func tooLarge(err error) bool {
	var ae interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
		return false
	}
	msg := strings.ToLower(ae.ErrorMessage())
	return strings.Contains(msg, "size") && (strings.Contains(msg, "exceed") || strings.Contains(msg, "larger"))
}

// definite reports whether a failed write certainly did not happen: DynamoDB
// answered and refused it. Other failures (a lost response, a timeout, a
// 5xx after the SDK's retries) may hide a committed transaction.
func definite(err error) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500
}

// getRecord reads one item into a record R. found is false when there is
// no such item.
func getRecord[R any](ctx context.Context, s *Store, key map[string]types.AttributeValue, consistent bool, u *Usage) (rec R, found bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:              aws.String(s.table),
		Key:                    key,
		ConsistentRead:         aws.Bool(consistent),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return rec, false, err
	}
	if out.ConsumedCapacity != nil {
		addRead(u, *out.ConsumedCapacity)
	} else {
		addRead(u)
	}
	u.BilledReadUnits += readUnits(itemSize(out.Item), consistent)
	if out.Item == nil {
		return rec, false, nil
	}
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return rec, true, fmt.Errorf("decode %s: %w", stringAttr(key, attrPK), err)
	}
	return rec, true, nil
}

// queryAll calls fn with every item of partition pk, page by page.
func (s *Store) queryAll(ctx context.Context, pk string, fn func(map[string]types.AttributeValue) error) error {
	kc := expression.Key(attrPK).Equal(expression.Value(pk))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return fmt.Errorf("build key condition: %w", err)
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("query %s: %w", pk, err)
		}
		for _, it := range page.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// batchGet reads keys from the table (at most 100), following
// UnprocessedKeys for at most maxBatchAttempts calls, and bills the reads.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, consistent bool, u *Usage) ([]map[string]types.AttributeValue, error) {
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(consistent)}}
	var items []map[string]types.AttributeValue
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt == s.maxBatchAttempts {
			return nil, fmt.Errorf("batch get: %d keys still unprocessed after %d attempts", len(req[s.table].Keys), attempt)
		}
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, err
			}
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems:           req,
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return nil, fmt.Errorf("batch get: %w", err)
		}
		addRead(u, out.ConsumedCapacity...)
		items = append(items, out.Responses[s.table]...)
		req = out.UnprocessedKeys
	}
	sizes := map[string]int{}
	for _, it := range items {
		sizes[stringAttr(it, attrPK)+"\x00"+stringAttr(it, attrSK)] = itemSize(it)
	}
	for _, k := range keys {
		u.BilledReadUnits += readUnits(sizes[stringAttr(k, attrPK)+"\x00"+stringAttr(k, attrSK)], consistent)
	}
	return items, nil
}

func (s *Store) conditionalPut(item map[string]types.AttributeValue, cond expression.ConditionBuilder) (*types.Put, error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("build condition: %w", err)
	}
	return &types.Put{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, nil
}

func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func stringAttr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// backoff sleeps before retry number attempt: jittered, exponential, capped.
func backoff(ctx context.Context, attempt int) error {
	base := time.Duration(5<<min(attempt, 6)) * time.Millisecond
	d := base/2 + time.Duration(rand.Int64N(int64(base)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
