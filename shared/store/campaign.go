package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/shop"
)

// campaignConfigRecord is a shop's campaign.Config as JSON (it is read
// and written whole, never queried into).
type campaignConfigRecord struct {
	PK   string `dynamodbav:"pk"`
	SK   string `dynamodbav:"sk"`
	Type string `dynamodbav:"type"`
	Data string `dynamodbav:"data"`
}

// campaignRecord is a campaign.Campaign. Settings and Report are JSON;
// Shards is a number set, so that marking a shard twice is one ADD.
type campaignRecord struct {
	PK           string `dynamodbav:"pk"`
	SK           string `dynamodbav:"sk"`
	Type         string `dynamodbav:"type"`
	ShopID       string `dynamodbav:"shop_id"`
	CampaignID   string `dynamodbav:"campaign_id"`
	AsOf         string `dynamodbav:"as_of"`
	DryRun       bool   `dynamodbav:"dry_run"`
	CreatedAt    string `dynamodbav:"created_at"`
	Status       string `dynamodbav:"status"`
	PausedReason string `dynamodbav:"paused_reason,omitempty"`
	Settings     string `dynamodbav:"settings"`
	Shards       []int  `dynamodbav:"shards,omitempty,numberset"`
	Report       string `dynamodbav:"report,omitempty"`
	SplitBounces bool   `dynamodbav:"split_bounces,omitempty"`
	// Bounced and Complained are campaign.Feedback (CountFeedback).
	Bounced    int `dynamodbav:"bounced,omitempty"`
	Complained int `dynamodbav:"complained,omitempty"`
}

// Attribute names the campaign and recipient updates name.
const (
	attrStatus       = "status"
	attrPausedReason = "paused_reason"
	attrShards       = "shards"
	attrReport       = "report"
	attrState        = "state"
	attrClaimID      = "claim_id"
	attrEvents       = "events"
	attrLastContact  = "last_contacted_at"
	attrCampaignID   = "campaign_id"
	attrSendID       = "send_id"
	attrTxn          = "txn"
)

// recipientRecord is a campaign.Recipient. Events is always a map (empty
// at first) so that an update can set one event inside it; Txn is the
// ClientRequestToken of the transaction that recorded it, so a caller
// whose answer got lost recognises its own write.
type recipientRecord struct {
	PK         string            `dynamodbav:"pk"`
	SK         string            `dynamodbav:"sk"`
	Type       string            `dynamodbav:"type"`
	ShopID     string            `dynamodbav:"shop_id"`
	CampaignID string            `dynamodbav:"campaign_id"`
	SendID     string            `dynamodbav:"send_id"`
	CustomerID string            `dynamodbav:"customer_id"`
	Group      string            `dynamodbav:"group"`
	Kind       string            `dynamodbav:"kind"`
	Percent    int               `dynamodbav:"percent"`
	Coupon     string            `dynamodbav:"coupon,omitempty"`
	ExpiresOn  string            `dynamodbav:"expires_on,omitempty"`
	SelectedAt string            `dynamodbav:"selected_at"`
	State      string            `dynamodbav:"state"`
	Reason     string            `dynamodbav:"reason,omitempty"`
	ClaimID    string            `dynamodbav:"claim_id,omitempty"`
	AddressKey string            `dynamodbav:"address_key,omitempty"`
	ClaimedAt  string            `dynamodbav:"claimed_at,omitempty"`
	MessageID  string            `dynamodbav:"message_id,omitempty"`
	SentAt     string            `dynamodbav:"sent_at,omitempty"`
	Events     map[string]string `dynamodbav:"events"`
	Txn        string            `dynamodbav:"txn,omitempty"`
	// TTL is when DynamoDB removes the recipient (WithSendRetention).
	TTL int64 `dynamodbav:"ttl,omitempty"`
}

// couponRecord makes a coupon code the shop's for one recipient.
type couponRecord struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Type       string `dynamodbav:"type"`
	CampaignID string `dynamodbav:"campaign_id"`
	CustomerID string `dynamodbav:"customer_id"`
	SendID     string `dynamodbav:"send_id"`
	TTL        int64  `dynamodbav:"ttl,omitempty"`
}

// contactRecord is when a campaign last recorded a customer (for the
// frequency cap). LastContactedAt is in sortableLayout, so that the cap's
// condition can compare it as a string.
type contactRecord struct {
	PK              string `dynamodbav:"pk"`
	SK              string `dynamodbav:"sk"`
	Type            string `dynamodbav:"type"`
	CustomerID      string `dynamodbav:"customer_id"`
	LastContactedAt string `dynamodbav:"last_contacted_at"`
	CampaignID      string `dynamodbav:"campaign_id"`
}

// sortableLayout is RFC 3339 in UTC with all nine fractional digits: its
// strings sort as the times do (timeLayout drops trailing zeros, so its
// strings do not). parseTime reads it.
const sortableLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatSortable(t time.Time) string { return t.UTC().Format(sortableLayout) }

func toCampaignRecord(c campaign.Campaign) (campaignRecord, error) {
	settings, err := json.Marshal(c.Settings)
	if err != nil {
		return campaignRecord{}, fmt.Errorf("encode settings of campaign %s: %w", c.ID, err)
	}
	rec := campaignRecord{
		PK: campaignsPK(c.ShopID), SK: campaignSK(c.ID), Type: "campaign",
		ShopID: c.ShopID, CampaignID: c.ID, AsOf: c.AsOf, DryRun: c.DryRun,
		CreatedAt: formatTime(c.CreatedAt), Status: string(c.Status), PausedReason: c.PausedReason,
		Settings: string(settings), Shards: slices.Clone(c.Shards),
		Bounced: c.Feedback.Bounced, Complained: c.Feedback.Complained, SplitBounces: c.SplitBounces,
	}
	if c.Report != nil {
		report, err := json.Marshal(c.Report)
		if err != nil {
			return campaignRecord{}, fmt.Errorf("encode report of campaign %s: %w", c.ID, err)
		}
		rec.Report = string(report)
	}
	return rec, nil
}

func (r campaignRecord) campaign() (campaign.Campaign, error) {
	c := campaign.Campaign{
		ShopID: r.ShopID, ID: r.CampaignID, AsOf: r.AsOf, DryRun: r.DryRun,
		Status: campaign.Status(r.Status), PausedReason: r.PausedReason,
		Feedback: campaign.Feedback{Bounced: r.Bounced, Complained: r.Complained}, SplitBounces: r.SplitBounces,
	}
	var err error
	if c.CreatedAt, err = parseTime(r.CreatedAt); err != nil {
		return campaign.Campaign{}, fmt.Errorf("campaign %s: created_at: %w", r.CampaignID, err)
	}
	if err := json.Unmarshal([]byte(r.Settings), &c.Settings); err != nil {
		return campaign.Campaign{}, fmt.Errorf("campaign %s: settings: %w", r.CampaignID, err)
	}
	if len(r.Shards) > 0 {
		c.Shards = slices.Clone(r.Shards)
		slices.Sort(c.Shards)
	}
	if r.Report != "" {
		c.Report = new(campaign.Report)
		if err := json.Unmarshal([]byte(r.Report), c.Report); err != nil {
			return campaign.Campaign{}, fmt.Errorf("campaign %s: report: %w", r.CampaignID, err)
		}
	}
	return c, nil
}

func toRecipientRecord(r campaign.Recipient, txn string) recipientRecord {
	events := make(map[string]string, len(r.Events))
	for name, at := range r.Events {
		events[name] = formatTime(at)
	}
	return recipientRecord{
		PK: recipientPK(r.ShopID, r.CampaignID, r.SendID), SK: sendSK(r.SendID), Type: "recipient",
		ShopID: r.ShopID, CampaignID: r.CampaignID, SendID: r.SendID, CustomerID: r.CustomerID,
		Group: string(r.Group), Kind: string(r.Kind), Percent: r.Percent, Coupon: r.Coupon, ExpiresOn: r.ExpiresOn,
		SelectedAt: formatTime(r.SelectedAt), State: string(r.State), Reason: r.Reason,
		ClaimID: r.ClaimID, AddressKey: r.AddressKey, ClaimedAt: formatTime(r.ClaimedAt), MessageID: r.MessageID, SentAt: formatTime(r.SentAt),
		Events: events, Txn: txn,
	}
}

func (r recipientRecord) recipient() (campaign.Recipient, error) {
	out := campaign.Recipient{
		ShopID: r.ShopID, CampaignID: r.CampaignID, SendID: r.SendID, CustomerID: r.CustomerID,
		Group: campaign.Group(r.Group), Kind: campaign.Kind(r.Kind), Percent: r.Percent,
		Coupon: r.Coupon, ExpiresOn: r.ExpiresOn, State: campaign.State(r.State), Reason: r.Reason,
		ClaimID: r.ClaimID, AddressKey: r.AddressKey, MessageID: r.MessageID,
	}
	var err error
	if out.SelectedAt, err = parseTime(r.SelectedAt); err != nil {
		return campaign.Recipient{}, fmt.Errorf("recipient %s: selected_at: %w", r.SendID, err)
	}
	if out.ClaimedAt, err = parseTime(r.ClaimedAt); err != nil {
		return campaign.Recipient{}, fmt.Errorf("recipient %s: claimed_at: %w", r.SendID, err)
	}
	if out.SentAt, err = parseTime(r.SentAt); err != nil {
		return campaign.Recipient{}, fmt.Errorf("recipient %s: sent_at: %w", r.SendID, err)
	}
	if len(r.Events) > 0 {
		out.Events = make(map[string]time.Time, len(r.Events))
		for name, at := range r.Events {
			t, err := parseTime(at)
			if err != nil {
				return campaign.Recipient{}, fmt.Errorf("recipient %s: event %s: %w", r.SendID, name, err)
			}
			out.Events[name] = t
		}
	}
	return out, nil
}

// decodeRecipient reads a raw recipient item.
func decodeRecipient(item map[string]types.AttributeValue) (campaign.Recipient, error) {
	rec, err := decode[recipientRecord](item)
	if err != nil {
		return campaign.Recipient{}, err
	}
	return rec.recipient()
}

// CampaignConfig returns a shop's campaign configuration, or
// campaign.DefaultConfig() when the shop has stored none.
func (s *Store) CampaignConfig(ctx context.Context, shopID string) (campaign.Config, error) {
	var u Usage
	rec, found, err := getRecord[campaignConfigRecord](ctx, s, itemKey(campaignConfigPK(shopID), skCampaignConfig), true, &u)
	if err != nil {
		return campaign.Config{}, fmt.Errorf("get campaign config of %s: %w", shopID, err)
	}
	if !found {
		return campaign.DefaultConfig(), nil
	}
	var c campaign.Config
	if err := json.Unmarshal([]byte(rec.Data), &c); err != nil {
		return campaign.Config{}, fmt.Errorf("campaign config of %s: %w", shopID, err)
	}
	return c, nil
}

// PutCampaignConfig stores a shop's campaign configuration, replacing
// the stored one.
func (s *Store) PutCampaignConfig(ctx context.Context, shopID string, c campaign.Config) error {
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode campaign config of %s: %w", shopID, err)
	}
	item, err := attributevalue.MarshalMap(campaignConfigRecord{PK: campaignConfigPK(shopID), SK: skCampaignConfig, Type: "campaign_config", Data: string(data)})
	if err != nil {
		return fmt.Errorf("encode campaign config of %s: %w", shopID, err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return fmt.Errorf("put campaign config of %s: %w", shopID, err)
	}
	return nil
}

// BeginCampaign creates campaign c when it is not stored yet and returns
// it as stored; a campaign already stored under its id is returned
// unchanged (a run started again resumes it).
func (s *Store) BeginCampaign(ctx context.Context, c campaign.Campaign) (campaign.Campaign, error) {
	var u Usage
	rec, err := toCampaignRecord(c)
	if err != nil {
		return campaign.Campaign{}, err
	}
	ok, err := s.putIf(ctx, rec, expression.AttributeNotExists(expression.Name(attrPK)), &u)
	if err != nil {
		return campaign.Campaign{}, fmt.Errorf("begin campaign %s of %s: %w", c.ID, c.ShopID, err)
	}
	if ok {
		return rec.campaign()
	}
	return s.Campaign(ctx, c.ShopID, c.ID)
}

// Campaign returns one campaign (campaign.ErrNotFound if there is none).
func (s *Store) Campaign(ctx context.Context, shopID, id string) (campaign.Campaign, error) {
	var u Usage
	rec, found, err := getRecord[campaignRecord](ctx, s, itemKey(campaignsPK(shopID), campaignSK(id)), true, &u)
	if err != nil {
		return campaign.Campaign{}, fmt.Errorf("get campaign %s of %s: %w", id, shopID, err)
	}
	if !found {
		return campaign.Campaign{}, fmt.Errorf("campaign %s of %s: %w", id, shopID, campaign.ErrNotFound)
	}
	return rec.campaign()
}

// defaultCampaigns is how many campaigns Campaigns lists without a limit.
const defaultCampaigns = 100

// Campaigns lists a shop's campaigns, newest id first, at most limit of
// them (100 when limit <= 0).
func (s *Store) Campaigns(ctx context.Context, shopID string, limit int) ([]campaign.Campaign, error) {
	if limit <= 0 {
		limit = defaultCampaigns
	}
	var u Usage
	out := []campaign.Campaign{}
	q := query{pk: campaignsPK(shopID), prefix: prefixCampaign, backwards: true, limit: int32(min(limit, 1000))}
	err := s.queryPages(ctx, q, &u, func(items []map[string]types.AttributeValue, _ map[string]types.AttributeValue) (bool, error) {
		for _, it := range items {
			rec, err := decode[campaignRecord](it)
			if err != nil {
				return false, err
			}
			c, err := rec.campaign()
			if err != nil {
				return false, err
			}
			out = append(out, c)
			if len(out) == limit {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list campaigns of %s: %w", shopID, err)
	}
	return out, nil
}

// MarkCampaignShard records that shard n's selection of a campaign is
// recorded in full; marking it again changes nothing
// (campaign.ErrNotFound if there is no such campaign).
func (s *Store) MarkCampaignShard(ctx context.Context, shopID, id string, shard int) error {
	set := types.AttributeValueMemberNS{Value: []string{strconv.Itoa(shard)}}
	_, err := s.updateCampaign(ctx, shopID, id,
		expression.Add(expression.Name(attrShards), expression.Value(set)),
		expression.AttributeExists(expression.Name(attrPK)), types.ReturnValueNone)
	if err != nil {
		return fmt.Errorf("mark shard %d of campaign %s: %w", shard, id, err)
	}
	return nil
}

// SetCampaignStatus moves a campaign to status to, when its status is in
// from (any status when from is empty), and sets its paused reason
// (cleared when reason is ""). It returns the updated campaign, or the
// current one with an error wrapping campaign.ErrStateChanged when the
// campaign was in another status (campaign.ErrNotFound when there is none).
func (s *Store) SetCampaignStatus(ctx context.Context, shopID, id string, from []campaign.Status, to campaign.Status, reason string) (campaign.Campaign, error) {
	update := expression.Set(expression.Name(attrStatus), expression.Value(string(to)))
	if reason != "" {
		update = update.Set(expression.Name(attrPausedReason), expression.Value(reason))
	} else {
		update = update.Remove(expression.Name(attrPausedReason))
	}
	cond := expression.AttributeExists(expression.Name(attrPK))
	if len(from) > 0 {
		cond = cond.And(inValues(attrStatus, from))
	}
	c, err := s.updateCampaign(ctx, shopID, id, update, cond, types.ReturnValueAllNew)
	if err != nil {
		return c, fmt.Errorf("set status of campaign %s to %s: %w", id, to, err)
	}
	return c, nil
}

// PutCampaignReport replaces a campaign's report (campaign.ErrNotFound if
// there is no such campaign).
func (s *Store) PutCampaignReport(ctx context.Context, shopID, id string, r campaign.Report) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode report of campaign %s: %w", id, err)
	}
	_, err = s.updateCampaign(ctx, shopID, id,
		expression.Set(expression.Name(attrReport), expression.Value(string(data))),
		expression.AttributeExists(expression.Name(attrPK)), types.ReturnValueNone)
	if err != nil {
		return fmt.Errorf("put report of campaign %s: %w", id, err)
	}
	return nil
}

// updateCampaign applies update to a campaign under cond (which includes
// attribute_exists(pk)). When cond fails it returns the current campaign
// with campaign.ErrStateChanged, or campaign.ErrNotFound when there is
// none. With ReturnValueNone the campaign returned is the zero value.
func (s *Store) updateCampaign(ctx context.Context, shopID, id string, update expression.UpdateBuilder, cond expression.ConditionBuilder, rv types.ReturnValue) (campaign.Campaign, error) {
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return campaign.Campaign{}, fmt.Errorf("build update: %w", err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 itemKey(campaignsPK(shopID), campaignSK(id)),
		UpdateExpression:                    expr.Update(),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValues:                        rv,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		item := ccf.Item
		if item == nil { // an emulator without ReturnValuesOnConditionCheckFailure
			var u Usage
			rec, found, err := getRecord[campaignRecord](ctx, s, itemKey(campaignsPK(shopID), campaignSK(id)), true, &u)
			if err != nil {
				return campaign.Campaign{}, err
			}
			if !found {
				return campaign.Campaign{}, campaign.ErrNotFound
			}
			c, err := rec.campaign()
			if err != nil {
				return campaign.Campaign{}, err
			}
			return c, fmt.Errorf("%w: campaign %s is %s", campaign.ErrStateChanged, id, c.Status)
		}
		rec, err := decode[campaignRecord](item)
		if err != nil {
			return campaign.Campaign{}, err
		}
		c, err := rec.campaign()
		if err != nil {
			return campaign.Campaign{}, err
		}
		return c, fmt.Errorf("%w: campaign %s is %s", campaign.ErrStateChanged, id, c.Status)
	}
	if err != nil {
		return campaign.Campaign{}, err
	}
	if rv == types.ReturnValueNone {
		return campaign.Campaign{}, nil
	}
	rec, err := decode[campaignRecord](out.Attributes)
	if err != nil {
		return campaign.Campaign{}, err
	}
	return rec.campaign()
}

// inValues is the condition "attribute name is one of values".
func inValues[V ~string](name string, values []V) expression.ConditionBuilder {
	ops := make([]expression.OperandBuilder, len(values))
	for i, v := range values {
		ops[i] = expression.Value(string(v))
	}
	return expression.Name(name).In(ops[0], ops[1:]...)
}

// AddRecipient records a recipient of a campaign in one transaction with
// what it reserves: its coupon code (unique within the shop) and the
// customer's contact for the frequency cap, which must be absent, older
// than capSince, or already this campaign's. A dry run's recipient
// (campaign.StateDryRun) reserves neither: it keeps its code, for previews,
// but the code stays free for real recipients.
//
// created is true when everything was written, false when the recipient
// was already recorded (a resumed run; nothing is written). Otherwise
// nothing is written and the error wraps campaign.ErrContacted (the
// customer was contacted by another campaign since capSince) or
// campaign.ErrCouponTaken (the code is taken: draw another). The
// transaction carries a ClientRequestToken, which the recipient keeps, so
// that a write of this call whose answer was lost is recognised as done.
func (s *Store) AddRecipient(ctx context.Context, sh shop.Shop, r campaign.Recipient, capSince time.Time) (created bool, err error) {
	if r.ShopID != sh.ID {
		return false, fmt.Errorf("add recipient %s: of shop %s, not %s", r.SendID, r.ShopID, sh.ID)
	}
	if !campaign.ValidSendID(r.SendID) {
		return false, fmt.Errorf("add recipient %q: not a send id", r.SendID)
	}
	var u Usage
	token, err := newRequestToken()
	if err != nil {
		return false, err
	}
	tokens := map[string]bool{} // this call's tokens: a recipient holding one is this call's
	var unknown error           // the last failure that may hide a commit
	for attempt := 0; attempt < s.maxAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return false, err
			}
		}
		items, err := s.recipientItems(sh, r, capSince, token)
		if err != nil {
			return false, err
		}
		tokens[token] = true
		out, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems:          items,
			ClientRequestToken:     aws.String(token),
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err == nil {
			addWrite(&u, out.ConsumedCapacity...)
			return true, nil
		}
		u.RoundTrips++
		var tc *types.TransactionCanceledException
		switch {
		case errors.As(err, &tc):
			reasons := tc.CancellationReasons
			failed := func(i int) bool {
				return i >= 0 && i < len(reasons) && aws.ToString(reasons[i].Code) == "ConditionalCheckFailed"
			}
			couponAt, contactAt := -1, -1
			if reserves(r) {
				contactAt = len(items) - 1
				if r.Coupon != "" {
					couponAt = 1
				}
			}
			switch {
			case failed(0):
				return s.ownRecipient(ctx, r, reasons[0].Item, tokens, &u)
			case failed(contactAt):
				return false, fmt.Errorf("add recipient %s of campaign %s (customer %s): %w", r.SendID, r.CampaignID, r.CustomerID, campaign.ErrContacted)
			case failed(couponAt):
				return false, fmt.Errorf("add recipient %s of campaign %s (customer %s): %w", r.SendID, r.CampaignID, r.CustomerID, campaign.ErrCouponTaken)
			case retryable(err): // a concurrent transaction on one of the items
				if token, err = newRequestToken(); err != nil {
					return false, err
				}
				continue
			}
			return false, fmt.Errorf("add recipient %s of campaign %s: %w", r.SendID, r.CampaignID, err)
		case tokenClash(err) || retryable(err):
			if token, err = newRequestToken(); err != nil {
				return false, err
			}
			unknown = nil
		case !definite(err):
			// It may have committed: the same token again is answered as
			// the first one was within DynamoDB's ten minutes; after them,
			// the recipient's txn tells.
			unknown = err
		default:
			return false, fmt.Errorf("add recipient %s of campaign %s: %w", r.SendID, r.CampaignID, err)
		}
	}
	if unknown != nil {
		return false, fmt.Errorf("add recipient %s of campaign %s: %w", r.SendID, r.CampaignID, unknown)
	}
	return false, fmt.Errorf("add recipient %s of campaign %s: %w", r.SendID, r.CampaignID, ErrContention)
}

// recipientItems are AddRecipient's writes: the recipient and, unless it
// is a dry run's, its coupon (when it has one) and its contact, in this
// order (the order of the cancellation reasons).
func (s *Store) recipientItems(sh shop.Shop, r campaign.Recipient, capSince time.Time, token string) ([]types.TransactWriteItem, error) {
	notExists := expression.AttributeNotExists(expression.Name(attrPK))
	rr := toRecipientRecord(r, token)
	rr.TTL = s.sendExpiry(r.SelectedAt)
	rec, err := attributevalue.MarshalMap(rr)
	if err != nil {
		return nil, fmt.Errorf("encode recipient %s: %w", r.SendID, err)
	}
	put, err := s.conditionalPut(rec, notExists)
	if err != nil {
		return nil, err
	}
	put.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	items := []types.TransactWriteItem{{Put: put}}
	if !reserves(r) {
		return items, nil
	}
	if r.Coupon != "" {
		item, err := attributevalue.MarshalMap(couponRecord{
			PK: couponPK(sh.ID, r.Coupon), SK: skCoupon, Type: "coupon",
			CampaignID: r.CampaignID, CustomerID: r.CustomerID, SendID: r.SendID,
			TTL: s.sendExpiry(r.SelectedAt),
		})
		if err != nil {
			return nil, fmt.Errorf("encode coupon of %s: %w", r.SendID, err)
		}
		put, err := s.conditionalPut(item, notExists)
		if err != nil {
			return nil, err
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	contact, err := attributevalue.MarshalMap(contactRecord{
		PK: contactPK(sh, r.CustomerID), SK: contactSK(r.CustomerID), Type: "contact",
		CustomerID: r.CustomerID, LastContactedAt: formatSortable(r.SelectedAt), CampaignID: r.CampaignID,
	})
	if err != nil {
		return nil, fmt.Errorf("encode contact of %s: %w", r.SendID, err)
	}
	cond := expression.Or(notExists,
		expression.Name(attrLastContact).LessThan(expression.Value(formatSortable(capSince))),
		expression.Name(attrCampaignID).Equal(expression.Value(r.CampaignID)))
	if put, err = s.conditionalPut(contact, cond); err != nil {
		return nil, err
	}
	return append(items, types.TransactWriteItem{Put: put}), nil
}

// reserves reports whether recording r reserves its coupon code and the
// customer's contact: a dry run's recipient reserves nothing.
func reserves(r campaign.Recipient) bool { return r.State != campaign.StateDryRun }

// ownRecipient answers AddRecipient when the recipient is stored already:
// created when it was written by one of this call's transactions (whose
// answer was lost), not created otherwise. stored is the item the
// cancellation returned (nil if the emulator returns none).
func (s *Store) ownRecipient(ctx context.Context, r campaign.Recipient, stored map[string]types.AttributeValue, tokens map[string]bool, u *Usage) (bool, error) {
	txn := stringAttr(stored, attrTxn)
	if stored == nil {
		rec, found, err := getRecord[recipientRecord](ctx, s, itemKey(recipientPK(r.ShopID, r.CampaignID, r.SendID), sendSK(r.SendID)), true, u)
		if err != nil {
			return false, fmt.Errorf("add recipient %s of campaign %s: %w", r.SendID, r.CampaignID, err)
		}
		if !found {
			return false, fmt.Errorf("add recipient %s of campaign %s: %w", r.SendID, r.CampaignID, ErrContention)
		}
		txn = rec.Txn
	}
	return tokens[txn], nil
}

// newRequestToken is a fresh ClientRequestToken for one AddRecipient
// call: the call's own retries reuse it, so that DynamoDB answers a retry
// of a committed transaction as it answered the first; a later call (a
// resumed run) gets another, and finds the recipient recorded.
func newRequestToken() (string, error) {
	b := make([]byte, 27)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("request token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Recipient returns one recipient of a campaign (campaign.ErrNotFound if
// there is none).
func (s *Store) Recipient(ctx context.Context, shopID, campaignID, sendID string) (campaign.Recipient, error) {
	var u Usage
	rec, found, err := getRecord[recipientRecord](ctx, s, itemKey(recipientPK(shopID, campaignID, sendID), sendSK(sendID)), true, &u)
	if err != nil {
		return campaign.Recipient{}, fmt.Errorf("get recipient %s of campaign %s: %w", sendID, campaignID, err)
	}
	if !found {
		return campaign.Recipient{}, fmt.Errorf("recipient %s of campaign %s: %w", sendID, campaignID, campaign.ErrNotFound)
	}
	return rec.recipient()
}

// Recipients calls fn with every recipient of a campaign, bucket by
// bucket, in send id order within a bucket; an error from fn stops the
// listing and is returned.
func (s *Store) Recipients(ctx context.Context, shopID, campaignID string, fn func(campaign.Recipient) error) error {
	var u Usage
	for b := range campaign.Buckets {
		err := s.queryItems(ctx, query{pk: recipientsPK(shopID, campaignID, b), prefix: prefixSend}, &u, func(it map[string]types.AttributeValue) error {
			r, err := decodeRecipient(it)
			if err != nil {
				return err
			}
			return errStop{fn(r)}.orNil()
		})
		var stop errStop
		if errors.As(err, &stop) {
			return stop.err
		}
		if err != nil {
			return fmt.Errorf("list recipients of campaign %s: %w", campaignID, err)
		}
	}
	return nil
}

// errStop carries the error of a caller's function through a listing,
// so that it is returned as it is, without the listing's context.
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

func (e errStop) orNil() error {
	if e.err == nil {
		return nil
	}
	return e
}

// MaxRecipientPage is the most recipients BucketRecipients returns.
const MaxRecipientPage = 1000

// BucketRecipients returns one page of a campaign's recipients in bucket
// b, in send id order, after the recipient afterSendID ("" from the
// start), at most limit of them (limit is brought within 1 and
// MaxRecipientPage).
func (s *Store) BucketRecipients(ctx context.Context, shopID, campaignID string, bucket int, afterSendID string, limit int) ([]campaign.Recipient, error) {
	if bucket < 0 || bucket >= campaign.Buckets {
		return nil, fmt.Errorf("recipients of campaign %s: no bucket %d", campaignID, bucket)
	}
	limit = min(max(limit, 1), MaxRecipientPage)
	var u Usage
	q := query{pk: recipientsPK(shopID, campaignID, bucket), prefix: prefixSend, limit: int32(limit)}
	if afterSendID != "" {
		q.start = itemKey(q.pk, sendSK(afterSendID))
	}
	out := []campaign.Recipient{}
	err := s.queryPages(ctx, q, &u, func(items []map[string]types.AttributeValue, _ map[string]types.AttributeValue) (bool, error) {
		for _, it := range items {
			r, err := decodeRecipient(it)
			if err != nil {
				return false, err
			}
			out = append(out, r)
			if len(out) == limit {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list bucket %d of campaign %s: %w", bucket, campaignID, err)
	}
	return out, nil
}

// ChangeRecipient applies a conditional change to one recipient in one
// conditional update, with exactly campaign.Change.Apply's meaning, and
// returns the recipient as changed. When the condition does not hold it
// returns the current recipient and an error wrapping
// campaign.ErrStateChanged; campaign.ErrNotFound when there is none.
func (s *Store) ChangeRecipient(ctx context.Context, shopID, campaignID, sendID string, ch campaign.Change) (campaign.Recipient, error) {
	if strings.ContainsAny(ch.Event, ".[]") {
		return campaign.Recipient{}, fmt.Errorf("change recipient %s: bad event name %q", sendID, ch.Event)
	}
	cond := expression.AttributeExists(expression.Name(attrPK))
	if len(ch.From) > 0 {
		cond = cond.And(inValues(attrState, ch.From))
	}
	if ch.Claim != "" {
		cond = cond.And(expression.Name(attrClaimID).Equal(expression.Value(ch.Claim)))
	}
	if ch.NewEvent && ch.Event != "" {
		cond = cond.And(expression.AttributeNotExists(expression.Name(attrEvents + "." + ch.Event)))
	}
	// A change of nothing still checks its condition; "type" is rewritten
	// as it is.
	update := expression.Set(expression.Name("type"), expression.Value("recipient"))
	set := func(name, value string) {
		if value != "" {
			update = update.Set(expression.Name(name), expression.Value(value))
		}
	}
	set(attrState, string(ch.To))
	set(attrClaimID, ch.NewClaim)
	set("address_key", ch.AddressKey)
	set("claimed_at", formatTime(ch.ClaimedAt))
	set("message_id", ch.MessageID)
	set("sent_at", formatTime(ch.SentAt))
	set("reason", ch.Reason)
	if ch.Event != "" {
		ev := expression.Name(attrEvents + "." + ch.Event)
		update = update.Set(ev, expression.IfNotExists(ev, expression.Value(formatTime(ch.EventAt))))
	}
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return campaign.Recipient{}, fmt.Errorf("build update: %w", err)
	}
	key := itemKey(recipientPK(shopID, campaignID, sendID), sendSK(sendID))
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key,
		UpdateExpression:                    expr.Update(),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		cur, found, err := s.currentRecipient(ctx, key, ccf.Item)
		if err != nil {
			return campaign.Recipient{}, fmt.Errorf("change recipient %s of campaign %s: %w", sendID, campaignID, err)
		}
		if !found {
			return campaign.Recipient{}, fmt.Errorf("recipient %s of campaign %s: %w", sendID, campaignID, campaign.ErrNotFound)
		}
		// Apply says why, as the in-memory store does.
		if _, err := ch.Apply(cur); err != nil {
			return cur, err
		}
		return cur, fmt.Errorf("%w: recipient %s changed meanwhile", campaign.ErrStateChanged, sendID)
	}
	if err != nil {
		return campaign.Recipient{}, fmt.Errorf("change recipient %s of campaign %s: %w", sendID, campaignID, err)
	}
	return decodeRecipient(out.Attributes)
}

// currentRecipient is the recipient a failed condition returned (item),
// or, from an emulator that returns none, the one stored now.
func (s *Store) currentRecipient(ctx context.Context, key, item map[string]types.AttributeValue) (campaign.Recipient, bool, error) {
	if item == nil {
		var u Usage
		rec, found, err := getRecord[recipientRecord](ctx, s, key, true, &u)
		if err != nil || !found {
			return campaign.Recipient{}, false, err
		}
		r, err := rec.recipient()
		return r, true, err
	}
	r, err := decodeRecipient(item)
	return r, true, err
}

// Contacts calls fn with every customer of shard n of the shop that a
// campaign recorded, and when it last did, in customer id order.
func (s *Store) Contacts(ctx context.Context, sh shop.Shop, shard int, fn func(customerID string, at time.Time) error) error {
	var u Usage
	err := s.queryItems(ctx, query{pk: contactsPK(sh.ID, shard), prefix: prefixContact}, &u, func(it map[string]types.AttributeValue) error {
		rec, err := decode[contactRecord](it)
		if err != nil {
			return err
		}
		at, err := parseTime(rec.LastContactedAt)
		if err != nil {
			return fmt.Errorf("contact of %s: %w", rec.CustomerID, err)
		}
		return errStop{fn(rec.CustomerID, at)}.orNil()
	})
	var stop errStop
	if errors.As(err, &stop) {
		return stop.err
	}
	if err != nil {
		return fmt.Errorf("list contacts of shard %d of %s: %w", shard, sh.ID, err)
	}
	return nil
}

// CouponOwner returns the campaign and customer a coupon code of the shop
// was given to (campaign.ErrNotFound if it is nobody's).
func (s *Store) CouponOwner(ctx context.Context, shopID, code string) (campaignID, customerID string, err error) {
	var u Usage
	rec, found, err := getRecord[couponRecord](ctx, s, itemKey(couponPK(shopID, code), skCoupon), false, &u)
	if err != nil {
		return "", "", fmt.Errorf("get coupon of %s: %w", shopID, err)
	}
	if !found {
		return "", "", fmt.Errorf("coupon of %s: %w", shopID, campaign.ErrNotFound)
	}
	return rec.CampaignID, rec.CustomerID, nil
}

// Summaries reads the summaries of the given customers of the shop, 100
// to a BatchGetItem, eventually consistent. Customers without a summary
// are left out of the map.
func (s *Store) Summaries(ctx context.Context, sh shop.Shop, ids []string) (map[string]customer.Summary, error) {
	var u Usage
	out := make(map[string]customer.Summary, len(ids))
	seen := make(map[string]bool, len(ids))
	var keys []map[string]types.AttributeValue
	flush := func() error {
		items, err := s.batchGet(ctx, keys, false, &u)
		if err != nil {
			return err
		}
		for _, it := range items {
			rec, err := decode[summaryRecord](it)
			if err != nil {
				return err
			}
			sum, err := rec.summary()
			if err != nil {
				return err
			}
			out[sum.CustomerID] = sum
		}
		keys = keys[:0]
		return nil
	}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		keys = append(keys, itemKey(customerPK(sh, id), customerSK(id)))
		if len(keys) == 100 {
			if err := flush(); err != nil {
				return nil, fmt.Errorf("read summaries of %s: %w", sh.ID, err)
			}
		}
	}
	if len(keys) > 0 {
		if err := flush(); err != nil {
			return nil, fmt.Errorf("read summaries of %s: %w", sh.ID, err)
		}
	}
	return out, nil
}

// SuppressionList reads the shop's suppressed addresses once and returns
// a lookup of an address's suppression reason ("" when it may be mailed),
// as Suppressed answers it.
func (s *Store) SuppressionList(ctx context.Context, sh shop.Shop) (func(email string) string, error) {
	salt, err := s.salt(ctx, sh.ID)
	if err != nil {
		return nil, err
	}
	var u Usage
	reasons := map[string]string{}
	err = s.queryItems(ctx, query{pk: suppressedPK(sh.ID), prefix: prefixEmail}, &u, func(it map[string]types.AttributeValue) error {
		reasons[stringAttr(it, attrSK)] = stringAttr(it, "reason")
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read suppression list of %s: %w", sh.ID, err)
	}
	return func(email string) string { return reasons[emailSK(salt, email)] }, nil
}
