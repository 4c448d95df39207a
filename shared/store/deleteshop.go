package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/shop"
)

// DeleteShopOptions says what DeleteShop deletes beyond what the shop's
// own partitions lead to.
type DeleteShopOptions struct {
	// KeyIDs are API key ids of the shop to delete besides those in the
	// shop's list of keys (a key created before the list existed is not
	// in it). A key id that is another shop's is left alone.
	KeyIDs []string
	// Sweep scans the whole table, after the shop's partitions are gone,
	// for items under the shop's prefix that no partition of the shop
	// leads to, and deletes them: the webhook delivery ids
	// (SHOP#<shop>#WEBHOOK#<id>, which hold nothing but the id and expire
	// within WebhookTTL anyway), and any item of a kind DeleteShop does
	// not know. It reads every item of the table: minutes and about
	// $0.03 per GB of table in AWS, so a shop's data is deleted without it
	// and the sweep is for when nothing at all may stay.
	Sweep bool
}

// maxShards is the most partitions a shop's customers can be spread over
// (shard numbers 00-99): what DeleteShop goes through when the shop's
// item, which says how many, is already gone.
const maxShards = 100

// DeleteShop deletes a shop and everything stored under it: its API keys
// (those its list names and opt.KeyIDs), its entry in the shop index, its
// customers (summaries, scores, contacts) and their orders, its nightly
// runs, their results and the KPI history, its suppression list, its
// campaign settings, campaigns, recipients and coupons, and last the
// shop's item itself, so that a DeleteShop that fails half-way can be
// run again and finishes the job. The keys go first (warm functions may
// still accept one for httpapi.KeyTTL) and the index entry next (the
// nightly job stops planning the shop); orders posted while it runs may
// survive it, so a shop is deleted once nothing sends it orders.
//
// It returns how many items it deleted (an order or coupon that a
// summary or recipient names counts even if it was gone already); a shop
// of which nothing is stored is shop.ErrNotFound. The unsubscribe-token
// keys (CONFIG) are the deployment's, not a shop's, and stay.
func (s *Store) DeleteShop(ctx context.Context, shopID string, opt DeleteShopOptions) (int, error) {
	if shopID == "" || strings.Contains(shopID, "#") {
		return 0, fmt.Errorf("delete shop %q: not a shop id", shopID)
	}
	d := &shopDeletion{s: s, shopID: shopID}
	if err := d.run(ctx, opt); err != nil {
		return d.deleted, fmt.Errorf("delete shop %s: %w", shopID, err)
	}
	if d.found == 0 {
		return 0, fmt.Errorf("delete shop %s: %w", shopID, shop.ErrNotFound)
	}
	return d.deleted, nil
}

// shopDeletion is one DeleteShop's progress.
type shopDeletion struct {
	s       *Store
	shopID  string
	u       Usage
	deleted int // delete requests done (an item gone already counts too)
	found   int // items found: the shop's item, partitions' items, its keys
}

// key is an item's primary key.
type key = map[string]types.AttributeValue

// Whatever refers to other items (a summary to its orders, a recipient to
// its coupon, a campaign to its recipients, a night to its results) is
// deleted after them, so that a DeleteShop that fails half-way still finds
// everything when it runs again.
func (d *shopDeletion) run(ctx context.Context, opt DeleteShopOptions) error {
	s, id := d.s, d.shopID
	rec, found, err := getRecord[shopRecord](ctx, s, itemKey(shopPK(id), skShop), true, &d.u)
	if err != nil {
		return err
	}
	shards := maxShards
	if found {
		d.found++
		if rec.Shards > 0 {
			shards = rec.Shards
		}
	}

	// API keys first: the shop's list names them (entries in the shop's
	// partition, deleted with it at the end). Then the index entry.
	keyIDs := append([]string(nil), opt.KeyIDs...)
	err = s.queryItems(ctx, query{pk: shopPK(id), prefix: prefixAPIKey, consistent: true}, &d.u, func(it map[string]types.AttributeValue) error {
		keyIDs = append(keyIDs, strings.TrimPrefix(stringAttr(it, attrSK), prefixAPIKey))
		return nil
	})
	if err != nil {
		return err
	}
	for _, keyID := range keyIDs {
		if err := d.deleteKey(ctx, keyID); err != nil {
			return err
		}
	}
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: itemKey(pkShopList, shopListSK(id)), ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return fmt.Errorf("delete shop index entry: %w", err)
	}
	if len(out.Attributes) > 0 {
		d.deleted++
		d.found++
	}

	// Customers: each summary names its orders by their keys; scores and
	// contacts name nothing.
	for n := range shards {
		err := d.partition(ctx, shardPK(id, n), func(it map[string]types.AttributeValue) ([]key, error) {
			if !strings.HasPrefix(stringAttr(it, attrSK), prefixCustomer) {
				return nil, nil
			}
			var sum struct {
				Orders map[string]string `dynamodbav:"orders"`
			}
			if err := attributevalue.UnmarshalMap(it, &sum); err != nil {
				return nil, fmt.Errorf("decode summary %s: %w", stringAttr(it, attrSK), err)
			}
			var orders []key
			for k := range sum.Orders {
				orders = append(orders, itemKey(orderPK(id, k), skOrder))
			}
			return orders, nil
		})
		if err != nil {
			return err
		}
		if err := d.partition(ctx, contactsPK(id, n), nil); err != nil {
			return err
		}
	}

	// Nightly runs: the runs partition and the KPI history name the days
	// whose results have partitions of their own.
	days := map[string]bool{}
	for _, p := range []struct{ pk, prefix string }{{runsPK(id), "RUN#"}, {daysPK(id), prefixDay}} {
		err := s.queryItems(ctx, query{pk: p.pk, prefix: p.prefix, consistent: true}, &d.u, func(it map[string]types.AttributeValue) error {
			days[strings.TrimPrefix(stringAttr(it, attrSK), p.prefix)] = true
			return nil
		})
		if err != nil {
			return err
		}
	}
	for day := range days {
		if err := d.partition(ctx, runPK(id, day), nil); err != nil {
			return err
		}
	}
	for _, pk := range []string{runsPK(id), daysPK(id)} {
		if err := d.partition(ctx, pk, nil); err != nil {
			return err
		}
	}

	// Campaigns: the campaigns partition names the campaigns, whose
	// recipients name their coupons.
	var campaignIDs []string
	err = s.queryItems(ctx, query{pk: campaignsPK(id), prefix: prefixCampaign, consistent: true}, &d.u, func(it map[string]types.AttributeValue) error {
		campaignIDs = append(campaignIDs, strings.TrimPrefix(stringAttr(it, attrSK), prefixCampaign))
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range campaignIDs {
		for b := range campaign.Buckets {
			err := d.partition(ctx, recipientsPK(id, c, b), func(it map[string]types.AttributeValue) ([]key, error) {
				if code := stringAttr(it, "coupon"); code != "" {
					return []key{itemKey(couponPK(id, code), skCoupon)}, nil
				}
				return nil, nil
			})
			if err != nil {
				return err
			}
		}
	}
	for _, pk := range []string{campaignsPK(id), suppressedPK(id), campaignConfigPK(id)} {
		if err := d.partition(ctx, pk, nil); err != nil {
			return err
		}
	}

	if opt.Sweep {
		if err := d.sweep(ctx); err != nil {
			return err
		}
	}
	// The shop's own partition last, and its item last of all: it says
	// how many shards to go through when DeleteShop runs again.
	err = d.partition(ctx, shopPK(id), func(it map[string]types.AttributeValue) ([]key, error) {
		if stringAttr(it, attrSK) == skShop {
			return nil, errKeep
		}
		return nil, nil
	})
	if err != nil {
		return err
	}
	if found {
		return d.delete(ctx, []key{itemKey(shopPK(id), skShop)})
	}
	return nil
}

// errKeep, returned by a partition's refs function, leaves the item.
var errKeep = errors.New("keep")

// partition deletes every item of partition pk (read consistently), page
// by page: first the items each refers to (what refs, when not nil,
// returns for it), then the page's items, except those refs answers
// errKeep for.
func (d *shopDeletion) partition(ctx context.Context, pk string, refs func(map[string]types.AttributeValue) ([]key, error)) error {
	return d.s.queryPages(ctx, query{pk: pk, consistent: true}, &d.u, func(items []map[string]types.AttributeValue, _ map[string]types.AttributeValue) (bool, error) {
		var referred, keys []key
		d.found += len(items)
		for _, it := range items {
			if refs != nil {
				r, err := refs(it)
				if errors.Is(err, errKeep) {
					continue
				}
				if err != nil {
					return false, err
				}
				referred = append(referred, r...)
			}
			keys = append(keys, itemKey(stringAttr(it, attrPK), stringAttr(it, attrSK)))
		}
		if err := d.delete(ctx, referred); err != nil {
			return false, err
		}
		return true, d.delete(ctx, keys)
	})
}

// delete deletes the items at keys (a missing item is no error) and
// counts them.
func (d *shopDeletion) delete(ctx context.Context, keys []key) error {
	if len(keys) == 0 {
		return nil
	}
	reqs := make([]types.WriteRequest, len(keys))
	for i, k := range keys {
		reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}}
	}
	if err := d.s.batchWriteAll(ctx, reqs, &d.u); err != nil {
		return err
	}
	d.deleted += len(keys)
	return nil
}

// deleteKey deletes an API key if it is the shop's.
func (d *shopDeletion) deleteKey(ctx context.Context, keyID string) error {
	del, err := d.s.conditionalDelete(itemKey(apiKeyPK(keyID), skAPIKey),
		expression.Name("shop_id").Equal(expression.Value(d.shopID)))
	if err != nil {
		return err
	}
	_, err = d.s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: del.TableName, Key: del.Key, ConditionExpression: del.ConditionExpression,
		ExpressionAttributeNames: del.ExpressionAttributeNames, ExpressionAttributeValues: del.ExpressionAttributeValues,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf): // gone already, or another shop's
		return nil
	case err != nil:
		return fmt.Errorf("delete api key %s: %w", keyID, err)
	}
	d.deleted++
	d.found++
	return nil
}

// sweepSegments is how many segments the sweep scans the table in, in
// parallel.
const sweepSegments = 4

// sweep scans the whole table for the items under the shop's prefix
// (except its own partition, deleted last) and the API keys that are the
// shop's, and deletes them.
func (d *shopDeletion) sweep(ctx context.Context) error {
	scanner, ok := d.s.db.(dynamodb.ScanAPIClient)
	if !ok {
		return errors.New("sweep: the store's DynamoDB client cannot scan")
	}
	filter := expression.Name(attrPK).BeginsWith(shopPK(d.shopID) + "#").Or(
		expression.Name(attrPK).BeginsWith(prefixAPIKey).And(expression.Name("shop_id").Equal(expression.Value(d.shopID))))
	expr, err := expression.NewBuilder().WithFilter(filter).
		WithProjection(expression.NamesList(expression.Name(attrPK), expression.Name(attrSK))).Build()
	if err != nil {
		return fmt.Errorf("build sweep: %w", err)
	}
	type segment struct {
		keys []key
		err  error
	}
	done := make(chan segment, sweepSegments)
	for seg := range sweepSegments {
		go func() {
			var out segment
			p := dynamodb.NewScanPaginator(scanner, &dynamodb.ScanInput{
				TableName:                 aws.String(d.s.table),
				FilterExpression:          expr.Filter(),
				ProjectionExpression:      expr.Projection(),
				ExpressionAttributeNames:  expr.Names(),
				ExpressionAttributeValues: expr.Values(),
				ConsistentRead:            aws.Bool(true),
				Segment:                   aws.Int32(int32(seg)),
				TotalSegments:             aws.Int32(sweepSegments),
			})
			for p.HasMorePages() && out.err == nil {
				page, err := p.NextPage(ctx)
				if err != nil {
					out.err = fmt.Errorf("sweep: %w", err)
					break
				}
				for _, it := range page.Items {
					out.keys = append(out.keys, itemKey(stringAttr(it, attrPK), stringAttr(it, attrSK)))
				}
			}
			done <- out
		}()
	}
	var keys []key
	var firstErr error
	for range sweepSegments {
		out := <-done
		keys = append(keys, out.keys...)
		if out.err != nil && firstErr == nil {
			firstErr = out.err
		}
	}
	if firstErr != nil {
		return firstErr
	}
	d.found += len(keys)
	return d.delete(ctx, keys)
}
