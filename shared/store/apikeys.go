package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/shop"
)

// A shop's API keys. Each key is two items, written and deleted in one
// transaction:
//
//	APIKEY#<key id>  APIKEY           shop id and SHA-256 of the secret:
//	                                  what authentication reads by key id
//	SHOP#<shop>      APIKEY#<key id>  key id, label, creation time: the
//	                                  shop's list of keys, without the hash
//
// Keys created before the list existed have only the first item: they
// authenticate and can be revoked by id, but are not listed.
const prefixAPIKey = "APIKEY#"

func apiKeyListSK(keyID string) string { return prefixAPIKey + keyID }

// apiKeyListRecord is a key's entry in its shop's list.
type apiKeyListRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Type      string `dynamodbav:"type"`
	KeyID     string `dynamodbav:"key_id"`
	Label     string `dynamodbav:"label,omitempty"`
	CreatedAt string `dynamodbav:"created_at"`
}

// apiKeyItems are the two items of a new key of a shop: the key and its
// entry in the shop's list.
func apiKeyItems(shopID, hash string, k shop.KeyInfo) (key, entry map[string]types.AttributeValue, err error) {
	key, err = attributevalue.MarshalMap(apiKeyRecord{
		PK: apiKeyPK(k.KeyID), SK: skAPIKey, Type: "apikey",
		ShopID: shopID, SecretHash: hash, CreatedAt: formatTime(k.CreatedAt),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("encode api key: %w", err)
	}
	entry, err = attributevalue.MarshalMap(apiKeyListRecord{
		PK: shopPK(shopID), SK: apiKeyListSK(k.KeyID), Type: "apikey_entry",
		KeyID: k.KeyID, Label: k.Label, CreatedAt: formatTime(k.CreatedAt),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("encode api key entry: %w", err)
	}
	return key, entry, nil
}

// CreateAPIKey makes a new API key for a shop, labelled label (see
// shop.CheckLabel), and stores it with its entry in the shop's list in one
// transaction. The full key is returned here and never again: only its
// hash is stored. A missing shop is shop.ErrNotFound.
func (s *Store) CreateAPIKey(ctx context.Context, shopID, label string) (apiKey string, info shop.KeyInfo, err error) {
	if err := shop.CheckLabel(label); err != nil {
		return "", shop.KeyInfo{}, err
	}
	cred := shop.NewCredentials()
	info = shop.KeyInfo{KeyID: cred.KeyID, Label: label, CreatedAt: s.now().UTC()}
	key, entry, err := apiKeyItems(shopID, cred.KeyHash, info)
	if err != nil {
		return "", shop.KeyInfo{}, err
	}
	notExists := expression.AttributeNotExists(expression.Name(attrPK))
	putKey, err := s.conditionalPut(key, notExists)
	if err != nil {
		return "", shop.KeyInfo{}, err
	}
	putEntry, err := s.conditionalPut(entry, notExists)
	if err != nil {
		return "", shop.KeyInfo{}, err
	}
	shopExists, err := s.conditionCheck(itemKey(shopPK(shopID), skShop), expression.AttributeExists(expression.Name(attrPK)))
	if err != nil {
		return "", shop.KeyInfo{}, err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: putKey}, {Put: putEntry}, {ConditionCheck: shopExists},
	}})
	failed := conditionsFailed(err)
	switch {
	case err == nil:
		return cred.APIKey, info, nil
	case slices.Contains(failed, 2):
		return "", shop.KeyInfo{}, fmt.Errorf("create api key: shop %s: %w", shopID, shop.ErrNotFound)
	case len(failed) > 0:
		return "", shop.KeyInfo{}, fmt.Errorf("create api key %s: %w", info.KeyID, ErrExists)
	}
	return "", shop.KeyInfo{}, fmt.Errorf("create api key for %s: %w", shopID, err)
}

// ListAPIKeys lists a shop's API keys, oldest first, without their
// secrets (read consistently: a key just created is listed). A missing shop
// is shop.ErrNotFound.
func (s *Store) ListAPIKeys(ctx context.Context, shopID string) ([]shop.KeyInfo, error) {
	var u Usage
	var keys []shop.KeyInfo
	err := s.queryItems(ctx, query{pk: shopPK(shopID), prefix: prefixAPIKey, consistent: true}, &u, func(it map[string]types.AttributeValue) error {
		var rec apiKeyListRecord
		if err := attributevalue.UnmarshalMap(it, &rec); err != nil {
			return fmt.Errorf("decode api key entry: %w", err)
		}
		created, err := parseTime(rec.CreatedAt)
		if err != nil {
			return fmt.Errorf("api key %s: created_at: %w", rec.KeyID, err)
		}
		keys = append(keys, shop.KeyInfo{KeyID: rec.KeyID, Label: rec.Label, CreatedAt: created})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list api keys of %s: %w", shopID, err)
	}
	if len(keys) == 0 {
		_, found, err := getRecord[struct{}](ctx, s, itemKey(shopPK(shopID), skShop), true, &u)
		if err != nil {
			return nil, fmt.Errorf("get shop %s: %w", shopID, err)
		}
		if !found {
			return nil, fmt.Errorf("shop %s: %w", shopID, shop.ErrNotFound)
		}
	}
	slices.SortFunc(keys, compareKeys)
	return keys, nil
}

// compareKeys orders keys oldest first, then by id.
func compareKeys(a, b shop.KeyInfo) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	switch {
	case a.KeyID < b.KeyID:
		return -1
	case a.KeyID > b.KeyID:
		return 1
	}
	return 0
}

// RevokeAPIKey deletes a shop's API key and its entry in the shop's list
// in one transaction, on the condition that the key is that shop's: a key
// id that is unknown or another shop's is shop.ErrNotFound, and nothing
// changes. Warm API functions may still accept the key for the time they
// cache it (httpapi.KeyTTL).
func (s *Store) RevokeAPIKey(ctx context.Context, shopID, keyID string) error {
	isTheShops := expression.Name("shop_id").Equal(expression.Value(shopID)) // false for a missing item
	delKey, err := s.conditionalDelete(itemKey(apiKeyPK(keyID), skAPIKey), isTheShops)
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: delKey},
		// A key created before the shops' lists existed has no entry:
		// deleting a missing item is no failure.
		{Delete: &types.Delete{TableName: aws.String(s.table), Key: itemKey(shopPK(shopID), apiKeyListSK(keyID))}},
	}})
	if slices.Contains(conditionsFailed(err), 0) {
		return fmt.Errorf("api key %s of shop %s: %w", keyID, shopID, shop.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("revoke api key %s: %w", keyID, err)
	}
	return nil
}

// conditionCheck is a transaction's check that the item at key meets cond.
func (s *Store) conditionCheck(key map[string]types.AttributeValue, cond expression.ConditionBuilder) (*types.ConditionCheck, error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("build condition: %w", err)
	}
	return &types.ConditionCheck{
		TableName:                 aws.String(s.table),
		Key:                       key,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, nil
}

// conditionsFailed returns the positions of the items whose condition
// cancelled a transaction (none when err is not a cancellation).
func conditionsFailed(err error) []int {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return nil
	}
	var failed []int
	for i, r := range tc.CancellationReasons {
		if aws.ToString(r.Code) == "ConditionalCheckFailed" {
			failed = append(failed, i)
		}
	}
	return failed
}
