package sqslocal_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/internal/sqslocal"
)

// queues creates a work queue (visibility 1 s, maxReceiveCount 2) and its
// dead-letter queue.
func queues(t *testing.T, q *sqs.Client, name string) (work, dlq string) {
	t.Helper()
	ctx := context.Background()
	name = fmt.Sprintf("sqslocal-%s-%d", name, time.Now().UnixNano())
	d, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	a, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: d.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		"VisibilityTimeout": "1",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"2"}`, a.Attributes["QueueArn"]),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(w.QueueUrl), aws.ToString(d.QueueUrl)
}

func send(t *testing.T, q *sqs.Client, url string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		_, err := q.SendMessage(context.Background(), &sqs.SendMessageInput{
			QueueUrl: aws.String(url), MessageBody: aws.String(b),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("test")}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func drainDLQ(t *testing.T, q *sqs.Client, url string) []string {
	t.Helper()
	out, err := q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, m := range out.Messages {
		bodies = append(bodies, aws.ToString(m.Body))
	}
	slices.Sort(bodies)
	return bodies
}

// TestPoller: successes are deleted, batch item failures and failed
// batches come back and end in the dead-letter queue, messages a handler
// sends are delivered too, and Run returns when the queue is drained.
func TestPoller(t *testing.T) {
	q, _ := emulator.SQS(t)
	ctx := context.Background()
	work, dlq := queues(t, q, "poller")
	var bodies []string
	for i := range 15 {
		bodies = append(bodies, fmt.Sprintf("ok-%02d", i))
	}
	send(t, q, work, append(bodies, "fail-item", "fail-batch")...)

	var mu sync.Mutex
	seen := map[string]int{}
	var batches []int
	handler := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		batches = append(batches, len(ev.Records))
		var resp events.SQSEventResponse
		failBatch := false
		for _, r := range ev.Records {
			seen[r.Body]++
			if r.EventSource != "aws:sqs" || !strings.HasPrefix(r.EventSourceARN, "arn:aws:sqs:") || r.Attributes["ApproximateReceiveCount"] == "" ||
				r.Attributes["SentTimestamp"] == "" || aws.ToString(r.MessageAttributes["kind"].StringValue) != "test" || r.Md5OfBody == "" {
				t.Errorf("record %+v is not shaped as Lambda's", r)
			}
			switch {
			case r.Body == "fail-batch":
				failBatch = true
			case r.Body == "fail-item":
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			case r.Body == "ok-00" && seen[r.Body] == 1:
				send(t, q, work, "sent-by-handler")
			}
		}
		if failBatch {
			return events.SQSEventResponse{}, errors.New("the whole batch fails")
		}
		return resp, nil
	}
	p := &sqslocal.Poller{Client: q, QueueURL: work, Handler: handler, BatchSize: 5, Concurrency: 2}
	t0 := time.Now()
	st, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v in %v, batches %v", st, time.Since(t0).Round(time.Millisecond), batches)
	if out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(work), MaxNumberOfMessages: 10}); err == nil {
		for _, m := range out.Messages {
			t.Logf("left on the queue: %s", aws.ToString(m.Body))
		}
	}
	for _, b := range append(bodies, "sent-by-handler") {
		if seen[b] < 1 {
			t.Errorf("%s not delivered", b)
		}
	}
	if seen["fail-item"] != 2 || seen["fail-batch"] != 2 {
		t.Errorf("fail-item, fail-batch delivered %d and %d times, want 2 (maxReceiveCount)", seen["fail-item"], seen["fail-batch"])
	}
	for _, n := range batches {
		if n > 5 {
			t.Errorf("a batch of %d, BatchSize 5", n)
		}
	}
	got := drainDLQ(t, q, dlq)
	t.Logf("dead letters: %v", got)
	if !slices.Contains(got, "fail-item") || !slices.Contains(got, "fail-batch") {
		t.Errorf("dead letters %v, want fail-item and fail-batch (and what shared their batch)", got)
	}
}

// TestPollerKilled: a Run whose context ends mid-batch deletes nothing of
// that batch; the next Run delivers it again.
func TestPollerKilled(t *testing.T) {
	q, _ := emulator.SQS(t)
	work, _ := queues(t, q, "killed")
	send(t, q, work, "a", "b")
	ctx, kill := context.WithCancel(context.Background())
	p := &sqslocal.Poller{Client: q, QueueURL: work, Handler: func(c context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		kill()
		<-c.Done()
		return events.SQSEventResponse{}, nil
	}}
	if _, err := p.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("killed Run: %v, want context.Canceled", err)
	}
	var got []string
	p.Handler = func(c context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		for _, r := range ev.Records {
			got = append(got, r.Body)
		}
		return events.SQSEventResponse{}, nil
	}
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("after the kill: %v, want a and b again", got)
	}
}

func TestWaitBelowVisibility(t *testing.T) {
	q, _ := emulator.SQS(t)
	work, _ := queues(t, q, "wait")
	p := &sqslocal.Poller{Client: q, QueueURL: work, WaitTimeSeconds: 1, Handler: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}}
	if _, err := p.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "visibility") {
		t.Fatalf("WaitTimeSeconds 1 with a visibility timeout of 1: %v", err)
	}
}
