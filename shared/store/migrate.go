package store

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/shop"
)

// The previous release's layout, which MigrateLayout moves from: the
// campaign config was an item of the shop's own partition, and a
// customer's contact an item of its summary's shard partition. Both moved
// to partitions of their own (campaignConfigPK, contactsPK) so that IAM
// can deny the ingest function campaign data by partition key.
//
//	item          pk (previous release)                  sk
//	campaign cfg  SHOP#<shop>                            CAMPAIGN_CONFIG
//	contact       SHOP#<shop>#CUSTOMERS#<shard 00-99>    CONTACT#<customer id>
//
// The webhook delivery ids of before (SHOP#<shop>#WEBHOOK#<id>, not
// hashed) are not moved: they expire through their ttl within WebhookTTL,
// and a delivery seen again meanwhile stores nothing twice (orders are
// kept by order id: the same order again is unchanged).

// oldCampaignConfigKey is the key of a shop's campaign config in the
// previous release's layout.
func oldCampaignConfigKey(shopID string) map[string]types.AttributeValue {
	return itemKey(shopPK(shopID), skCampaignConfig)
}

// oldContactsPK is the partition that held the contacts of shard n of a
// shop's customers in the previous release's layout: the shard's summary
// partition.
func oldContactsPK(shopID string, n int) string { return shardPK(shopID, n) }

// Migration is what MigrateLayout moved, or in a dry run would move.
type Migration struct {
	// Shops is how many shops were gone through.
	Shops int
	// ConfigsMoved counts campaign configs written under their new key.
	ConfigsMoved int
	// ConfigsSuperseded counts campaign configs of before dropped because
	// the shop was configured again since the upgrade (the new one stays).
	ConfigsSuperseded int
	// ContactsMoved counts contacts written to their new partition.
	ContactsMoved int
	// ContactsSuperseded counts contacts of before dropped because a
	// campaign contacted the customer again since the upgrade.
	ContactsSuperseded int
}

// migrateParallel bounds the conditional puts MigrateLayout runs at once.
const migrateParallel = 8

// skSupersededConfig keeps, in the shop's campaign-config partition, the
// settings of before that settings written since the upgrade superseded.
const skSupersededConfig = "CAMPAIGN_CONFIG_SUPERSEDED"

// MigrateLayout moves every shop's campaign config and contacts from the
// previous release's layout to the current one, shop by shop (the shop
// index's). A config goes to its new key unless one is stored there
// already, which then stays; a contact goes to its new partition unless a
// later contact of the customer is stored there; each old item is deleted
// once its new one is written. A run that stops half-way is finished by
// the next, and a finished one leaves nothing for the next to do. With
// dryRun nothing is written and the counts are what a run would do.
func (s *Store) MigrateLayout(ctx context.Context, dryRun bool) (Migration, error) {
	var m Migration
	ids, err := s.ShopIDs(ctx)
	if err != nil {
		return m, err
	}
	for _, id := range ids {
		var u Usage
		rec, found, err := getRecord[shopRecord](ctx, s, itemKey(shopPK(id), skShop), true, &u)
		if err != nil {
			return m, fmt.Errorf("migrate shop %s: get shop: %w", id, err)
		}
		if !found {
			continue // being deleted: DeleteShop removes both layouts
		}
		m.Shops++
		shards := rec.Shards
		if shards <= 0 {
			shards = shop.DefaultShards // what shop.Shard assumes
		}
		// The contacts first, the config last: until its config is moved a
		// shop has no sender address, so no campaign of it runs on a
		// frequency cap that misses contacts still in the old layout.
		for n := range shards {
			if err := s.migrateContacts(ctx, id, n, dryRun, &m); err != nil {
				return m, fmt.Errorf("migrate shop %s: contacts of shard %d: %w", id, n, err)
			}
		}
		if err := s.migrateConfig(ctx, id, dryRun, &m); err != nil {
			return m, fmt.Errorf("migrate shop %s: %w", id, err)
		}
	}
	return m, nil
}

// migrateConfig moves a shop's campaign config to its new key. The put's
// condition also holds for a copy an interrupted run wrote (the same
// data), so that one counts as moved.
func (s *Store) migrateConfig(ctx context.Context, shopID string, dryRun bool, m *Migration) error {
	var u Usage
	old, found, err := getRecord[campaignConfigRecord](ctx, s, oldCampaignConfigKey(shopID), true, &u)
	if err != nil {
		return fmt.Errorf("get campaign config of before: %w", err)
	}
	if !found {
		return nil
	}
	rec := campaignConfigRecord{PK: campaignConfigPK(shopID), SK: skCampaignConfig, Type: "campaign_config", Data: old.Data}
	var moved bool
	if dryRun {
		cur, exists, err := getRecord[campaignConfigRecord](ctx, s, itemKey(rec.PK, rec.SK), true, &u)
		if err != nil {
			return fmt.Errorf("get campaign config: %w", err)
		}
		moved = !exists || cur.Data == old.Data
	} else {
		cond := expression.Or(expression.AttributeNotExists(expression.Name(attrPK)),
			expression.Name("data").Equal(expression.Value(old.Data)))
		if moved, err = s.putIf(ctx, rec, cond, &u); err != nil {
			return fmt.Errorf("put campaign config: %w", err)
		}
		if !moved {
			// Settings written since the upgrade win; the old ones are kept
			// beside them (sk skSupersededConfig), never read, to restore
			// by hand should the new ones have been a mistake.
			kept := campaignConfigRecord{PK: rec.PK, SK: skSupersededConfig, Type: "campaign_config_superseded", Data: old.Data}
			if _, err := s.putIf(ctx, kept, expression.AttributeNotExists(expression.Name(attrPK)), &u); err != nil {
				return fmt.Errorf("keep the superseded campaign config: %w", err)
			}
		}
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: oldCampaignConfigKey(shopID)})
		if err != nil {
			return fmt.Errorf("delete campaign config of before: %w", err)
		}
	}
	if moved {
		m.ConfigsMoved++
	} else {
		m.ConfigsSuperseded++
	}
	return nil
}

// migrateContacts moves the contacts of shard n of a shop to the shard's
// contacts partition, a page of the old partition at a time: the puts,
// then the page's deletes. A put keeps the later of two contacts of one
// customer (last_contacted_at sorts as its time does); an equal one is a
// copy an interrupted run wrote, and counts as moved.
func (s *Store) migrateContacts(ctx context.Context, shopID string, n int, dryRun bool, m *Migration) error {
	var u Usage
	var current map[string]string // dry run: last_contacted_at by sort key in the new partition
	q := query{pk: oldContactsPK(shopID, n), prefix: prefixContact, consistent: true}
	return s.queryPages(ctx, q, &u, func(items []map[string]types.AttributeValue, _ map[string]types.AttributeValue) (bool, error) {
		if len(items) == 0 {
			return true, nil
		}
		recs := make([]contactRecord, len(items))
		for i, it := range items {
			rec, err := decode[contactRecord](it)
			if err != nil {
				return false, err
			}
			if rec.CustomerID != strings.TrimPrefix(rec.SK, prefixContact) {
				return false, fmt.Errorf("contact %s: customer_id %q", rec.SK, rec.CustomerID)
			}
			if _, err := parseTime(rec.LastContactedAt); err != nil || rec.LastContactedAt == "" {
				return false, fmt.Errorf("contact of %s: last_contacted_at %q", rec.CustomerID, rec.LastContactedAt)
			}
			rec.PK = contactsPK(shopID, n)
			recs[i] = rec
		}

		moved := make([]bool, len(recs))
		if dryRun {
			if current == nil {
				current = map[string]string{}
				err := s.queryItems(ctx, query{pk: contactsPK(shopID, n), prefix: prefixContact, consistent: true}, &u, func(it map[string]types.AttributeValue) error {
					current[stringAttr(it, attrSK)] = stringAttr(it, attrLastContact)
					return nil
				})
				if err != nil {
					return false, err
				}
			}
			for i, rec := range recs {
				at, exists := current[rec.SK]
				moved[i] = !exists || at <= rec.LastContactedAt
			}
		} else {
			err := migrateEach(len(recs), migrateParallel, func(i int) error {
				var pu Usage
				cond := expression.Or(expression.AttributeNotExists(expression.Name(attrPK)),
					expression.Name(attrLastContact).LessThanEqual(expression.Value(recs[i].LastContactedAt)))
				ok, err := s.putIf(ctx, recs[i], cond, &pu)
				if err != nil {
					return fmt.Errorf("put contact of %s: %w", recs[i].CustomerID, err)
				}
				moved[i] = ok
				return nil
			})
			if err != nil {
				return false, err
			}
			deletes := make([]types.WriteRequest, len(items))
			for i, it := range items {
				deletes[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: itemKey(stringAttr(it, attrPK), stringAttr(it, attrSK))}}
			}
			if err := s.batchWriteAll(ctx, deletes, &u); err != nil {
				return false, fmt.Errorf("delete contacts of before: %w", err)
			}
		}
		for _, ok := range moved {
			if ok {
				m.ContactsMoved++
			} else {
				m.ContactsSuperseded++
			}
		}
		return true, nil
	})
}

// migrateEach calls fn(i) for i in [0, n), at most workers at once, and
// returns the first error (by i).
func migrateEach(n, workers int, fn func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ClearSecrets counts what ResealWebhookSecrets and ResealTokenKey would
// seal: the shops' webhook secrets and the token key still stored in
// clear (written before secrets were sealed). It writes nothing.
func (s *Store) ClearSecrets(ctx context.Context) (webhookSecrets int, tokenKey bool, err error) {
	ids, err := s.ShopIDs(ctx)
	if err != nil {
		return 0, false, err
	}
	var u Usage
	for _, id := range ids {
		rec, found, err := getRecord[shopRecord](ctx, s, itemKey(shopPK(id), skShop), true, &u)
		if err != nil {
			return 0, false, fmt.Errorf("get shop %s: %w", id, err)
		}
		if found && rec.WebhookSecret != "" {
			webhookSecrets++
		}
	}
	_, tokenKey, err = getRecord[tokenKeyRecord](ctx, s, itemKey(pkConfig, skTokenKey), true, &u)
	if err != nil {
		return 0, false, fmt.Errorf("get token key: %w", err)
	}
	return webhookSecrets, tokenKey, nil
}
