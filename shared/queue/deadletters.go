package queue

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// ReasonAttribute is the message attribute that says why a dead letter
// could not be handled.
const ReasonAttribute = "reason"

// maxReason bounds a dead letter's reason, in bytes.
const maxReason = 4096

// MessageAPI is the part of the SQS client that DeadLetters uses.
type MessageAPI interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ MessageAPI = (*sqs.Client)(nil)

// DeadLetters writes messages that can never be handled to a dead-letter
// queue, each with why in its "reason" attribute, for an operator (and
// the queue's alarm) to see.
type DeadLetters struct {
	api MessageAPI
	url string
}

// NewDeadLetters returns dead letters written to the queue at url.
func NewDeadLetters(api MessageAPI, url string) *DeadLetters {
	return &DeadLetters{api: api, url: url}
}

// Send writes body to the dead-letter queue with reason (cut to 4 KB).
// The SDK retries a failed call; a letter may then arrive twice.
func (d *DeadLetters) Send(ctx context.Context, body, reason string) error {
	if reason == "" {
		reason = "unknown"
	}
	if len(reason) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	_, err := d.api.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    aws.String(d.url),
		MessageBody: aws.String(body),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			ReasonAttribute: {DataType: aws.String("String"), StringValue: aws.String(reason)},
		},
	})
	if err != nil {
		return fmt.Errorf("dead letter to %s: %w", d.url, err)
	}
	return nil
}
