package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/shop"
)

// CreateShop stores a new shop, its entry in the shop index and its API
// key in one transaction.
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
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		return fmt.Errorf("create shop %s: %w", sh.ID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create shop %s: %w", sh.ID, err)
	}
	return nil
}

// Shop reads a shop's settings.
func (s *Store) Shop(ctx context.Context, id string) (shop.Shop, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table),
		Key:       itemKey(shopPK(id), skShop),
	})
	if err != nil {
		return shop.Shop{}, fmt.Errorf("get shop %s: %w", id, err)
	}
	if out.Item == nil {
		return shop.Shop{}, fmt.Errorf("shop %s: %w", id, ErrNotFound)
	}
	var r shopRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return shop.Shop{}, fmt.Errorf("decode shop %s: %w", id, err)
	}
	return r.shop()
}

// SetWebhookSecret replaces a shop's Shopify webhook secret, e.g. with the
// one Shopify shows for webhooks created in the shop admin.
func (s *Store) SetWebhookSecret(ctx context.Context, shopID, secret string) error {
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("webhook_secret"), expression.Value(secret))).
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
		return fmt.Errorf("shop %s: %w", shopID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("set webhook secret of %s: %w", shopID, err)
	}
	return nil
}

// APIKey reads the shop id and secret hash stored for an API key id.
func (s *Store) APIKey(ctx context.Context, keyID string) (shopID, secretHash string, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table),
		Key:       itemKey(apiKeyPK(keyID), skAPIKey),
	})
	if err != nil {
		return "", "", fmt.Errorf("get api key: %w", err)
	}
	if out.Item == nil {
		return "", "", fmt.Errorf("api key: %w", ErrNotFound)
	}
	var r apiKeyRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return "", "", fmt.Errorf("decode api key: %w", err)
	}
	return r.ShopID, r.SecretHash, nil
}

// ShopIDs lists every shop's id (the nightly job's starting point).
func (s *Store) ShopIDs(ctx context.Context) ([]string, error) {
	kc := expression.Key(attrPK).Equal(expression.Value(pkShopList))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, fmt.Errorf("build key condition: %w", err)
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var ids []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list shops: %w", err)
		}
		for _, it := range page.Items {
			ids = append(ids, stringAttr(it, "shop_id"))
		}
	}
	return ids, nil
}
