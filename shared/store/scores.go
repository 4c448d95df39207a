package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
)

// ScanShard reads shard n of shop sh in one pass, eventually consistent:
// onSummary gets every customer summary, in customer id order, and then,
// when onScore is not nil, onScore gets every stored score of the shard,
// in customer id order (the summaries sort before the scores in the
// partition). With onScore nil only the summaries are read. Orders are
// never read, nor the campaigns' contacts (their own partitions).
func (s *Store) ScanShard(ctx context.Context, sh shop.Shop, n int, onSummary func(customer.Summary) error, onScore func(scores.Score) error) (Usage, error) {
	var u Usage
	q := query{pk: shardPK(sh.ID, n)}
	if onScore == nil {
		q.prefix = prefixCustomer
	}
	err := s.queryItems(ctx, q, &u, func(it map[string]types.AttributeValue) error {
		sk := stringAttr(it, attrSK)
		switch {
		case strings.HasPrefix(sk, prefixCustomer):
			rec, err := decode[summaryRecord](it)
			if err != nil {
				return err
			}
			sum, err := rec.summary()
			if err != nil {
				return err
			}
			return onSummary(sum)
		case strings.HasPrefix(sk, prefixScore) && onScore != nil:
			rec, err := decode[scoreRecord](it)
			if err != nil {
				return err
			}
			return onScore(rec.score())
		}
		return nil
	})
	if err != nil {
		return u, fmt.Errorf("scan shard %d of %s: %w", n, sh.ID, err)
	}
	return u, nil
}

// ShardScores reads the stored scores of shard n of shop sh, in customer
// id order, eventually consistent, without reading the summaries beside
// them (a Query on the score items' sort key prefix).
func (s *Store) ShardScores(ctx context.Context, sh shop.Shop, n int, onScore func(scores.Score) error) (Usage, error) {
	var u Usage
	err := s.queryItems(ctx, query{pk: shardPK(sh.ID, n), prefix: prefixScore}, &u, func(it map[string]types.AttributeValue) error {
		rec, err := decode[scoreRecord](it)
		if err != nil {
			return err
		}
		return onScore(rec.score())
	})
	if err != nil {
		return u, fmt.Errorf("read scores of shard %d of %s: %w", n, sh.ID, err)
	}
	return u, nil
}

// PutScores writes scores and deletes the scores of customers in del, all
// in shard n of shop sh (every customer must belong to it), 25 to a
// BatchWriteItem, retrying unprocessed items a bounded number of times.
func (s *Store) PutScores(ctx context.Context, sh shop.Shop, n int, put []scores.Score, del []string) (Usage, error) {
	var u Usage
	reqs := make([]types.WriteRequest, 0, len(put)+len(del))
	for _, c := range put {
		if got := sh.Shard(c.CustomerID); got != n {
			return u, fmt.Errorf("put score of %s: in shard %d, not %d", c.CustomerID, got, n)
		}
		item, err := attributevalue.MarshalMap(toScoreRecord(sh, n, c))
		if err != nil {
			return u, fmt.Errorf("encode score of %s: %w", c.CustomerID, err)
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		u.BilledWriteUnits += writeUnits(itemSize(item))
	}
	for _, id := range del {
		if got := sh.Shard(id); got != n {
			return u, fmt.Errorf("delete score of %s: in shard %d, not %d", id, got, n)
		}
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: itemKey(shardPK(sh.ID, n), scoreSK(id))}})
		u.BilledWriteUnits++ // a score item is well under 1 KB
	}
	for len(reqs) > 0 {
		k := min(len(reqs), 25)
		if err := s.batchWrite(ctx, reqs[:k], &u); err != nil {
			return u, fmt.Errorf("write scores of shard %d of %s: %w", n, sh.ID, err)
		}
		reqs = reqs[k:]
	}
	return u, nil
}

// batchWrite writes up to 25 requests, following UnprocessedItems for at
// most maxBatchAttempts calls.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest, u *Usage) error {
	pending := map[string][]types.WriteRequest{s.table: reqs}
	for attempt := 0; len(pending[s.table]) > 0; attempt++ {
		if attempt == s.maxBatchAttempts {
			return fmt.Errorf("batch write: %d items still unprocessed after %d attempts: %w", len(pending[s.table]), attempt, ErrContention)
		}
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems:           pending,
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return fmt.Errorf("batch write: %w", err)
		}
		addWrite(u, out.ConsumedCapacity...)
		pending = out.UnprocessedItems
	}
	return nil
}

// Score returns a customer's latest stored score (customer.ErrNotFound if
// none).
func (s *Store) Score(ctx context.Context, sh shop.Shop, customerID string) (scores.Score, error) {
	var u Usage
	rec, found, err := getRecord[scoreRecord](ctx, s, itemKey(customerPK(sh, customerID), scoreSK(customerID)), false, &u)
	if err != nil {
		return scores.Score{}, fmt.Errorf("get score of %s: %w", customerID, err)
	}
	if !found {
		return scores.Score{}, fmt.Errorf("score of %s: %w", customerID, customer.ErrNotFound)
	}
	return rec.score(), nil
}

// maxScorePages bounds the Query pages one Scores call reads: a filter
// does not lower what DynamoDB reads, so a rare segment of a large shop
// would otherwise read every score of the shop in one request.
const maxScorePages = 8

// Scores lists a shop's scored customers matching f, in shard order and
// then customer id order, at most limit of them (at least 1), continuing
// after the position after (nil: from the start; an empty CustomerID: from
// the start of its shard). next is where the following page starts, nil
// when there is nothing more. A page holds fewer than limit customers when
// the read budget (maxScorePages) ran out first; next then continues where
// the reading stopped.
func (s *Store) Scores(ctx context.Context, sh shop.Shop, f scores.Filter, after *scores.Pos, limit int) ([]scores.Score, *scores.Pos, error) {
	var u Usage
	limit = max(limit, 1)
	filter := scoreFilter(f)
	var out []scores.Score
	var shards []int // the shard of each entry of out
	first := 0
	if after != nil {
		first = after.Shard
	}
	pages := 0
	// One more than limit tells whether there is a next page.
	for n := first; n < shardCount(sh) && len(out) <= limit; n++ {
		if pages >= maxScorePages {
			return out, &scores.Pos{Shard: n}, nil
		}
		q := query{pk: shardPK(sh.ID, n), prefix: prefixScore, filter: filter, limit: int32(limit + 1 - len(out))}
		if after != nil && n == after.Shard && after.CustomerID != "" {
			q.start = itemKey(shardPK(sh.ID, n), scoreSK(after.CustomerID))
		}
		stoppedAt := ""
		err := s.queryPages(ctx, q, &u, func(items []map[string]types.AttributeValue, last map[string]types.AttributeValue) (bool, error) {
			pages++
			for _, it := range items {
				rec, err := decode[scoreRecord](it)
				if err != nil {
					return false, err
				}
				out = append(out, rec.score())
				shards = append(shards, n)
				if len(out) > limit {
					return false, nil
				}
			}
			if len(last) > 0 && pages >= maxScorePages {
				stoppedAt = strings.TrimPrefix(stringAttr(last, attrSK), prefixScore)
				return false, nil
			}
			return true, nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("list scores of %s: %w", sh.ID, err)
		}
		if stoppedAt != "" && len(out) <= limit {
			return out, &scores.Pos{Shard: n, CustomerID: stoppedAt}, nil
		}
	}
	if len(out) <= limit {
		return out, nil, nil
	}
	out = out[:limit]
	last := out[limit-1]
	return out, &scores.Pos{Shard: shards[limit-1], CustomerID: last.CustomerID}, nil
}

func shardCount(sh shop.Shop) int {
	if sh.Shards <= 0 {
		return shop.DefaultShards
	}
	return sh.Shards
}

// scoreFilter is f as a filter expression (nil when f matches anything).
func scoreFilter(f scores.Filter) *expression.ConditionBuilder {
	var conds []expression.ConditionBuilder
	if f.Segment != "" {
		conds = append(conds, expression.Name(attrSegment).Equal(expression.Value(f.Segment)))
	}
	if f.Band != "" {
		conds = append(conds, expression.Name(attrChurnBand).Equal(expression.Value(f.Band)))
	}
	switch len(conds) {
	case 0:
		return nil
	case 1:
		return &conds[0]
	}
	c := expression.And(conds[0], conds[1], conds[2:]...)
	return &c
}

// PutDay stores a shop's KPIs for one as-of day, replacing that day's.
func (s *Store) PutDay(ctx context.Context, shopID string, d scores.Day) (Usage, error) {
	var u Usage
	if !json.Valid(d.Data) {
		return u, fmt.Errorf("put day %s of %s: the KPIs are not JSON", d.AsOf, shopID)
	}
	item, err := attributevalue.MarshalMap(dayRecord{PK: daysPK(shopID), SK: daySK(d.AsOf), Type: "day", AsOf: d.AsOf, Data: string(d.Data)})
	if err != nil {
		return u, fmt.Errorf("encode day %s: %w", d.AsOf, err)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return u, fmt.Errorf("put day %s of %s: %w", d.AsOf, shopID, err)
	}
	if out.ConsumedCapacity != nil {
		addWrite(&u, *out.ConsumedCapacity)
	} else {
		addWrite(&u)
	}
	u.BilledWriteUnits += writeUnits(itemSize(item))
	return u, nil
}

// Days returns the shop's KPI history, newest first, at most n days.
func (s *Store) Days(ctx context.Context, sh shop.Shop, n int) ([]scores.Day, error) {
	var u Usage
	days := []scores.Day{}
	if n <= 0 {
		return days, nil
	}
	q := query{pk: daysPK(sh.ID), prefix: prefixDay, backwards: true, limit: int32(min(n, 100))}
	err := s.queryPages(ctx, q, &u, func(items []map[string]types.AttributeValue, _ map[string]types.AttributeValue) (bool, error) {
		for _, it := range items {
			rec, err := decode[dayRecord](it)
			if err != nil {
				return false, err
			}
			days = append(days, scores.Day{AsOf: rec.AsOf, Data: json.RawMessage(rec.Data)})
			if len(days) == n {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("days of %s: %w", sh.ID, err)
	}
	return days, nil
}
