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

	"github.com/winback/winback/shared/shop"
)

// CreateShop stores a new shop, its entry in the shop index and its API
// key in one transaction. It returns ErrExists (shop.ErrExists) when the
// shop or the API key id is already stored, and nothing is written.
func (s *Store) CreateShop(ctx context.Context, sh shop.Shop, cred shop.Credentials) error {
	shopItem, err := attributevalue.MarshalMap(toShopRecord(sh))
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

	// The order of the items is the order of the cancellation reasons.
	names := []string{"shop " + sh.ID, "shop index entry " + sh.ID, "API key " + cred.KeyID}
	notExists := expression.AttributeNotExists(expression.Name(attrPK))
	var items []types.TransactWriteItem
	for _, it := range []map[string]types.AttributeValue{shopItem, listItem, keyItem} {
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

// Shop reads a shop's settings (shop.ErrNotFound if there is none).
func (s *Store) Shop(ctx context.Context, id string) (shop.Shop, error) {
	var u Usage
	rec, found, err := getRecord[shopRecord](ctx, s, itemKey(shopPK(id), skShop), false, &u)
	if err != nil {
		return shop.Shop{}, fmt.Errorf("get shop %s: %w", id, err)
	}
	if !found {
		return shop.Shop{}, fmt.Errorf("shop %s: %w", id, shop.ErrNotFound)
	}
	return rec.shop()
}

// SetWebhookSecret replaces a shop's Shopify webhook secret, e.g. with the
// one Shopify shows for webhooks created in the shop admin, and, unless
// shopifyDomain is empty, the shop's myshopify.com domain that deliveries
// must name. A missing shop is shop.ErrNotFound.
func (s *Store) SetWebhookSecret(ctx context.Context, shopID, secret, shopifyDomain string) error {
	update := expression.Set(expression.Name("webhook_secret"), expression.Value(secret))
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
// (shop.ErrNotFound if there is none).
func (s *Store) APIKey(ctx context.Context, keyID string) (shopID, secretHash string, err error) {
	var u Usage
	rec, found, err := getRecord[apiKeyRecord](ctx, s, itemKey(apiKeyPK(keyID), skAPIKey), false, &u)
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
