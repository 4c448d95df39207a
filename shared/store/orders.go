package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
)

// WebhookTTL is how long a processed webhook delivery id is remembered.
const WebhookTTL = 7 * 24 * time.Hour

// PutResult says what storing an order did and what it cost.
type PutResult struct {
	Change customer.Change
	Usage  Usage
}

// PutOrder stores order o of shop sh and folds it into its customer's
// summary in one transaction, so the two never disagree. An identical
// re-send or an older version changes nothing; a conflicting reuse of the
// order id returns customer.ErrConflict. When webhookID is not empty the
// delivery is remembered and a second delivery with the same id is a
// Duplicate.
//
// The happy path costs two round trips: one eventually consistent
// BatchGetItem of the order, the summary (and the webhook id), and one
// TransactWriteItems guarded by conditions on the order's hash and the
// summary's version. A lost race re-reads consistently and retries; a
// refusal (stale or conflicting) is confirmed by a consistent read first.
func (s *Store) PutOrder(ctx context.Context, sh shop.Shop, o order.Order, webhookID string) (PutResult, error) {
	var res PutResult
	loc := sh.Location()
	consistent := false
	for attempt := 0; attempt < s.maxAttempts; attempt++ {
		cur, err := s.readForPut(ctx, sh, o, webhookID, consistent, &res.Usage)
		if err != nil {
			return res, err
		}
		if cur.webhookSeen { // once written, a delivery id stays: even a lagging read is right
			res.Change = customer.Duplicate
			return res, nil
		}
		change, err := customer.Classify(cur.prev, o)
		if (change == customer.Stale || errors.Is(err, customer.ErrConflict)) && !consistent {
			// A lagging read may show an older version of the order than
			// the stored one; refusing an order is worth a confirmation.
			consistent = true
			continue
		}
		if err != nil {
			return res, err
		}
		if change == customer.Unchanged || change == customer.Stale {
			res.Change = change
			return res, nil
		}
		next, needItemsOf := customer.Apply(cur.summary, o, loc)
		if needItemsOf != "" {
			prev, err := s.getOrder(ctx, sh.ID, needItemsOf, &res.Usage)
			if err != nil {
				return res, fmt.Errorf("last items of customer %s: %w", o.Customer.ID, err)
			}
			next.SetLastItems(prev.ID, prev.LineItems)
		}
		err = s.writeOrder(ctx, sh, o, cur, next, webhookID, &res.Usage)
		if err == nil {
			res.Change = change
			return res, nil
		}
		if !retryable(err) {
			return res, fmt.Errorf("put order %s: %w", o.ID, err)
		}
		consistent = true
		if err := backoff(ctx, attempt+1); err != nil {
			return res, err
		}
	}
	return res, fmt.Errorf("put order %s: %w", o.ID, ErrContention)
}

// current is what PutOrder read before deciding.
type current struct {
	prev          *order.Order
	prevHash      string
	summary       customer.Summary
	summaryExists bool
	version       int64
	webhookSeen   bool
	// sizes of the stored order and summary, for billing estimates
	orderSize, summarySize int
}

func (s *Store) readForPut(ctx context.Context, sh shop.Shop, o order.Order, webhookID string, consistent bool, u *Usage) (current, error) {
	var cur current
	oKey := itemKey(orderPK(sh.ID, o.ID), skOrder)
	cKey := itemKey(customerPK(sh, o.Customer.ID), customerSK(o.Customer.ID))
	keys := []map[string]types.AttributeValue{oKey, cKey}
	if webhookID != "" {
		keys = append(keys, itemKey(webhookPK(sh.ID, webhookID), skWebhook))
	}
	items, err := s.batchGet(ctx, keys, consistent, u)
	if err != nil {
		return cur, err
	}
	sizes := map[string]int{}
	for _, it := range items {
		sizes[stringAttr(it, attrPK)] = itemSize(it)
	}
	for _, k := range keys {
		u.BilledReadUnits += readUnits(sizes[stringAttr(k, attrPK)], consistent)
	}
	cur.orderSize, cur.summarySize = sizes[stringAttr(oKey, attrPK)], sizes[stringAttr(cKey, attrPK)]
	for _, it := range items {
		switch pk := stringAttr(it, attrPK); {
		case pk == stringAttr(oKey, attrPK):
			var r orderRecord
			if err := attributevalue.UnmarshalMap(it, &r); err != nil {
				return cur, fmt.Errorf("decode order %s: %w", o.ID, err)
			}
			prev, err := r.order()
			if err != nil {
				return cur, err
			}
			cur.prev, cur.prevHash = &prev, r.Hash
		case pk == stringAttr(cKey, attrPK):
			var r summaryRecord
			if err := attributevalue.UnmarshalMap(it, &r); err != nil {
				return cur, fmt.Errorf("decode customer %s: %w", o.Customer.ID, err)
			}
			sum, err := r.summary()
			if err != nil {
				return cur, err
			}
			cur.summary, cur.summaryExists, cur.version = sum, true, r.Version
		default:
			cur.webhookSeen = true
		}
	}
	return cur, nil
}

// batchGet reads keys from the table, following UnprocessedKeys.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, consistent bool, u *Usage) ([]map[string]types.AttributeValue, error) {
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(consistent)}}
	var items []map[string]types.AttributeValue
	for attempt := 0; len(req) > 0; attempt++ {
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
		u.read(out.ConsumedCapacity)
		items = append(items, out.Responses[s.table]...)
		req = out.UnprocessedKeys
	}
	return items, nil
}

func (s *Store) writeOrder(ctx context.Context, sh shop.Shop, o order.Order, cur current, next customer.Summary, webhookID string, u *Usage) error {
	now := s.now()
	orderItem, err := attributevalue.MarshalMap(toOrderRecord(sh.ID, o, now))
	if err != nil {
		return fmt.Errorf("encode order %s: %w", o.ID, err)
	}
	sumItem, err := attributevalue.MarshalMap(toSummaryRecord(sh, next, cur.version+1))
	if err != nil {
		return fmt.Errorf("encode customer %s: %w", o.Customer.ID, err)
	}

	orderCond := expression.AttributeNotExists(expression.Name(attrPK))
	if cur.prev != nil {
		orderCond = expression.Name("hash").Equal(expression.Value(cur.prevHash))
	}
	sumCond := expression.AttributeNotExists(expression.Name(attrPK))
	if cur.summaryExists {
		sumCond = expression.Name("version").Equal(expression.Value(cur.version))
	}
	orderPut, err := s.conditionalPut(orderItem, orderCond)
	if err != nil {
		return err
	}
	sumPut, err := s.conditionalPut(sumItem, sumCond)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Put: orderPut}, {Put: sumPut}}
	billed := transactWriteUnits(cur.orderSize, itemSize(orderItem)) + transactWriteUnits(cur.summarySize, itemSize(sumItem))
	if webhookID != "" {
		whItem := itemKey(webhookPK(sh.ID, webhookID), skWebhook)
		whItem[attrTTL] = &types.AttributeValueMemberN{Value: fmt.Sprint(now.Add(WebhookTTL).Unix())}
		whItem["order_id"] = &types.AttributeValueMemberS{Value: o.ID}
		whPut, err := s.conditionalPut(whItem, expression.AttributeNotExists(expression.Name(attrPK)))
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: whPut})
		billed += transactWriteUnits(0, itemSize(whItem))
	}
	out, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems:          items,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	u.BilledWriteUnits += billed // a cancelled transaction is billed too
	if err != nil {
		u.RoundTrips++
		return err
	}
	u.write(out.ConsumedCapacity)
	return nil
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

// Order reads one stored order.
func (s *Store) Order(ctx context.Context, shopID, orderID string) (order.Order, error) {
	var u Usage
	return s.getOrder(ctx, shopID, orderID, &u)
}

func (s *Store) getOrder(ctx context.Context, shopID, orderID string, u *Usage) (order.Order, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:              aws.String(s.table),
		Key:                    itemKey(orderPK(shopID, orderID), skOrder),
		ConsistentRead:         aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return order.Order{}, fmt.Errorf("get order %s: %w", orderID, err)
	}
	if out.ConsumedCapacity != nil {
		u.read([]types.ConsumedCapacity{*out.ConsumedCapacity})
	} else {
		u.read(nil)
	}
	u.BilledReadUnits += readUnits(itemSize(out.Item), true)
	if out.Item == nil {
		return order.Order{}, fmt.Errorf("order %s: %w", orderID, ErrNotFound)
	}
	var r orderRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return order.Order{}, fmt.Errorf("decode order %s: %w", orderID, err)
	}
	return r.order()
}

// Customer reads one customer's summary.
func (s *Store) Customer(ctx context.Context, sh shop.Shop, customerID string) (customer.Summary, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            itemKey(customerPK(sh, customerID), customerSK(customerID)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return customer.Summary{}, fmt.Errorf("get customer %s: %w", customerID, err)
	}
	if out.Item == nil {
		return customer.Summary{}, fmt.Errorf("customer %s: %w", customerID, ErrNotFound)
	}
	var r summaryRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return customer.Summary{}, fmt.Errorf("decode customer %s: %w", customerID, err)
	}
	return r.summary()
}

// Customers calls fn with every customer summary in shard n of shop sh,
// page by page; the nightly job runs one such scan per shard.
func (s *Store) Customers(ctx context.Context, sh shop.Shop, n int, fn func(customer.Summary) error) error {
	kc := expression.Key(attrPK).Equal(expression.Value(shardPK(sh.ID, n)))
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
			return fmt.Errorf("query shard %d of %s: %w", n, sh.ID, err)
		}
		for _, it := range page.Items {
			var r summaryRecord
			if err := attributevalue.UnmarshalMap(it, &r); err != nil {
				return fmt.Errorf("decode customer: %w", err)
			}
			sum, err := r.summary()
			if err != nil {
				return err
			}
			if err := fn(sum); err != nil {
				return err
			}
		}
	}
	return nil
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
