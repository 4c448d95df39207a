package queue_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/shared/queue"
)

// TestDeadLetters writes dead letters to the SQS emulator and reads them
// back with their reasons.
func TestDeadLetters(t *testing.T) {
	ctx := context.Background()
	q, _ := emulator.SQS(t)
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("deadletters-test-%d", time.Now().UnixNano()))})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(created.QueueUrl)
	dl := queue.NewDeadLetters(q, url)
	long := strings.Repeat("é", 3000) // 6000 bytes: cut to 4096 on a rune boundary
	letters := []struct{ body, reason, want string }{
		{`{"shop_id":"s","campaign_id":"c","send_id":"0123456789abcdef0123"}`, "shop s campaign c send 0123456789abcdef0123: template: subject template, render", ""},
		{`{"shop_id":`, "", "unknown"},
		{"x", long, strings.Repeat("é", 2048)},
	}
	for _, l := range letters {
		if err := dl.Send(ctx, l.body, l.reason); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]string{}
	for range 10 {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			got[aws.ToString(m.Body)] = aws.ToString(m.MessageAttributes[queue.ReasonAttribute].StringValue)
		}
		if len(got) == len(letters) {
			break
		}
	}
	for _, l := range letters {
		want := l.want
		if want == "" {
			want = l.reason
		}
		if r, ok := got[l.body]; !ok || r != want {
			t.Errorf("letter %q: reason %q (found %v), want %q", l.body, r, ok, want)
		}
	}

	// A queue that does not exist: the error names the queue.
	if err := queue.NewDeadLetters(q, url+"-missing").Send(ctx, "b", "r"); err == nil || !strings.Contains(err.Error(), "-missing") {
		t.Errorf("Send to a missing queue: %v", err)
	}
}
