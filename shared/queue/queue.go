// Package queue is winback's SQS adapter for sending work: message bodies
// go out in SendMessageBatch calls of ten, and entries SQS refuses are
// sent again a bounded number of times.
package queue

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// API is the part of the SQS client the queue uses.
type API interface {
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

var _ API = (*sqs.Client)(nil)

// Queue sends messages to one SQS queue.
type Queue struct {
	api         API
	url         string
	maxAttempts int
}

// New returns a queue sending to the queue at url.
func New(api API, url string) *Queue { return &Queue{api: api, url: url, maxAttempts: 5} }

// Send sends bodies, ten to a call. It fails when a call fails or entries
// are still refused after the retries; some bodies may have been sent by
// then (the receivers are idempotent, so sending them again is safe).
func (q *Queue) Send(ctx context.Context, bodies []string) error {
	for len(bodies) > 0 {
		k := min(len(bodies), 10)
		if err := q.sendBatch(ctx, bodies[:k]); err != nil {
			return err
		}
		bodies = bodies[k:]
	}
	return nil
}

func (q *Queue) sendBatch(ctx context.Context, bodies []string) error {
	pending := map[string]string{}
	for i, b := range bodies {
		pending[strconv.Itoa(i)] = b
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt == q.maxAttempts {
			return fmt.Errorf("send to %s: %d messages still refused after %d attempts", q.url, len(pending), attempt)
		}
		if attempt > 0 {
			if err := pause(ctx, attempt); err != nil {
				return err
			}
		}
		entries := make([]sqstypes.SendMessageBatchRequestEntry, 0, len(pending))
		for i := range len(bodies) {
			id := strconv.Itoa(i)
			if b, ok := pending[id]; ok {
				entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(b)})
			}
		}
		out, err := q.api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			return fmt.Errorf("send to %s: %w", q.url, err)
		}
		for _, s := range out.Successful {
			delete(pending, aws.ToString(s.Id))
		}
		for _, f := range out.Failed {
			if f.SenderFault {
				return fmt.Errorf("send to %s: message refused: %s %s", q.url, aws.ToString(f.Code), aws.ToString(f.Message))
			}
		}
	}
	return nil
}

// pause sleeps before retry number attempt: jittered, exponential.
func pause(ctx context.Context, attempt int) error {
	base := time.Duration(20<<min(attempt, 5)) * time.Millisecond
	t := time.NewTimer(base/2 + time.Duration(rand.Int64N(int64(base))))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
