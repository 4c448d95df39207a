package stages_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/winback/winback/shared/nightly"
	"github.com/winback/winback/shared/nightly/stages"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store/memstore"
)

// sampleShop is the shop the sample events name.
const sampleShop = "shop_samp1e4shards"

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSampleEvents replays every sample event of events/scheduler and
// events/sqs, in the order a night delivers them, through the functions'
// real entry points (lambda.NewHandler(...).Invoke), and checks each
// answer.
func TestSampleEvents(t *testing.T) {
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Berlin")
	simOnce.Do(func() { sim = simulate(600, 42, asOf, loc) })
	ms := memstore.New()
	sh := shop.Shop{ID: sampleShop, Name: "Sample", Currency: "EUR", Timezone: "Europe/Berlin", Shards: 4, CreatedAt: now}
	if err := ms.CreateShop(ctx, sh, shop.NewCredentials()); err != nil {
		t.Fatal(err)
	}
	sim.putAll(t, func(sh shop.Shop, os []order.Order) error {
		_, _, err := ms.PutOrders(ctx, sh, os, "")
		return err
	}, sh)
	q := &fakeQueue{}
	planner := lambda.NewHandler((&nightly.Planner{Store: ms, Queue: q}).Plan)
	worker := lambda.NewHandler((&stages.Worker{Store: ms, Queue: q, Workers: 1}).Work)

	// Every file is in the table, and the table names only files.
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "events", "s[cq]*", "*.json"))
	var onDisk []string
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "send-") {
			continue // the campaign sender's, replayed by shared/campaign/sender
		}
		onDisk = append(onDisk, filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f))
	}
	steps := []struct {
		file string
		// for the scheduler: the action and messages; for SQS: the
		// indexes of the records that fail.
		action   string
		messages int
		failed   []int
		// sent is the kind of the messages the step sends on.
		sent string
	}{
		{file: "scheduler/nightly.json", action: nightly.ActionStarted, messages: 4, sent: "map"},
		{file: "sqs/map-batch.json", sent: "fit"},
		{file: "sqs/redelivered-map.json", sent: "fit"}, // shard 2 is mapped: the fit is sent again, harmlessly
		{file: "sqs/fit.json", sent: "score"},
		{file: "sqs/score-batch.json", sent: "finish"},
		{file: "sqs/finish.json"},
		{file: "sqs/poison-batch.json", failed: []int{1, 2, 3}},
		{file: "scheduler/nightly-rerun-one-shop.json", action: nightly.ActionStarted, messages: 4, sent: "map"},
	}
	var inTable []string
	for _, s := range steps {
		inTable = append(inTable, s.file)
	}
	slices.Sort(onDisk)
	slices.Sort(inTable)
	if !slices.Equal(onDisk, inTable) {
		t.Fatalf("sample events %v, replayed %v: keep them in step", onDisk, inTable)
	}

	for _, step := range steps {
		raw := readEvent(t, step.file)
		q.mu.Lock()
		q.queued = nil
		q.mu.Unlock()
		if strings.HasPrefix(step.file, "scheduler/") {
			var ev nightly.PlanEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatalf("%s: %v", step.file, err)
			}
			roundTrip(t, step.file, raw, ev)
			out, err := planner.Invoke(ctx, raw)
			if err != nil {
				t.Fatalf("%s: %v", step.file, err)
			}
			var res nightly.PlanResult
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("%s: answer %s: %v", step.file, out, err)
			}
			if len(res.Shops) != 1 || res.Shops[0].AsOf != asOf || res.Shops[0].Action != step.action || res.Messages != step.messages {
				t.Fatalf("%s: %s, want %s of %s with %d messages", step.file, out, step.action, asOf, step.messages)
			}
		} else {
			var ev events.SQSEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatalf("%s: %v", step.file, err)
			}
			checkSQSEvent(t, step.file, ev)
			out, err := worker.Invoke(ctx, raw)
			if err != nil {
				t.Fatalf("%s: %v", step.file, err)
			}
			var resp events.SQSEventResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("%s: answer %s: %v", step.file, out, err)
			}
			var want []string
			for _, i := range step.failed {
				want = append(want, ev.Records[i].MessageId)
			}
			var got []string
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: batch item failures %v, want %v (answer %s)", step.file, got, want, out)
			}
		}
		var kinds []string
		for _, m := range q.queued {
			msg, err := nightly.ParseMessage(m.body)
			if err != nil {
				t.Fatalf("%s sent %q: %v", step.file, m.body, err)
			}
			if !slices.Contains(kinds, string(msg.Kind)) {
				kinds = append(kinds, string(msg.Kind))
			}
		}
		if want := strings.Fields(step.sent); !slices.Equal(kinds, want) {
			t.Fatalf("%s: sent %v, want %v", step.file, kinds, want)
		}
		if step.file == "sqs/finish.json" {
			run, err := ms.Run(ctx, sampleShop, asOf)
			if err != nil || !run.Done || run.Failed != "" {
				t.Fatalf("after the finish: %+v, %v", run, err)
			}
			if days, _ := ms.Days(ctx, sh, 1); len(days) != 1 || days[0].AsOf != asOf {
				t.Fatalf("after the finish: days %v", days)
			}
		}
	}
}

// roundTrip checks that decoding and encoding a sample loses nothing.
func roundTrip(t *testing.T, name string, raw []byte, v any) {
	t.Helper()
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal(raw, &a)
	_ = json.Unmarshal(again, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%s does not round-trip:\n%s\n%s", name, raw, again)
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
