package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/campaign"
)

// skSendingStop is the item, in the shop's campaigns partition, that
// records the safety valve's last stop of the shop's sending
// (campaign.Stop); it sorts apart from the CAMPAIGN# items.
const skSendingStop = "SENDING_STOP"

// sendingStopRecord is a shop's last stop: the campaign.Stop as JSON, with
// the two fields the conditions read beside it.
type sendingStopRecord struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Type       string `dynamodbav:"type"`
	CampaignID string `dynamodbav:"campaign_id"`
	Lifted     bool   `dynamodbav:"lifted"`
	Data       string `dynamodbav:"data"`
}

// StopSending stops the shop's sending with stop, unless a stop is in
// force (the first stays) or the last stop, lifted, was tripped by the
// same campaign (an operator lifted it knowing that campaign's figures).
// It returns the shop's stop after the call and whether this call
// recorded it.
func (s *Store) StopSending(ctx context.Context, shopID string, stop campaign.Stop) (campaign.Stop, bool, error) {
	stop.At = stop.At.UTC()
	stop.LiftedAt = nil
	data, err := json.Marshal(stop)
	if err != nil {
		return campaign.Stop{}, false, fmt.Errorf("encode sending stop of %s: %w", shopID, err)
	}
	var u Usage
	cond := expression.AttributeNotExists(expression.Name(attrPK)).Or(
		expression.Name("lifted").Equal(expression.Value(true)).
			And(expression.Name("campaign_id").NotEqual(expression.Value(stop.CampaignID))))
	ok, err := s.putIf(ctx, sendingStopRecord{PK: campaignsPK(shopID), SK: skSendingStop, Type: "sending_stop",
		CampaignID: stop.CampaignID, Data: string(data)}, cond, &u)
	if err != nil {
		return campaign.Stop{}, false, fmt.Errorf("stop sending of %s: %w", shopID, err)
	}
	if ok {
		return stop, true, nil
	}
	cur, err := s.SendingStop(ctx, shopID)
	// Our own put, whose answer was lost and whose SDK retry then failed
	// its condition, is still ours to report (and to log once).
	mine := err == nil && cur.InForce() && cur.CampaignID == stop.CampaignID && cur.At.Equal(stop.At) && cur.Reason == stop.Reason
	return cur, mine, err
}

// SendingStop returns the shop's last stop, in force or lifted, or
// campaign.ErrNotFound when it was never stopped.
func (s *Store) SendingStop(ctx context.Context, shopID string) (campaign.Stop, error) {
	var u Usage
	rec, found, err := getRecord[sendingStopRecord](ctx, s, itemKey(campaignsPK(shopID), skSendingStop), true, &u)
	if err != nil {
		return campaign.Stop{}, fmt.Errorf("get sending stop of %s: %w", shopID, err)
	}
	if !found {
		return campaign.Stop{}, campaign.ErrNotFound
	}
	var stop campaign.Stop
	if err := json.Unmarshal([]byte(rec.Data), &stop); err != nil {
		return campaign.Stop{}, fmt.Errorf("sending stop of %s: %w", shopID, err)
	}
	return stop, nil
}

// LiftSendingStop lifts the stop in force on the shop's sending (an
// operator's decision) and returns it as lifted: campaign.ErrNotFound when
// none is in force.
func (s *Store) LiftSendingStop(ctx context.Context, shopID string, at time.Time) (campaign.Stop, error) {
	cur, err := s.SendingStop(ctx, shopID)
	if err != nil {
		return campaign.Stop{}, err
	}
	if !cur.InForce() {
		return cur, campaign.ErrNotFound
	}
	at = at.UTC()
	cur.LiftedAt = &at
	data, err := json.Marshal(cur)
	if err != nil {
		return campaign.Stop{}, fmt.Errorf("encode sending stop of %s: %w", shopID, err)
	}
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("lifted"), expression.Value(true)).
			Set(expression.Name("data"), expression.Value(string(data)))).
		WithCondition(expression.Name("lifted").Equal(expression.Value(false)).
			And(expression.Name("campaign_id").Equal(expression.Value(cur.CampaignID)))).
		Build()
	if err != nil {
		return campaign.Stop{}, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: itemKey(campaignsPK(shopID), skSendingStop),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return campaign.Stop{}, fmt.Errorf("lift sending stop of %s: %w", shopID, ErrContention)
	}
	if err != nil {
		return campaign.Stop{}, fmt.Errorf("lift sending stop of %s: %w", shopID, err)
	}
	return cur, nil
}

// CountFeedback adds one to the campaign's count of hard bounces
// (campaign.EventBounced) or complaints (campaign.EventComplained) and
// returns the campaign as counted (campaign.ErrNotFound when there is no
// such campaign). The caller counts each recipient's event once
// (campaign.Change.NewEvent).
func (s *Store) CountFeedback(ctx context.Context, shopID, campaignID, event string) (campaign.Campaign, error) {
	attr, err := feedbackAttr(event)
	if err != nil {
		return campaign.Campaign{}, err
	}
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Add(expression.Name(attr), expression.Value(1))).
		WithCondition(expression.AttributeExists(expression.Name(attrPK))).
		Build()
	if err != nil {
		return campaign.Campaign{}, err
	}
	// No SDK retry: an ADD applied whose answer was lost would be added
	// again. A count lost instead (the caller's retry finds the event
	// recorded and counts nothing) is the safe side: the nightly valve
	// recounts from the recipients.
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: itemKey(campaignsPK(shopID), campaignSK(campaignID)),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnValues: types.ReturnValueAllNew,
	}, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return campaign.Campaign{}, fmt.Errorf("campaign %s of shop %s: %w", campaignID, shopID, campaign.ErrNotFound)
	}
	if err != nil {
		return campaign.Campaign{}, fmt.Errorf("count %s of campaign %s of shop %s: %w", event, campaignID, shopID, err)
	}
	rec, err := decode[campaignRecord](out.Attributes)
	if err != nil {
		return campaign.Campaign{}, err
	}
	return rec.campaign()
}

// feedbackAttr is the campaign attribute that counts an event.
func feedbackAttr(event string) (string, error) {
	switch event {
	case campaign.EventBounced:
		return "bounced", nil
	case campaign.EventComplained:
		return "complained", nil
	}
	return "", fmt.Errorf("count feedback: %q is not a hard bounce or a complaint", event)
}
