package store

import (
	"context"
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

// MaxGroup is the most orders PutOrders takes at once: with the summary
// and a webhook id they fit one transaction (100 items, 4 MB) even when
// every order carries 250 long line items.
const MaxGroup = 25

// PutResult says what storing an order did and what it cost.
type PutResult struct {
	Change customer.Change
	Usage  Usage
}

// Outcome is what storing one order of a group did: a Change, or Err
// (customer.ErrConflict) when the order was refused.
type Outcome struct {
	Change customer.Change
	Err    error
}

// PutOrder stores order o of shop sh and folds it into its customer's
// summary in one transaction, so the two never disagree. An identical
// re-send or an older version changes nothing; a conflicting reuse of the
// order id returns customer.ErrConflict. When webhookID is not empty the
// delivery is remembered and a second delivery with the same id is a
// Duplicate.
func (s *Store) PutOrder(ctx context.Context, sh shop.Shop, o order.Order, webhookID string) (PutResult, error) {
	out, u, err := s.putGroup(ctx, sh, []order.Order{o}, webhookID)
	if err != nil {
		return PutResult{Usage: u}, err
	}
	return PutResult{Change: out[0].Change, Usage: u}, out[0].Err
}

// PutOrders stores up to MaxGroup orders of one customer, in the given
// order, as PutOrder would one after the other, but with one read and one
// transaction for all of them: the summary is written once. Each order gets
// its own Outcome; err is for failures of the whole group (nothing of it
// was stored).
func (s *Store) PutOrders(ctx context.Context, sh shop.Shop, orders []order.Order) ([]Outcome, Usage, error) {
	return s.putGroup(ctx, sh, orders, "")
}

// putGroup is PutOrder and PutOrders. The happy path costs two round trips:
// one eventually consistent BatchGetItem of the orders, the summary (and
// the webhook id), and one TransactWriteItems guarded by conditions on each
// order's hash and the summary's version. A lost race re-reads consistently
// and retries; a refusal (stale or conflicting) is confirmed by a
// consistent read first.
func (s *Store) putGroup(ctx context.Context, sh shop.Shop, orders []order.Order, webhookID string) ([]Outcome, Usage, error) {
	var u Usage
	if len(orders) == 0 || len(orders) > MaxGroup {
		return nil, u, fmt.Errorf("put orders: %d orders, want 1 to %d", len(orders), MaxGroup)
	}
	for _, o := range orders[1:] {
		if o.Customer.ID != orders[0].Customer.ID {
			return nil, u, fmt.Errorf("put orders: orders of customers %s and %s in one group", orders[0].Customer.ID, o.Customer.ID)
		}
	}
	loc := sh.Location()
	consistent := false
	for attempt := 0; attempt < s.maxAttempts; attempt++ {
		cur, err := s.readGroup(ctx, sh, orders, webhookID, consistent, &u)
		if err != nil {
			return nil, u, err
		}
		if cur.webhookSeen { // once written, a delivery id stays: even a lagging read is right
			return []Outcome{{Change: customer.Duplicate}}, u, nil
		}
		plan, refused := fold(cur, orders, loc)
		if refused && !consistent {
			// A lagging read may show an older version of an order than
			// the stored one; refusing an order is worth a confirmation.
			consistent = true
			continue
		}
		if len(plan.dirty) == 0 {
			return plan.outcomes, u, nil
		}
		if latest := plan.summary.LatestPaid(); latest != plan.summary.LastItemsFrom {
			items, err := s.itemsOf(ctx, sh.ID, latest, plan.working, &u)
			if err != nil {
				return nil, u, fmt.Errorf("last items of customer %s: %w", orders[0].Customer.ID, err)
			}
			plan.summary.SetLastItems(latest, items)
		}
		err = s.writeGroup(ctx, sh, cur, plan, webhookID, &u)
		if err == nil {
			return plan.outcomes, u, nil
		}
		if !retryable(err) {
			return nil, u, fmt.Errorf("put orders of customer %s: %w", orders[0].Customer.ID, err)
		}
		consistent = true
		if err := backoff(ctx, attempt+1); err != nil {
			return nil, u, err
		}
	}
	return nil, u, fmt.Errorf("put orders of customer %s: %w", orders[0].Customer.ID, ErrContention)
}

// group is what putGroup read before deciding.
type group struct {
	stored        map[string]storedOrder // by order id
	summary       customer.Summary
	summaryExists bool
	version       int64
	summarySize   int
	webhookSeen   bool
}

type storedOrder struct {
	order order.Order
	hash  string
	size  int
}

// plan is what a group of orders does to the stored state.
type plan struct {
	outcomes []Outcome
	summary  customer.Summary
	working  map[string]order.Order // each order id's version after the group
	dirty    []string               // order ids to write, in first-touched order
}

// fold applies the orders one after the other to what was read, as
// separate PutOrder calls would; refused reports whether any was refused.
func fold(cur group, orders []order.Order, loc *time.Location) (plan, bool) {
	p := plan{outcomes: make([]Outcome, len(orders)), summary: cur.summary, working: map[string]order.Order{}}
	for id, so := range cur.stored {
		p.working[id] = so.order
	}
	refused := false
	written := map[string]bool{}
	for i, o := range orders {
		var prev *order.Order
		if w, ok := p.working[o.ID]; ok {
			prev = &w
		}
		change, err := customer.Classify(prev, o)
		p.outcomes[i] = Outcome{Change: change, Err: err}
		if err != nil || change == customer.Stale {
			refused = true
		}
		if err != nil || change == customer.Unchanged || change == customer.Stale {
			continue
		}
		p.summary, _ = customer.Apply(p.summary, o, loc) // last items are settled once, after the fold
		p.working[o.ID] = o
		if !written[o.ID] {
			written[o.ID] = true
			p.dirty = append(p.dirty, o.ID)
		}
	}
	return p, refused
}

// itemsOf returns the line items of order id: from the group when it is
// there, else from the table.
func (s *Store) itemsOf(ctx context.Context, shopID, id string, working map[string]order.Order, u *Usage) ([]order.LineItem, error) {
	if o, ok := working[id]; ok {
		return o.LineItems, nil
	}
	o, err := s.getOrder(ctx, shopID, id, u)
	return o.LineItems, err
}

func (s *Store) readGroup(ctx context.Context, sh shop.Shop, orders []order.Order, webhookID string, consistent bool, u *Usage) (group, error) {
	cur := group{stored: map[string]storedOrder{}}
	custID := orders[0].Customer.ID
	cKey := itemKey(customerPK(sh, custID), customerSK(custID))
	keys := []map[string]types.AttributeValue{cKey}
	seen := map[string]bool{}
	for _, o := range orders {
		if !seen[o.ID] {
			seen[o.ID] = true
			keys = append(keys, itemKey(orderPK(sh.ID, o.ID), skOrder))
		}
	}
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
	for _, it := range items {
		switch stringAttr(it, "type") {
		case "order":
			var r orderRecord
			if err := attributevalue.UnmarshalMap(it, &r); err != nil {
				return cur, fmt.Errorf("decode order: %w", err)
			}
			o, err := r.order()
			if err != nil {
				return cur, err
			}
			cur.stored[o.ID] = storedOrder{order: o, hash: r.Hash, size: itemSize(it)}
		case "customer":
			var r summaryRecord
			if err := attributevalue.UnmarshalMap(it, &r); err != nil {
				return cur, fmt.Errorf("decode customer %s: %w", custID, err)
			}
			sum, err := r.summary()
			if err != nil {
				return cur, err
			}
			cur.summary, cur.summaryExists, cur.version, cur.summarySize = sum, true, r.Version, itemSize(it)
		default:
			cur.webhookSeen = true
		}
	}
	return cur, nil
}

// batchGet reads keys from the table (at most 100), following UnprocessedKeys.
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

// writeGroup writes the plan's orders and summary in one transaction, each
// order conditioned on the hash that was read (or on not existing) and the
// summary on its version.
func (s *Store) writeGroup(ctx context.Context, sh shop.Shop, cur group, p plan, webhookID string, u *Usage) error {
	now := s.now()
	notExists := expression.AttributeNotExists(expression.Name(attrPK))
	var items []types.TransactWriteItem
	var billed float64
	for _, id := range p.dirty {
		item, err := attributevalue.MarshalMap(toOrderRecord(sh.ID, p.working[id], now))
		if err != nil {
			return fmt.Errorf("encode order %s: %w", id, err)
		}
		cond := notExists
		prev, ok := cur.stored[id]
		if ok {
			cond = expression.Name("hash").Equal(expression.Value(prev.hash))
		}
		put, err := s.conditionalPut(item, cond)
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: put})
		billed += transactWriteUnits(prev.size, itemSize(item))
	}
	sumItem, err := attributevalue.MarshalMap(toSummaryRecord(sh, p.summary, cur.version+1))
	if err != nil {
		return fmt.Errorf("encode customer %s: %w", p.summary.CustomerID, err)
	}
	sumCond := notExists
	if cur.summaryExists {
		sumCond = expression.Name("version").Equal(expression.Value(cur.version))
	}
	sumPut, err := s.conditionalPut(sumItem, sumCond)
	if err != nil {
		return err
	}
	items = append(items, types.TransactWriteItem{Put: sumPut})
	billed += transactWriteUnits(cur.summarySize, itemSize(sumItem))
	if webhookID != "" {
		whItem := itemKey(webhookPK(sh.ID, webhookID), skWebhook)
		whItem[attrTTL] = &types.AttributeValueMemberN{Value: fmt.Sprint(now.Add(WebhookTTL).Unix())}
		whItem["order_id"] = &types.AttributeValueMemberS{Value: p.dirty[0]}
		whPut, err := s.conditionalPut(whItem, notExists)
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
