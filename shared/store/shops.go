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

	"github.com/winback/winback/shared/secrets"
	"github.com/winback/winback/shared/shop"
)

// CreateShop stores a new shop, its entry in the shop index and its API
// key, listed among the shop's keys, in one transaction. It returns
// ErrExists (shop.ErrExists) when the shop or the API key id is already
// stored, and nothing is written.
func (s *Store) CreateShop(ctx context.Context, sh shop.Shop, cred shop.Credentials) error {
	// The webhook secret is stored sealed (secrets.PurposeWebhookSecret).
	sealed, err := s.sealWebhookSecret(ctx, sh.ID, sh.WebhookSecret)
	if err != nil {
		return err
	}
	shopItem, err := attributevalue.MarshalMap(toShopRecord(sh, sealed))
	if err != nil {
		return fmt.Errorf("encode shop %s: %w", sh.ID, err)
	}
	keyItem, err := attributevalue.MarshalMap(apiKeyRecord{
		PK: apiKeyPK(cred.KeyID), SK: skAPIKey, Type: "apikey",
		ShopID: sh.ID, SecretHash: cred.KeyHash, CreatedAt: formatTime(sh.CreatedAt),
	})
	if err != nil {
		return fmt.Errorf("encode api key: %w", err)
	}
	listItem := itemKey(pkShopList, shopListSK(sh.ID))
	listItem["shop_id"] = &types.AttributeValueMemberS{Value: sh.ID}
	// The first key's entry in the shop's list of keys (apikeys.go).
	_, keyEntry, err := apiKeyItems(sh.ID, cred.KeyHash, shop.KeyInfo{KeyID: cred.KeyID, Label: shop.FirstKeyLabel, CreatedAt: sh.CreatedAt})
	if err != nil {
		return err
	}

	// The order of the items is the order of the cancellation reasons.
	names := []string{"shop " + sh.ID, "shop index entry " + sh.ID, "API key " + cred.KeyID, "API key list entry " + cred.KeyID}
	notExists := expression.AttributeNotExists(expression.Name(attrPK))
	var items []types.TransactWriteItem
	for _, it := range []map[string]types.AttributeValue{shopItem, listItem, keyItem, keyEntry} {
		put, err := s.conditionalPut(it, notExists)
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return nil
	}
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		var taken []string
		for i, r := range tc.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" && i < len(names) {
				taken = append(taken, names[i])
			}
		}
		if len(taken) > 0 {
			return fmt.Errorf("create shop %s: %s: %w", sh.ID, strings.Join(taken, ", "), ErrExists)
		}
	}
	return fmt.Errorf("create shop %s: %w", sh.ID, err)
}

// Shop reads a shop's settings (shop.ErrNotFound if there is none), with
// its webhook secret opened, unless the store was made
// WithoutWebhookSecrets. A sealed secret that does not open is an error.
// The read is strongly consistent (1 read unit, not 0.5): the functions
// cache a shop for httpapi.KeyTTL, and a rotated webhook secret must not
// come back from a lagging replica to be cached for another minute.
func (s *Store) Shop(ctx context.Context, id string) (shop.Shop, error) {
	var u Usage
	rec, found, err := getRecord[shopRecord](ctx, s, itemKey(shopPK(id), skShop), true, &u)
	if err != nil {
		return shop.Shop{}, fmt.Errorf("get shop %s: %w", id, err)
	}
	if !found {
		return shop.Shop{}, fmt.Errorf("shop %s: %w", id, shop.ErrNotFound)
	}
	sh, err := rec.shop()
	if err != nil {
		return shop.Shop{}, err
	}
	switch {
	case s.noWebhookSecrets:
		sh.WebhookSecret = ""
	case len(rec.WebhookSecretSealed) > 0:
		plain, err := s.sealer.Open(ctx, rec.WebhookSecretSealed, secrets.PurposeWebhookSecret, id)
		if err != nil {
			return shop.Shop{}, fmt.Errorf("shop %s: webhook secret: %w", id, err)
		}
		sh.WebhookSecret = string(plain)
	}
	return sh, nil
}

// sealWebhookSecret seals a shop's webhook secret (nil for none).
func (s *Store) sealWebhookSecret(ctx context.Context, shopID, secret string) ([]byte, error) {
	if secret == "" {
		return nil, nil
	}
	sealed, err := s.sealer.Seal(ctx, []byte(secret), secrets.PurposeWebhookSecret, shopID)
	if err != nil {
		return nil, fmt.Errorf("shop %s: seal webhook secret: %w", shopID, err)
	}
	return sealed, nil
}

// Attribute names of the shop item's webhook secret.
const (
	attrWebhookSecret       = "webhook_secret"
	attrWebhookSecretSealed = "webhook_secret_sealed"
)

// SetWebhookSecret replaces a shop's Shopify webhook secret, e.g. with the
// one Shopify shows for webhooks created in the shop admin, and, unless
// shopifyDomain is empty, the shop's myshopify.com domain that deliveries
// must name. The secret is stored sealed, and a clear one written before
// secrets were sealed is removed. A missing shop is shop.ErrNotFound.
// Functions that read the shop before keep the old secret until their
// cache of it expires (httpapi.KeyTTL).
func (s *Store) SetWebhookSecret(ctx context.Context, shopID, secret, shopifyDomain string) error {
	if secret == "" {
		return fmt.Errorf("shop %s: empty webhook secret", shopID)
	}
	sealed, err := s.sealWebhookSecret(ctx, shopID, secret)
	if err != nil {
		return err
	}
	update := expression.Set(expression.Name(attrWebhookSecretSealed), expression.Value(sealed)).
		Remove(expression.Name(attrWebhookSecret))
	if shopifyDomain != "" {
		update = update.Set(expression.Name("shopify_domain"), expression.Value(shopifyDomain))
	}
	expr, err := expression.NewBuilder().
		WithUpdate(update).
		WithCondition(expression.AttributeExists(expression.Name(attrPK))).
		Build()
	if err != nil {
		return fmt.Errorf("build update: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       itemKey(shopPK(shopID), skShop),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("shop %s: %w", shopID, shop.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("set webhook secret of %s: %w", shopID, err)
	}
	return nil
}

// APIKey reads the shop id and secret hash stored for an API key id
// (shop.ErrNotFound if there is none). The read is strongly consistent, so
// that a key revoked before it is never read back: a warm function caches
// the answer (httpapi.KeyTTL), and that is the whole revocation window.
func (s *Store) APIKey(ctx context.Context, keyID string) (shopID, secretHash string, err error) {
	var u Usage
	rec, found, err := getRecord[apiKeyRecord](ctx, s, itemKey(apiKeyPK(keyID), skAPIKey), true, &u)
	if err != nil {
		return "", "", fmt.Errorf("get api key: %w", err)
	}
	if !found {
		return "", "", fmt.Errorf("api key: %w", shop.ErrNotFound)
	}
	return rec.ShopID, rec.SecretHash, nil
}

// ShopIDs lists every shop's id (the nightly job's starting point), in
// id order.
func (s *Store) ShopIDs(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.queryAll(ctx, pkShopList, func(it map[string]types.AttributeValue) error {
		ids = append(ids, stringAttr(it, "shop_id"))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list shops: %w", err)
	}
	return ids, nil
}

// ResealWebhookSecrets seals every webhook secret still stored in clear
// (written before secrets were sealed) and removes the clear one, shop by
// shop; a shop whose secret is set meanwhile is left to that change. It
// returns how many shops it read and how many it resealed.
func (s *Store) ResealWebhookSecrets(ctx context.Context) (shops, resealed int, err error) {
	ids, err := s.ShopIDs(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, id := range ids {
		var u Usage
		rec, found, err := getRecord[shopRecord](ctx, s, itemKey(shopPK(id), skShop), true, &u)
		if err != nil {
			return shops, resealed, fmt.Errorf("get shop %s: %w", id, err)
		}
		if !found {
			continue
		}
		shops++
		if rec.WebhookSecret == "" {
			continue
		}
		sealed, err := s.sealWebhookSecret(ctx, id, rec.WebhookSecret)
		if err != nil {
			return shops, resealed, err
		}
		expr, err := expression.NewBuilder().
			WithUpdate(expression.Set(expression.Name(attrWebhookSecretSealed), expression.Value(sealed)).
				Remove(expression.Name(attrWebhookSecret))).
			WithCondition(expression.Equal(expression.Name(attrWebhookSecret), expression.Value(rec.WebhookSecret))).
			Build()
		if err != nil {
			return shops, resealed, fmt.Errorf("build update: %w", err)
		}
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       itemKey(shopPK(id), skShop),
			UpdateExpression:          expr.Update(),
			ConditionExpression:       expr.Condition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		})
		var ccf *types.ConditionalCheckFailedException
		switch {
		case errors.As(err, &ccf):
			continue // set meanwhile, and sealed by that change
		case err != nil:
			return shops, resealed, fmt.Errorf("reseal webhook secret of %s: %w", id, err)
		}
		resealed++
	}
	return shops, resealed, nil
}
