package sender_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/sender"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store/memstore"
)

// The sample events' shop, campaign and customers.
const sampleShop = "shop_samp1esend0"

// TestSampleEvents replays events/sqs/send-*.json, in order, through the
// send function's entry point (lambda.NewHandler(s.Work).Invoke) and
// checks each answer and what it did.
func TestSampleEvents(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	sh := shop.Shop{ID: sampleShop, Name: "Bean & Leaf", Currency: "EUR", Timezone: "Europe/Berlin", Shards: 4, CreatedAt: t0.AddDate(0, -6, 0)}
	if err := st.CreateShop(ctx, sh, shop.NewCredentials()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, sh: sh}
	putConfig(f, func(*campaign.Config) {})
	c, err := st.BeginCampaign(ctx, campaign.Campaign{ShopID: sh.ID, ID: campaignID, AsOf: campaignID, CreatedAt: t0.Add(-time.Hour), Status: campaign.StatusSending})
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	for _, cust := range []struct {
		id      string
		consent bool
	}{{"cust-ada", true}, {"cust-kim", false}, {"cust-lee", true}} {
		at := t0.AddDate(0, -2, 0)
		o := order.Order{ID: cust.id + "-1", CreatedAt: at, UpdatedAt: at, Currency: "EUR", Total: 2495, Status: order.StatusPaid, Source: order.SourceAPI,
			Customer:  order.Customer{ID: cust.id, Email: cust.id + "@example.com", FirstName: "Sam", AcceptsMarketing: cust.consent},
			LineItems: []order.LineItem{{Title: "Enamel mug", Quantity: 1, Price: 2495}}}
		if _, _, err := st.PutOrders(ctx, sh, []order.Order{o}, ""); err != nil {
			t.Fatal(err)
		}
		f.recipient(cust.id, nil)
	}
	lee := campaign.SendMessage{ShopID: sampleShop, CampaignID: campaignID, SendID: campaign.SendID(campaignID, "cust-lee")}
	f.force(lee, campaign.Change{To: campaign.StateSending, NewClaim: "another-sender", ClaimedAt: t0})

	mailer, dl := &fakeMailer{}, &fakeDeadLetters{}
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "events", "sqs", "send-*.json"))
	steps := []struct {
		file string
		now  time.Time
		// failed are the indexes of the records that fail.
		failed []int
		// states after the step, by customer; emails and letters in all.
		states  map[string]campaign.State
		emails  int
		letters int
	}{
		{file: "send-batch.json", now: t0, failed: []int{3}, emails: 1, letters: 1, states: map[string]campaign.State{
			"cust-ada": campaign.StateSent, "cust-kim": campaign.StateSkipped, "cust-lee": campaign.StateSending}},
		// Delivered again after the visibility timeout and the claim's lease.
		{file: "send-redelivered.json", now: t0.Add(campaign.ClaimLease + time.Minute), emails: 1, letters: 1, states: map[string]campaign.State{
			"cust-ada": campaign.StateSent, "cust-lee": campaign.StateInDoubt}},
	}
	var inTable, onDisk []string
	for _, s := range steps {
		inTable = append(inTable, s.file)
	}
	for _, f := range files {
		onDisk = append(onDisk, filepath.Base(f))
	}
	slices.Sort(onDisk)
	slices.Sort(inTable)
	if !slices.Equal(onDisk, inTable) {
		t.Fatalf("sample events %v, replayed %v: keep them in step", onDisk, inTable)
	}

	for _, step := range steps {
		raw, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "sqs", step.file))
		if err != nil {
			t.Fatal(err)
		}
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v", step.file, err)
		}
		checkSQSEvent(t, step.file, ev)
		s := &sender.Sender{Store: st, Mail: mailer, DeadLetters: dl, UnsubscribeBase: unsubBase, Rate: 1000,
			Now: func() time.Time { return step.now }, Log: testLog(t)}
		out, err := lambda.NewHandler(s.Work).Invoke(ctx, raw)
		if err != nil {
			t.Fatalf("%s: %v", step.file, err)
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("%s: answer %s: %v", step.file, out, err)
		}
		want := []string{}
		for _, i := range step.failed {
			want = append(want, ev.Records[i].MessageId)
		}
		if got := failures(resp); !slices.Equal(append([]string{}, got...), want) || !strings.Contains(string(out), `"batchItemFailures":[`) {
			t.Fatalf("%s: answer %s, want failures %v", step.file, out, want)
		}
		for cust, state := range step.states {
			m := campaign.SendMessage{ShopID: sampleShop, CampaignID: campaignID, SendID: campaign.SendID(campaignID, cust)}
			if r := f.get(m); r.State != state {
				t.Errorf("%s: %s is %s, want %s", step.file, cust, r.State, state)
			}
		}
		if n, l := len(mailer.emails()), len(dl.all()); n != step.emails || l != step.letters {
			t.Errorf("%s: %d e-mails and %d dead letters in all, want %d and %d", step.file, n, l, step.emails, step.letters)
		}
	}
}

// checkSQSEvent checks a sample SQS batch is shaped as Lambda delivers it.
func checkSQSEvent(t *testing.T, name string, ev events.SQSEvent) {
	t.Helper()
	if len(ev.Records) == 0 || len(ev.Records) > 10 {
		t.Fatalf("%s: %d records", name, len(ev.Records))
	}
	for _, r := range ev.Records {
		sum := md5.Sum([]byte(r.Body))
		if r.MessageId == "" || r.ReceiptHandle == "" || r.EventSource != "aws:sqs" || r.AWSRegion == "" ||
			!strings.HasPrefix(r.EventSourceARN, "arn:aws:sqs:"+r.AWSRegion+":") || r.Md5OfBody != hex.EncodeToString(sum[:]) ||
			r.Attributes["ApproximateReceiveCount"] == "" || r.Attributes["SentTimestamp"] == "" {
			t.Errorf("%s: record %s is not shaped as Lambda delivers it", name, r.MessageId)
		}
	}
}
