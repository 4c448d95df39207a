package store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
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

// PutOrders stores up to customer.MaxGroup orders of one customer, in the
// given order, and folds them into the summaries (customer.Fold) in one
// transaction, so orders and summaries never disagree. Each order gets its
// own Outcome: an identical re-send or an older version changes nothing, a
// conflicting reuse of an order id is refused with customer.ErrConflict.
// A guest order now carrying the account's id moves from the guest's
// summary to the account's in the same transaction.
//
// webhookID, when not empty, names a webhook delivery of exactly one order:
// it is remembered, and a second delivery with the same id is a Duplicate.
//
// err is for failures of the whole group, when nothing of it was stored:
// customer.ErrTooLarge (permanent: the summary or an order would exceed
// DynamoDB's 400 KB item limit), ErrContention, or a DynamoDB failure. A
// summary holds about 16,500 orders of typical baskets whatever the order
// ids look like (TestSummaryLimit measures it).
//
// The happy path costs two round trips: one eventually consistent
// BatchGetItem of the orders, the summary (and the webhook id), and one
// TransactWriteItems guarded by conditions on each order's hash and the
// summary's version. A lost race re-reads consistently and retries; a
// refusal is confirmed by a consistent read first. The transaction carries
// a ClientRequestToken derived from what it writes, and the summary keeps
// it, so a write whose response was lost is recognised as done.
func (s *Store) PutOrders(ctx context.Context, sh shop.Shop, orders []order.Order, webhookID string) ([]customer.Outcome, Usage, error) {
	var u Usage
	if err := customer.CheckGroup(orders, webhookID); err != nil {
		return nil, u, fmt.Errorf("put orders: %w", err)
	}
	custID := orders[0].Customer.ID
	loc := sh.Location()
	consistent := false
	var pending *pendingWrite
	salt := "" // set when a token clashed with another transaction's
	for attempt := 0; attempt < s.maxAttempts; attempt++ {
		cur, err := s.readGroup(ctx, sh, orders, webhookID, consistent, &u)
		if err != nil {
			return nil, u, fmt.Errorf("put orders of customer %s: %w", custID, err)
		}
		if pending != nil {
			if cur.summaries[custID].txn == pending.token { // the write did happen
				return pending.plan.Outcomes, u, nil
			}
			if pending.err != nil {
				return nil, u, fmt.Errorf("put orders of customer %s: %w", custID, pending.err)
			}
			pending = nil
		}
		if cur.webhookSeen { // once written, a delivery id stays: even a lagging read is right
			return []customer.Outcome{{Change: customer.Duplicate}}, u, nil
		}
		plan := customer.Fold(cur.storedOrders(), cur.storedSummaries(), orders, loc)
		if plan.Refused && !consistent {
			// A lagging read may show an older version of an order than
			// the stored one; refusing an order is worth a confirmation.
			consistent = true
			continue
		}
		if len(plan.Dirty) == 0 {
			return plan.Outcomes, u, nil
		}
		if err := s.complete(ctx, sh.ID, &plan, &u); errors.Is(err, errOrdersMissing) && attempt+1 < s.maxAttempts {
			// The summary was read in the middle of another writer's
			// transaction (a batch read is not a snapshot, and DynamoDB
			// Local applies a transaction item by item): read again.
			consistent = true
			if err := backoff(ctx, attempt+1); err != nil {
				return nil, u, err
			}
			continue
		} else if err != nil {
			return nil, u, fmt.Errorf("put orders of customer %s: %w", custID, err)
		}
		token := requestToken(sh.ID, cur, plan, webhookID, salt)
		err = s.writeGroup(ctx, sh, cur, plan, webhookID, token, &u)
		switch {
		case err == nil:
			return plan.Outcomes, u, nil
		case errors.Is(err, customer.ErrTooLarge):
			return nil, u, fmt.Errorf("put orders of customer %s: %w", custID, err)
		case tokenClash(err):
			salt = strconv.Itoa(attempt + 1)
		case retryable(err):
			pending = &pendingWrite{token: token, plan: plan}
		case !definite(err):
			// The transaction may have committed and its answer been lost:
			// look before answering.
			pending = &pendingWrite{token: token, plan: plan, err: err}
			consistent = true
			continue
		default:
			return nil, u, fmt.Errorf("put orders of customer %s: %w", custID, err)
		}
		consistent = true
		if err := backoff(ctx, attempt+1); err != nil {
			return nil, u, err
		}
	}
	return nil, u, fmt.Errorf("put orders of customer %s: %w", custID, ErrContention)
}

// pendingWrite is a transaction whose failure may hide its success.
type pendingWrite struct {
	token string
	plan  customer.Plan
	err   error // the failure to report if the write did not happen
}

// group is what PutOrders read before deciding.
type group struct {
	stored      map[string]storedOrder   // by order key
	summaries   map[string]storedSummary // by customer id
	webhookSeen bool
}

type storedOrder struct {
	order order.Order
	hash  string
	size  int
}

type storedSummary struct {
	summary customer.Summary
	exists  bool
	version int64
	size    int
	txn     string
}

func (g group) storedOrders() map[string]order.Order {
	m := make(map[string]order.Order, len(g.stored))
	for k, so := range g.stored {
		m[k] = so.order
	}
	return m
}

func (g group) storedSummaries() map[string]customer.Summary {
	m := make(map[string]customer.Summary, len(g.summaries))
	for id, ss := range g.summaries {
		m[id] = ss.summary
	}
	return m
}

// readGroup reads the group's customer's summary, the stored versions of
// its orders and the webhook id; then the summaries of the guests whose
// orders the group links to the account.
func (s *Store) readGroup(ctx context.Context, sh shop.Shop, orders []order.Order, webhookID string, consistent bool, u *Usage) (group, error) {
	cur := group{stored: map[string]storedOrder{}, summaries: map[string]storedSummary{}}
	r := newReader(sh)
	r.summary(orders[0].Customer.ID)
	for _, o := range orders {
		r.order(customer.OrderKey(o.ID))
	}
	if webhookID != "" {
		r.webhook(webhookID)
	}
	if err := s.read(ctx, r, &cur, consistent, u); err != nil {
		return cur, err
	}
	r = newReader(sh)
	for _, o := range orders {
		prev, ok := cur.stored[customer.OrderKey(o.ID)]
		if ok && prev.order.ID == o.ID && customer.Reattributed(prev.order, o) {
			if _, read := cur.summaries[prev.order.Customer.ID]; !read {
				r.summary(prev.order.Customer.ID)
			}
		}
	}
	if len(r.keys) == 0 {
		return cur, nil
	}
	return cur, s.read(ctx, r, &cur, consistent, u)
}

// reader is a batch of keys to read, each with what it is.
type reader struct {
	sh    shop.Shop
	keys  []map[string]types.AttributeValue
	kinds map[string]itemKind // by pk and sk
}

type itemKind struct {
	what string // "customer", "order" or "webhook"
	id   string // the customer id or the order key
}

func newReader(sh shop.Shop) *reader { return &reader{sh: sh, kinds: map[string]itemKind{}} }

func (r *reader) add(pk, sk string, k itemKind) {
	if _, dup := r.kinds[pk+"\x00"+sk]; dup {
		return
	}
	r.kinds[pk+"\x00"+sk] = k
	r.keys = append(r.keys, itemKey(pk, sk))
}

func (r *reader) summary(custID string) {
	r.add(customerPK(r.sh, custID), customerSK(custID), itemKind{"customer", custID})
}
func (r *reader) order(key string) { r.add(orderPK(r.sh.ID, key), skOrder, itemKind{"order", key}) }
func (r *reader) webhook(id string) {
	r.add(webhookPK(r.sh.ID, id), skWebhook, itemKind{what: "webhook"})
}

// read reads r's keys into cur, telling the items apart by their keys; a
// summary not found is recorded as a new customer.
func (s *Store) read(ctx context.Context, r *reader, cur *group, consistent bool, u *Usage) error {
	items, err := s.batchGet(ctx, r.keys, consistent, u)
	if err != nil {
		return err
	}
	for _, k := range r.kinds {
		if k.what == "customer" {
			cur.summaries[k.id] = storedSummary{}
		}
	}
	for _, it := range items {
		k, ok := r.kinds[stringAttr(it, attrPK)+"\x00"+stringAttr(it, attrSK)]
		if !ok {
			return fmt.Errorf("batch get returned an item not asked for: %s %s", stringAttr(it, attrPK), stringAttr(it, attrSK))
		}
		switch k.what {
		case "order":
			rec, err := decode[orderRecord](it)
			if err != nil {
				return err
			}
			o, err := rec.order()
			if err != nil {
				return err
			}
			cur.stored[k.id] = storedOrder{order: o, hash: rec.Hash, size: itemSize(it)}
		case "customer":
			rec, err := decode[summaryRecord](it)
			if err != nil {
				return err
			}
			sum, err := rec.summary()
			if err != nil {
				return err
			}
			cur.summaries[k.id] = storedSummary{summary: sum, exists: true, version: rec.Version, size: itemSize(it), txn: rec.Txn}
		case "webhook":
			cur.webhookSeen = true
		}
	}
	return nil
}

// decode unmarshals a raw item into a record R.
func decode[R any](item map[string]types.AttributeValue) (R, error) {
	var rec R
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return rec, fmt.Errorf("decode %s: %w", stringAttr(item, attrPK), err)
	}
	return rec, nil
}

// errOrdersMissing: a summary names orders that are not stored (yet, as
// read).
var errOrdersMissing = errors.New("summary names order keys that are not stored")

// complete reads the stored orders the plan's summaries still need (the
// latest purchase's items, the latest order's profile) with one consistent
// read and completes the summaries.
func (s *Store) complete(ctx context.Context, shopID string, plan *customer.Plan, u *Usage) error {
	missing := plan.Missing()
	if len(missing) == 0 {
		return nil
	}
	keys := make([]map[string]types.AttributeValue, len(missing))
	for i, k := range missing {
		keys[i] = itemKey(orderPK(shopID, k), skOrder)
	}
	items, err := s.batchGet(ctx, keys, true, u)
	if err != nil {
		return err
	}
	for _, it := range items {
		rec, err := decode[orderRecord](it)
		if err != nil {
			return err
		}
		o, err := rec.order()
		if err != nil {
			return err
		}
		plan.Complete(o)
	}
	if still := plan.Missing(); len(still) > 0 {
		return fmt.Errorf("%w: %v", errOrdersMissing, still)
	}
	return nil
}

// requestToken is the transaction's ClientRequestToken: a digest of what
// it writes and of the summary versions it was planned from, at most 36
// characters. A retry of the same transaction carries the same token.
func requestToken(shopID string, cur group, p customer.Plan, webhookID, salt string) string {
	h := sha256.New()
	field := func(s string) { h.Write([]byte(strconv.Itoa(len(s)) + ":" + s)) }
	field(salt)
	field(shopID)
	field(webhookID)
	for _, k := range p.Dirty {
		o := p.Orders[k]
		field(k)
		field(o.Hash())
		field(formatTime(o.UpdatedAt))
	}
	for _, id := range sortedIDs(p.Summaries) {
		field(id)
		field(strconv.FormatInt(cur.summaries[id].version, 10))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:27])
}

func sortedIDs(m map[string]customer.Summary) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// writeGroup writes the plan's orders and summaries in one transaction,
// each order conditioned on the hash that was read (or on not existing)
// and each summary on its version. A summary left without orders is
// deleted. Nothing over DynamoDB's size limits is sent: that is
// customer.ErrTooLarge.
func (s *Store) writeGroup(ctx context.Context, sh shop.Shop, cur group, p customer.Plan, webhookID, token string, u *Usage) error {
	now := s.now()
	notExists := expression.AttributeNotExists(expression.Name(attrPK))
	var items []types.TransactWriteItem
	var billed float64
	total := 0
	add := func(what string, item map[string]types.AttributeValue, cond expression.ConditionBuilder, oldSize int) error {
		size := itemSize(item)
		if size > s.maxItem {
			return fmt.Errorf("%s would be %d bytes, over DynamoDB's %d: %w", what, size, s.maxItem, customer.ErrTooLarge)
		}
		total += size
		put, err := s.conditionalPut(item, cond)
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: put})
		billed += transactWriteUnits(oldSize, size)
		return nil
	}
	for _, k := range p.Dirty {
		o := p.Orders[k]
		item, err := attributevalue.MarshalMap(toOrderRecord(sh.ID, o, now))
		if err != nil {
			return fmt.Errorf("encode order %s: %w", o.ID, err)
		}
		cond := notExists
		prev, ok := cur.stored[k]
		if ok {
			cond = expression.Name("hash").Equal(expression.Value(prev.hash))
		}
		if err := add("order "+o.ID, item, cond, prev.size); err != nil {
			return err
		}
	}
	for _, id := range sortedIDs(p.Summaries) {
		sum, prev := p.Summaries[id], cur.summaries[id]
		cond := notExists
		if prev.exists {
			cond = expression.Name("version").Equal(expression.Value(prev.version))
		}
		if len(sum.Orders) == 0 {
			if !prev.exists {
				continue
			}
			del, err := s.conditionalDelete(itemKey(customerPK(sh, id), customerSK(id)), cond)
			if err != nil {
				return err
			}
			items = append(items, types.TransactWriteItem{Delete: del})
			billed += transactWriteUnits(prev.size, 0)
			continue
		}
		item, err := attributevalue.MarshalMap(toSummaryRecord(sh, sum, prev.version+1, token))
		if err != nil {
			return fmt.Errorf("encode customer %s: %w", id, err)
		}
		if err := add("the summary of customer "+id, item, cond, prev.size); err != nil {
			return err
		}
	}
	if webhookID != "" {
		item := itemKey(webhookPK(sh.ID, webhookID), skWebhook)
		item["type"] = &types.AttributeValueMemberS{Value: "webhook"}
		item[attrTTL] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(WebhookTTL).Unix(), 10)}
		item["order_id"] = &types.AttributeValueMemberS{Value: p.Orders[p.Dirty[0]].ID}
		if err := add("webhook "+webhookID, item, notExists, 0); err != nil {
			return err
		}
	}
	if total > maxTransactionSize {
		return fmt.Errorf("transaction would be %d bytes, over DynamoDB's %d: %w", total, maxTransactionSize, customer.ErrTooLarge)
	}
	out, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems:          items,
		ClientRequestToken:     aws.String(token),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	u.BilledWriteUnits += billed // a cancelled transaction is billed too
	if err != nil {
		u.RoundTrips++
		if tooLarge(err) {
			return fmt.Errorf("%w: %w", customer.ErrTooLarge, err)
		}
		return err
	}
	addWrite(u, out.ConsumedCapacity...)
	return nil
}

func (s *Store) conditionalDelete(key map[string]types.AttributeValue, cond expression.ConditionBuilder) (*types.Delete, error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("build condition: %w", err)
	}
	return &types.Delete{
		TableName:                 aws.String(s.table),
		Key:                       key,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, nil
}

// Order reads one stored order (customer.ErrNotFound if there is none).
func (s *Store) Order(ctx context.Context, shopID, orderID string) (order.Order, error) {
	var u Usage
	rec, found, err := getRecord[orderRecord](ctx, s, itemKey(orderPK(shopID, customer.OrderKey(orderID)), skOrder), true, &u)
	if err != nil {
		return order.Order{}, fmt.Errorf("get order %s: %w", orderID, err)
	}
	if !found || rec.OrderID != orderID { // another id under the same key is not this order
		return order.Order{}, fmt.Errorf("order %s: %w", orderID, customer.ErrNotFound)
	}
	return rec.order()
}

// Customer reads one customer's summary (customer.ErrNotFound if there is
// none).
func (s *Store) Customer(ctx context.Context, sh shop.Shop, customerID string) (customer.Summary, error) {
	var u Usage
	rec, found, err := getRecord[summaryRecord](ctx, s, itemKey(customerPK(sh, customerID), customerSK(customerID)), true, &u)
	if err != nil {
		return customer.Summary{}, fmt.Errorf("get customer %s: %w", customerID, err)
	}
	if !found {
		return customer.Summary{}, fmt.Errorf("customer %s: %w", customerID, customer.ErrNotFound)
	}
	return rec.summary()
}

// Customers calls fn with every customer summary in shard n of shop sh,
// page by page, in customer id order; the nightly job runs one such scan
// per shard. Other items of the shard's partition (scores) are not read.
func (s *Store) Customers(ctx context.Context, sh shop.Shop, n int, fn func(customer.Summary) error) error {
	_, err := s.ScanShard(ctx, sh, n, fn, nil)
	return err
}
