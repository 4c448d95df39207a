package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// query is one Query of a partition's items whose sort key begins with
// prefix ("" for all), counted in a Usage.
type query struct {
	pk, prefix string
	consistent bool
	// filter, when set, is applied after the key condition (it does not
	// lower what the query reads, only what it returns).
	filter *expression.ConditionBuilder
	// start continues after this key (nil: from the beginning).
	start map[string]types.AttributeValue
	// limit bounds the items evaluated per page (0: DynamoDB's 1 MB pages).
	limit int32
	// backwards reads in descending sort key order.
	backwards bool
}

func (q query) input(table string) (*dynamodb.QueryInput, error) {
	kc := expression.Key(attrPK).Equal(expression.Value(q.pk))
	if q.prefix != "" {
		kc = kc.And(expression.Key(attrSK).BeginsWith(q.prefix))
	}
	b := expression.NewBuilder().WithKeyCondition(kc)
	if q.filter != nil {
		b = b.WithFilter(*q.filter)
	}
	expr, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("build query of %s: %w", q.pk, err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    expr.KeyCondition(),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(q.consistent),
		ExclusiveStartKey:         q.start,
		ScanIndexForward:          aws.Bool(!q.backwards),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	}
	if q.limit > 0 {
		in.Limit = aws.Int32(q.limit)
	}
	return in, nil
}

// queryPages calls fn with every page of q, counting each page's capacity
// and what AWS bills for it (the items read, filtered out or not, rounded
// up to 4 KB per page). fn returns false to stop.
func (s *Store) queryPages(ctx context.Context, q query, u *Usage, fn func(items []map[string]types.AttributeValue, last map[string]types.AttributeValue) (more bool, err error)) error {
	in, err := q.input(s.table)
	if err != nil {
		return err
	}
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("query %s: %w", q.pk, err)
		}
		if out.ConsumedCapacity != nil {
			addRead(u, *out.ConsumedCapacity)
		} else {
			addRead(u)
		}
		size := 0
		for _, it := range out.Items {
			size += itemSize(it)
		}
		// Items a filter dropped are billed too; the consumed capacity
		// above includes them, this estimate only knows the returned ones.
		u.BilledReadUnits += queryReadUnits(size, q.consistent)
		more, err := fn(out.Items, out.LastEvaluatedKey)
		if err != nil {
			return err
		}
		if !more || len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// queryItems calls fn with every item of q.
func (s *Store) queryItems(ctx context.Context, q query, u *Usage, fn func(map[string]types.AttributeValue) error) error {
	return s.queryPages(ctx, q, u, func(items []map[string]types.AttributeValue, _ map[string]types.AttributeValue) (bool, error) {
		for _, it := range items {
			if err := fn(it); err != nil {
				return false, err
			}
		}
		return true, nil
	})
}

// queryReadUnits is what AWS bills for a Query page returning size bytes:
// the sum of the items' sizes rounded up to 4 KB, halved when eventually
// consistent (an empty page still costs the minimum).
func queryReadUnits(size int, consistent bool) float64 {
	return readUnits(size, consistent)
}
