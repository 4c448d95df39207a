package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/shop"
)

// Suppression reasons.
const (
	SuppressErasure     = "erasure"
	SuppressUnsubscribe = "unsubscribe"
	SuppressBounce      = "bounce"
	SuppressComplaint   = "complaint"
)

// suppressionRecord marks an e-mail address (by its salted hash) that must
// never be mailed again, or a customer id that was erased.
type suppressionRecord struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	Type   string `dynamodbav:"type"`
	Reason string `dynamodbav:"reason"`
	At     string `dynamodbav:"at"`
}

// maxEraseAttempts bounds how often an erasure starts over because orders
// of the customer arrived while it ran.
const maxEraseAttempts = 5

// EraseCustomer removes a customer's personal data: their orders, summary,
// scores and campaign trail (their contact item, their recipient in each
// of the shop's last 1,000 campaigns and its coupon). What stays is the shop's aggregate history (KPI days, which
// hold no personal data) and two records holding only salted hashes: one of
// the e-mail address, so the customer is never mailed again, and one of
// the customer id, so that erasing again is a no-op. It is idempotent; a
// customer who never existed is customer.ErrNotFound.
func (s *Store) EraseCustomer(ctx context.Context, sh shop.Shop, customerID string) error {
	salt, err := s.salt(ctx, sh.ID)
	if err != nil {
		return err
	}
	campaigns, err := s.Campaigns(ctx, sh.ID, maxEraseCampaigns)
	if err != nil {
		return fmt.Errorf("erase customer %s: %w", customerID, err)
	}
	for attempt := 0; attempt < maxEraseAttempts; attempt++ {
		var u Usage
		rec, found, err := getRecord[summaryRecord](ctx, s, itemKey(customerPK(sh, customerID), customerSK(customerID)), true, &u)
		if err != nil {
			return fmt.Errorf("erase customer %s: %w", customerID, err)
		}
		if !found {
			_, erased, err := getRecord[suppressionRecord](ctx, s, itemKey(suppressedPK(sh.ID), erasedSK(salt, customerID)), true, &u)
			switch {
			case err != nil:
				return fmt.Errorf("erase customer %s: %w", customerID, err)
			case !erased:
				return fmt.Errorf("customer %s: %w", customerID, customer.ErrNotFound)
			}
			return nil
		}
		// The records that outlive the data go first: a crash after them
		// leaves a customer who is suppressed and whose erasure a retry
		// completes. An earlier suppression reason (unsubscribe, bounce) stays.
		if rec.Email != "" {
			if err := s.suppress(ctx, sh.ID, salt, rec.Email, SuppressErasure); err != nil {
				return fmt.Errorf("erase customer %s: %w", customerID, err)
			}
		}
		mark, err := attributevalue.MarshalMap(suppressionRecord{PK: suppressedPK(sh.ID), SK: erasedSK(salt, customerID), Type: "erased", Reason: SuppressErasure, At: formatTime(s.now())})
		if err != nil {
			return fmt.Errorf("encode erasure: %w", err)
		}
		reqs := []types.WriteRequest{{PutRequest: &types.PutRequest{Item: mark}}}
		for key := range rec.Orders {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: itemKey(orderPK(sh.ID, key), skOrder)}})
		}
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: itemKey(customerPK(sh, customerID), scoreSK(customerID))}})
		trail, err := s.campaignTrail(ctx, sh, customerID, campaigns, &u)
		if err != nil {
			return fmt.Errorf("erase customer %s: %w", customerID, err)
		}
		reqs = append(reqs, trail...)
		if err := s.batchWriteAll(ctx, reqs, &u); err != nil {
			return fmt.Errorf("erase customer %s: %w", customerID, err)
		}
		// The summary last, and only if no order arrived meanwhile (its
		// version moved): then start over with the new orders.
		del, err := s.conditionalDelete(itemKey(customerPK(sh, customerID), customerSK(customerID)),
			expression.Name("version").Equal(expression.Value(rec.Version)))
		if err != nil {
			return err
		}
		_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: del.TableName, Key: del.Key, ConditionExpression: del.ConditionExpression,
			ExpressionAttributeNames: del.ExpressionAttributeNames, ExpressionAttributeValues: del.ExpressionAttributeValues,
		})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			continue
		}
		if err != nil {
			return fmt.Errorf("erase customer %s: %w", customerID, err)
		}
		return nil
	}
	return fmt.Errorf("erase customer %s: %w", customerID, ErrContention)
}

// maxEraseCampaigns is how many of the shop's latest campaigns an erasure
// looks for the customer in.
const maxEraseCampaigns = 1000

// campaignTrail is the deletion of what campaigns keep of a customer: the
// contact item, and in each campaign the recipient (found by its send id)
// and its coupon (a dry run's only if the code's item is the recipient's,
// deleted at once).
func (s *Store) campaignTrail(ctx context.Context, sh shop.Shop, customerID string, campaigns []campaign.Campaign, u *Usage) ([]types.WriteRequest, error) {
	del := func(key map[string]types.AttributeValue) types.WriteRequest {
		return types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key}}
	}
	reqs := []types.WriteRequest{del(itemKey(contactPK(sh, customerID), contactSK(customerID)))}
	for len(campaigns) > 0 {
		n := min(len(campaigns), 100)
		keys := make([]map[string]types.AttributeValue, n)
		for i, c := range campaigns[:n] {
			sendID := campaign.SendID(c.ID, customerID)
			keys[i] = itemKey(recipientPK(sh.ID, c.ID, sendID), sendSK(sendID))
		}
		campaigns = campaigns[n:]
		items, err := s.batchGet(ctx, keys, true, u)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			rec, err := decode[recipientRecord](it)
			if err != nil {
				return nil, err
			}
			reqs = append(reqs, del(itemKey(rec.PK, rec.SK)))
			switch {
			case rec.Coupon == "":
			case rec.State == string(campaign.StateDryRun):
				// A dry run reserves no code, and a real recipient may
				// hold it since: delete its item only if it is this
				// recipient's (recorded before dry runs stopped
				// reserving).
				if err := s.deleteOwnCoupon(ctx, sh.ID, rec.Coupon, rec.SendID); err != nil {
					return nil, err
				}
			default:
				reqs = append(reqs, del(itemKey(couponPK(sh.ID, rec.Coupon), skCoupon)))
			}
		}
	}
	return reqs, nil
}

// deleteOwnCoupon deletes the item of a coupon code of the shop if it is
// the recipient's with this send id, and leaves it otherwise.
func (s *Store) deleteOwnCoupon(ctx context.Context, shopID, code, sendID string) error {
	del, err := s.conditionalDelete(itemKey(couponPK(shopID, code), skCoupon),
		expression.Name(attrSendID).Equal(expression.Value(sendID)))
	if err != nil {
		return err
	}
	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: del.TableName, Key: del.Key, ConditionExpression: del.ConditionExpression,
		ExpressionAttributeNames: del.ExpressionAttributeNames, ExpressionAttributeValues: del.ExpressionAttributeValues,
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("delete coupon of %s: %w", sendID, err)
	}
	return nil
}

// eraseParallel bounds the BatchWriteItem calls one erasure runs at once:
// a customer's 16,000 orders are 640 calls.
const eraseParallel = 8

// batchWriteAll writes reqs 25 at a time, eraseParallel calls at once.
func (s *Store) batchWriteAll(ctx context.Context, reqs []types.WriteRequest, u *Usage) error {
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
		sem      = make(chan struct{}, eraseParallel)
	)
	for len(reqs) > 0 {
		n := min(len(reqs), 25)
		chunk := reqs[:n]
		reqs = reqs[n:]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var cu Usage
			err := s.batchWrite(ctx, chunk, &cu)
			mu.Lock()
			defer mu.Unlock()
			u.Add(cu)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// Suppress records that an e-mail address of the shop must never be mailed
// again, for reason (SuppressUnsubscribe, SuppressBounce, …). The first
// reason recorded stays.
func (s *Store) Suppress(ctx context.Context, sh shop.Shop, email, reason string) error {
	salt, err := s.salt(ctx, sh.ID)
	if err != nil {
		return err
	}
	return s.suppress(ctx, sh.ID, salt, email, reason)
}

func (s *Store) suppress(ctx context.Context, shopID string, salt []byte, email, reason string) error {
	item, err := attributevalue.MarshalMap(suppressionRecord{
		PK: suppressedPK(shopID), SK: emailSK(salt, email), Type: "suppressed", Reason: reason, At: formatTime(s.now()),
	})
	if err != nil {
		return fmt.Errorf("encode suppression: %w", err)
	}
	return s.putSuppression(ctx, item)
}

// putSuppression writes a suppression item unless one is there: the first
// reason stays.
func (s *Store) putSuppression(ctx context.Context, item map[string]types.AttributeValue) error {
	put, err := s.conditionalPut(item, expression.AttributeNotExists(expression.Name(attrPK)))
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: put.TableName, Item: put.Item, ConditionExpression: put.ConditionExpression,
		ExpressionAttributeNames: put.ExpressionAttributeNames, ExpressionAttributeValues: put.ExpressionAttributeValues,
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("suppress: %w", err)
	}
	return nil
}

// AddressKey is the key an e-mail address is suppressed under in the shop
// (its salted hash): what a recipient records of the address it was mailed
// at, so that SuppressKey can later suppress exactly that address.
func (s *Store) AddressKey(ctx context.Context, sh shop.Shop, email string) (string, error) {
	salt, err := s.salt(ctx, sh.ID)
	if err != nil {
		return "", err
	}
	return emailSK(salt, email), nil
}

// SuppressKey is Suppress for an address known by its AddressKey.
func (s *Store) SuppressKey(ctx context.Context, sh shop.Shop, key, reason string) error {
	if !strings.HasPrefix(key, prefixEmail) {
		return fmt.Errorf("suppress: %q is not an address key", key)
	}
	item, err := attributevalue.MarshalMap(suppressionRecord{
		PK: suppressedPK(sh.ID), SK: key, Type: "suppressed", Reason: reason, At: formatTime(s.now()),
	})
	if err != nil {
		return fmt.Errorf("encode suppression: %w", err)
	}
	return s.putSuppression(ctx, item)
}

// Suppressed reports whether an e-mail address of the shop must not be
// mailed, and why ("" when it may be).
func (s *Store) Suppressed(ctx context.Context, sh shop.Shop, email string) (reason string, err error) {
	salt, err := s.salt(ctx, sh.ID)
	if err != nil {
		return "", err
	}
	var u Usage
	rec, found, err := getRecord[suppressionRecord](ctx, s, itemKey(suppressedPK(sh.ID), emailSK(salt, email)), true, &u)
	if err != nil || !found {
		return "", err
	}
	return rec.Reason, nil
}

// salt returns the shop's secret salt for hashing e-mail addresses and
// customer ids, creating it on first use. It never changes, so it is read
// once per process.
func (s *Store) salt(ctx context.Context, shopID string) ([]byte, error) {
	if v, ok := salts.Load(s.table + "\x00" + shopID); ok {
		return v.([]byte), nil
	}
	var u Usage
	rec, found, err := getRecord[struct {
		Salt string `dynamodbav:"suppression_salt"`
	}](ctx, s, itemKey(shopPK(shopID), skShop), true, &u)
	switch {
	case err != nil:
		return nil, fmt.Errorf("salt of shop %s: %w", shopID, err)
	case !found:
		return nil, fmt.Errorf("shop %s: %w", shopID, shop.ErrNotFound)
	case rec.Salt != "":
		return s.keepSalt(shopID, rec.Salt)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("suppression_salt"),
			expression.IfNotExists(expression.Name("suppression_salt"), expression.Value(hex.EncodeToString(fresh))))).
		WithCondition(expression.AttributeExists(expression.Name(attrPK))).
		Build()
	if err != nil {
		return nil, fmt.Errorf("build update: %w", err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       itemKey(shopPK(shopID), skShop),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil, fmt.Errorf("shop %s: %w", shopID, shop.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("salt of shop %s: %w", shopID, err)
	}
	v, ok := out.Attributes["suppression_salt"].(*types.AttributeValueMemberS)
	if !ok {
		return nil, fmt.Errorf("salt of shop %s: missing", shopID)
	}
	return s.keepSalt(shopID, v.Value)
}

// salts caches the shops' salts by table and shop id.
var salts sync.Map

func (s *Store) keepSalt(shopID, encoded string) ([]byte, error) {
	b, err := hex.DecodeString(encoded)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("salt of shop %s: not valid hex", shopID)
	}
	salts.Store(s.table+"\x00"+shopID, b)
	return b, nil
}

// SaltedHash is the hex HMAC-SHA256 of value under salt: what suppression
// records keep instead of an e-mail address or customer id.
func SaltedHash(salt []byte, value string) string {
	mac := hmac.New(sha256.New, salt)
	mac.Write([]byte(value))
	return hex.EncodeToString(mac.Sum(nil))
}
