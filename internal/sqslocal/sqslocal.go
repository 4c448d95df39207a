// Package sqslocal delivers messages from an SQS queue to a Lambda SQS
// handler the way Lambda's event source mapping does, for tests and local
// runs against the SQS emulator (local-aws-sqs) or SQS itself.
//
// A Poller receives batches, invokes the handler through
// lambda.NewHandler(h).Invoke with the batch encoded as the JSON event
// Lambda sends, deletes the messages that succeeded and leaves the rest:
// the messages named in BatchItemFailures, and the whole batch when the
// handler returns an error, panics or answers with an identifier that is
// not in the batch. Those reappear after the queue's visibility timeout, and
// the queue's redrive policy moves them to its dead-letter queue after
// maxReceiveCount receives. Run returns once the queue is drained: nothing
// visible, nothing in flight, nothing delayed.
//
// What it does about the emulator's quirks (internal/emulator/sqs_test.go):
// it asks for system attributes with both AttributeNames and
// MessageSystemAttributeNames; it keeps WaitTimeSeconds below the queue's
// visibility timeout (by default it short-polls and sleeps between empty
// polls, as the emulator holds a long poll for its whole wait unless the
// batch is full); it never calls ChangeMessageVisibility (the emulator
// counts it as a receive); it reads the queue's depth as the emulator
// reports it (in-flight messages counted in ApproximateNumberOfMessages),
// which is also right on SQS; and it drops a message that comes back twice
// in one receive.
package sqslocal

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Handler is a Lambda SQS handler that reports batch item failures.
type Handler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// Client is the part of the SQS client the poller uses.
type Client interface {
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

var _ Client = (*sqs.Client)(nil)

// Poller delivers one queue's messages to one handler.
type Poller struct {
	Client   Client
	QueueURL string
	Handler  Handler
	// BatchSize is the most messages in one invocation (default 10).
	// Above 10, a batch is gathered from several receives, as Lambda does
	// with a batching window.
	BatchSize int
	// Concurrency is how many invocations may run at once (default 1),
	// like the event source mapping's maximum concurrency.
	Concurrency int
	// WaitTimeSeconds is each receive's long poll (default 0: short polls,
	// with IdlePause between empty ones). It must stay below the queue's
	// visibility timeout.
	WaitTimeSeconds int32
	// IdlePause is the pause after an empty receive (default 50 ms).
	IdlePause time.Duration
	// Region goes into each record's awsRegion (default us-east-1).
	Region string
	// Log, when set, gets one line per batch.
	Log *slog.Logger
}

// Stats is what a Run delivered.
type Stats struct {
	Batches   int // handler invocations
	Messages  int // messages delivered (a redelivery counts again)
	Deleted   int // messages deleted after success
	Failed    int // messages left for redelivery as batch item failures
	BatchErrs int // invocations whose whole batch was left (error, panic, bad response)
}

func (s *Stats) add(o Stats) {
	s.Batches += o.Batches
	s.Messages += o.Messages
	s.Deleted += o.Deleted
	s.Failed += o.Failed
	s.BatchErrs += o.BatchErrs
}

// Run delivers messages until the queue is drained or ctx ends. When ctx
// ends, batches being handled are abandoned without deleting anything, as
// when a Lambda is killed: their messages reappear after the visibility
// timeout. The error is ctx's, or a failure to talk to the queue.
func (p *Poller) Run(ctx context.Context) (Stats, error) {
	arn, visibility, err := p.queue(ctx)
	if err != nil {
		return Stats{}, err
	}
	if p.WaitTimeSeconds > 0 && p.WaitTimeSeconds >= visibility {
		return Stats{}, fmt.Errorf("sqslocal: WaitTimeSeconds %d must be below the queue's visibility timeout %d (the emulator would deliver a message twice in one receive)", p.WaitTimeSeconds, visibility)
	}
	outer := ctx
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		mu       sync.Mutex
		total    Stats
		firstErr error
		busy     int // workers receiving or handling a batch
		empty    int // consecutive drained observations with nobody busy
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil && outer.Err() == nil {
			firstErr = err
		}
		mu.Unlock()
		stop()
	}
	for range max(p.Concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				busy++
				mu.Unlock()
				msgs, err := p.receive(ctx)
				if err == nil && len(msgs) > 0 {
					var st Stats
					st, err = p.deliver(ctx, arn, msgs)
					mu.Lock()
					total.add(st)
					mu.Unlock()
				}
				mu.Lock()
				busy--
				if len(msgs) > 0 {
					empty = 0
				}
				idle := busy == 0
				mu.Unlock()
				if err != nil {
					fail(err)
					return
				}
				if len(msgs) > 0 {
					continue
				}
				if idle {
					drained, err := p.drained(ctx)
					if err != nil {
						fail(err)
						return
					}
					mu.Lock()
					// Another worker may have received in the meantime; and a
					// message just sent may not be counted yet anywhere, so
					// the queue must look drained twice in a row.
					if drained && busy == 0 {
						empty++
					} else {
						empty = 0
					}
					done := empty >= 2
					mu.Unlock()
					if done {
						stop()
						return
					}
				}
				sleep(ctx, p.idlePause())
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return total, firstErr
	}
	return total, outer.Err()
}

func (p *Poller) idlePause() time.Duration {
	if p.IdlePause > 0 {
		return p.IdlePause
	}
	return 50 * time.Millisecond
}

// queue reads the queue's ARN and visibility timeout.
func (p *Poller) queue(ctx context.Context) (arn string, visibility int32, err error) {
	out, err := p.Client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(p.QueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameQueueArn, sqstypes.QueueAttributeNameVisibilityTimeout,
		},
	})
	if err != nil {
		return "", 0, fmt.Errorf("sqslocal: attributes of %s: %w", p.QueueURL, err)
	}
	v, err := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameVisibilityTimeout)])
	if err != nil {
		return "", 0, fmt.Errorf("sqslocal: visibility timeout of %s: %w", p.QueueURL, err)
	}
	return out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], int32(v), nil
}

// drained reports whether the queue holds no message at all: visible, in
// flight or delayed. The emulator counts a message it has just stored as
// delayed until its next tick, hence the delayed count too.
func (p *Poller) drained(ctx context.Context) (bool, error) {
	out, err := p.Client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(p.QueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return false, fmt.Errorf("sqslocal: depth of %s: %w", p.QueueURL, err)
	}
	for _, v := range out.Attributes {
		if v != "0" {
			return false, nil
		}
	}
	return true, nil
}

// receive gathers up to BatchSize messages: one receive, then more while
// receives come back full.
func (p *Poller) receive(ctx context.Context) ([]sqstypes.Message, error) {
	size := p.BatchSize
	if size <= 0 {
		size = 10
	}
	var msgs []sqstypes.Message
	seen := map[string]bool{}
	for len(msgs) < size {
		n := int32(min(size-len(msgs), 10))
		out, err := p.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.QueueURL),
			MaxNumberOfMessages:         n,
			WaitTimeSeconds:             p.WaitTimeSeconds,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			//lint:ignore SA1019 local-aws-sqs 2.0.2 reads only AttributeNames (internal/emulator/sqs_test.go).
			AttributeNames:        []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("sqslocal: receive from %s: %w", p.QueueURL, err)
		}
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if seen[id] {
				continue
			}
			seen[id] = true
			msgs = append(msgs, m)
		}
		if int32(len(out.Messages)) < n {
			break
		}
	}
	return msgs, nil
}

// deliver invokes the handler with one batch and deletes what succeeded.
func (p *Poller) deliver(ctx context.Context, arn string, msgs []sqstypes.Message) (Stats, error) {
	st := Stats{Batches: 1, Messages: len(msgs)}
	ev := p.event(arn, msgs)
	failed, err := p.invoke(ctx, ev)
	if ctx.Err() != nil {
		return st, ctx.Err() // killed mid-batch: nothing is deleted
	}
	var done []sqstypes.Message
	switch {
	case err != nil:
		st.BatchErrs++
		st.Failed += len(msgs)
	default:
		for _, m := range msgs {
			if failed[aws.ToString(m.MessageId)] {
				st.Failed++
			} else {
				done = append(done, m)
			}
		}
	}
	if p.Log != nil {
		attrs := []any{"queue", p.QueueURL, "messages", len(msgs), "failed", st.Failed}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		}
		p.Log.InfoContext(ctx, "sqslocal batch", attrs...)
	}
	n, derr := p.delete(ctx, done)
	st.Deleted = n
	return st, derr
}

// invoke runs the handler through the Lambda runtime's entry point with
// the event as JSON. It returns the failed message ids, or an error when
// the whole batch failed.
func (p *Poller) invoke(ctx context.Context, ev events.SQSEvent) (failed map[string]bool, err error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	out, err := invokeRecovering(ctx, p.Handler, payload)
	if err != nil {
		return nil, err
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("decode response %s: %w", out, err)
	}
	in := map[string]bool{}
	for _, r := range ev.Records {
		in[r.MessageId] = true
	}
	failed = map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		if !in[f.ItemIdentifier] {
			// Lambda fails the whole batch on an empty or unknown identifier.
			return nil, fmt.Errorf("batch item failure %q is not a message of the batch", f.ItemIdentifier)
		}
		failed[f.ItemIdentifier] = true
	}
	return failed, nil
}

func invokeRecovering(ctx context.Context, h Handler, payload []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return lambda.NewHandler(h).Invoke(ctx, payload)
}

// event is the batch as Lambda's SQS event.
func (p *Poller) event(arn string, msgs []sqstypes.Message) events.SQSEvent {
	region := p.Region
	if region == "" {
		region = "us-east-1"
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		attrs := map[string]string{}
		for _, k := range []string{"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
			"SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "AWSTraceHeader", "DeadLetterQueueSourceArn"} {
			if v, ok := m.Attributes[k]; ok {
				attrs[k] = v
			}
		}
		mattrs := map[string]events.SQSMessageAttribute{}
		for k, v := range m.MessageAttributes {
			mattrs[k] = events.SQSMessageAttribute{
				StringValue: v.StringValue, BinaryValue: v.BinaryValue,
				StringListValues: nonNil(v.StringListValues), BinaryListValues: nonNilBytes(v.BinaryListValues),
				DataType: aws.ToString(v.DataType),
			}
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Md5OfBody: aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             attrs, MessageAttributes: mattrs,
			EventSourceARN: arn, EventSource: "aws:sqs", AWSRegion: region,
		})
	}
	return ev
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilBytes(s [][]byte) [][]byte {
	if s == nil {
		return [][]byte{}
	}
	return s
}

// delete deletes messages in batches of 10 with their latest receipt
// handles, and returns how many were deleted. A failed entry is left to
// reappear (and be delivered again: handlers are idempotent).
func (p *Poller) delete(ctx context.Context, msgs []sqstypes.Message) (int, error) {
	n := 0
	for len(msgs) > 0 {
		k := min(len(msgs), 10)
		entries := make([]sqstypes.DeleteMessageBatchRequestEntry, k)
		for i, m := range msgs[:k] {
			entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
		}
		out, err := p.Client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.QueueURL), Entries: entries})
		if err != nil {
			return n, fmt.Errorf("sqslocal: delete from %s: %w", p.QueueURL, err)
		}
		n += len(out.Successful)
		msgs = msgs[k:]
	}
	return n, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
