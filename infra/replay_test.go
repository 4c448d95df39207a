package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/internal/emulator"
	winbackapi "github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/feedback"
	"github.com/winback/winback/shared/campaign/sender"
	"github.com/winback/winback/shared/customer"
	wbmail "github.com/winback/winback/shared/mail"
	"github.com/winback/winback/shared/nightly"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// The functions whose table access is limited by partition key (ingest,
// nightly, send, mailevents) run their handlers here over DynamoDB Local through
// a client that notes every request as IAM authorizes it, and each request
// is evaluated against the function's synthesized statements: a store
// call a handler starts to make on a partition its role does not allow
// fails here, not in AWS. (DynamoDB Local itself does no IAM.)

// request is one DynamoDB request as IAM sees it: an action and the
// partition keys it names.
type request struct {
	action string
	keys   []string
}

// recorder is a store.DB that notes each request before passing it on.
type recorder struct {
	db   *dynamodb.Client
	mu   sync.Mutex
	reqs []request
}

var _ store.DB = (*recorder)(nil)

func (r *recorder) note(action string, keys ...map[string]types.AttributeValue) {
	req := request{action: action}
	for _, k := range keys {
		pk, _ := k["pk"].(*types.AttributeValueMemberS)
		if pk == nil {
			req.keys = append(req.keys, "<no pk>")
			continue
		}
		req.keys = append(req.keys, pk.Value)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
}

func (r *recorder) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

func (r *recorder) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.note(actGetItem, in.Key)
	return r.db.GetItem(ctx, in, o...)
}

func (r *recorder) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	var keys []map[string]types.AttributeValue
	for _, ka := range in.RequestItems {
		keys = append(keys, ka.Keys...)
	}
	r.note(actBatchGetItem, keys...)
	return r.db.BatchGetItem(ctx, in, o...)
}

func (r *recorder) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	// IAM authorizes each item of a transaction as its own action.
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			r.note(actPutItem, it.Put.Item)
		case it.Update != nil:
			r.note(actUpdateItem, it.Update.Key)
		case it.Delete != nil:
			r.note(actDeleteItem, it.Delete.Key)
		case it.ConditionCheck != nil:
			r.note(actConditionCheck, it.ConditionCheck.Key)
		}
	}
	return r.db.TransactWriteItems(ctx, in, o...)
}

// keyCondition is the store's key condition, "#n = :v", maybe followed
// by a sort key condition.
var keyCondition = regexp.MustCompile(`^\(?\s*(#\w+)\s*=\s*(:\w+)`)

func (r *recorder) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	key := map[string]types.AttributeValue{}
	if m := keyCondition.FindStringSubmatch(*in.KeyConditionExpression); m != nil && in.ExpressionAttributeNames[m[1]] == "pk" {
		key["pk"] = in.ExpressionAttributeValues[m[2]]
	}
	r.note(actQuery, key)
	return r.db.Query(ctx, in, o...)
}

func (r *recorder) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	r.note(actUpdateItem, in.Key)
	return r.db.UpdateItem(ctx, in, o...)
}

func (r *recorder) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	r.note(actPutItem, in.Item)
	return r.db.PutItem(ctx, in, o...)
}

func (r *recorder) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	var keys []map[string]types.AttributeValue
	for _, reqs := range in.RequestItems {
		for _, w := range reqs {
			if w.PutRequest != nil {
				keys = append(keys, w.PutRequest.Item)
			}
			if w.DeleteRequest != nil {
				keys = append(keys, w.DeleteRequest.Key)
			}
		}
	}
	r.note(actBatchWriteItem, keys...)
	return r.db.BatchWriteItem(ctx, in, o...)
}

func (r *recorder) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	r.note(actDeleteItem, in.Key)
	return r.db.DeleteItem(ctx, in, o...)
}

var replayTables atomic.Int64

// replayStores returns a store to set a scene up with, and one over the
// same table that records what the function under test asks.
func replayStores(t *testing.T) (setup *store.Store, rec *recorder, recorded *store.Store) {
	t.Helper()
	db := emulator.DynamoDB(t)
	table := fmt.Sprintf("infra-replay-%d-%d", time.Now().UnixNano()%1e6, replayTables.Add(1))
	if err := store.CreateTable(context.Background(), db, table); err != nil {
		t.Fatal(err)
	}
	rec = &recorder{db: db}
	return store.New(db, table), rec, store.New(rec, table)
}

// checkReplay fails the test for every recorded request the function's
// role would be refused, and when nothing was recorded.
func checkReplay(t *testing.T, name string, rec *recorder) {
	t.Helper()
	_, raw := template(t)
	sts := tableStatements(t, raw, roleOf(t, raw, functionID(t, raw, name)))
	reqs := rec.requests()
	if len(reqs) == 0 {
		t.Fatalf("%s made no request", name)
	}
	for _, r := range reqs {
		if !authorized(t, sts, r.action, r.keys...) {
			t.Errorf("%s: %s on %q would be refused by its role", name, r.action, r.keys)
		}
	}
}

// checkCovers fails the test for every action the replay never made:
// what a function's replay must exercise of its role.
func checkCovers(t *testing.T, name string, rec *recorder, actions ...string) {
	t.Helper()
	made := map[string]bool{}
	for _, r := range rec.requests() {
		made[r.action] = true
	}
	for _, a := range actions {
		if !made[a] {
			t.Errorf("%s: the replay made no %s: its code path went untested", name, a)
		}
	}
}

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

func TestIngestRunsWithinItsRole(t *testing.T) {
	// GIVEN a shop with an API key and a Shopify webhook secret
	setup, rec, recorded := replayStores(t)
	ctx := context.Background()
	sh := shop.Shop{ID: shop.NewID(), Name: "Replay", Currency: "USD", Timezone: "UTC", Shards: 4,
		WebhookSecret: "hook-secret", ShopifyDomain: "replay.myshopify.com", CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cred := shop.NewCredentials()
	if err := setup.CreateShop(ctx, sh, cred); err != nil {
		t.Fatal(err)
	}
	h := winbackapi.OrderRoutes(winbackapi.Deps{Shops: recorded, Orders: recorded, Log: quiet,
		Now: func() time.Time { return time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC) }})
	post := func(target, body string, header map[string]string) (int, string) {
		r := httptest.NewRequest("POST", target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	orderJSON := `{"order_id":"R-%d","customer":{"id":"c-%d","email":"c%d@example.com"},"created_at":"2026-10-0%dT00:00:00Z",` +
		`"currency":"USD","total":"%d.00","status":"paid"}`

	// WHEN it posts orders (a batch of two customers' orders, one order
	// claimed by another customer, one updated, one refunded), ...
	key := map[string]string{"Authorization": "Bearer " + cred.APIKey}
	for i, body := range []string{
		`{"orders":[` + fmt.Sprintf(orderJSON, 1, 1, 1, 1, 10) + `,` + fmt.Sprintf(orderJSON, 2, 2, 2, 2, 20) + `]}`,
		`{"orders":[` + fmt.Sprintf(orderJSON, 1, 3, 3, 1, 10) + `]}`,
		`{"orders":[` + fmt.Sprintf(orderJSON, 2, 2, 2, 2, 25) + `]}`,
		`{"orders":[{"order_id":"R-2","customer":{"id":"c-2","email":"c2@example.com"},"created_at":"2026-10-02T00:00:00Z",` +
			`"updated_at":"2026-10-20T00:00:00Z","currency":"USD","total":"25.00","refunded_total":"25.00","status":"refunded"}]}`,
	} {
		if code, body := post("/v1/orders", body, key); code/100 != 2 {
			t.Fatalf("orders %d: %d %s", i, code, body)
		}
	}
	// ... and with an unknown key
	if code, _ := post("/v1/orders", `{"orders":[`+fmt.Sprintf(orderJSON, 9, 9, 9, 1, 10)+`]}`,
		map[string]string{"Authorization": "Bearer " + shop.NewCredentials().APIKey}); code != 401 {
		t.Errorf("unknown key: %d, want 401", code)
	}
	// AND Shopify delivers a webhook twice, a guest's order, then the
	// same order linked to the guest's new account (which moves it and
	// deletes the guest's emptied summary)
	webhook := func(body, topic, id string) (int, string) {
		mac := hmac.New(sha256.New, []byte(sh.WebhookSecret))
		mac.Write([]byte(body))
		return post("/v1/webhooks/shopify/orders?shop="+sh.ID, body, map[string]string{
			"X-Shopify-Hmac-Sha256": base64.StdEncoding.EncodeToString(mac.Sum(nil)), "X-Shopify-Topic": topic,
			"X-Shopify-Shop-Domain": sh.ShopifyDomain, "X-Shopify-Webhook-Id": id})
	}
	hook := `{"id":5001,"email":"mo@example.com","created_at":"2026-10-03T11:59:02-04:00","updated_at":"2026-10-03T12:00:00-04:00",` +
		`"currency":"USD","total_price":"10.00","financial_status":"paid","customer":{"id":6001,"first_name":"Mo"},"line_items":[]}`
	for range 2 {
		if code, body := webhook(hook, "orders/create", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"); code/100 != 2 {
			t.Fatalf("webhook: %d %s", code, body)
		}
	}
	guest := `{"id":5002,"email":"guest@example.com","created_at":"2026-10-04T10:00:00Z","updated_at":"2026-10-04T10:00:00Z",` +
		`"currency":"USD","total_price":"30.00","financial_status":"paid","line_items":[]}`
	linked := `{"id":5002,"email":"guest@example.com","created_at":"2026-10-04T10:00:00Z","updated_at":"2026-10-06T10:00:00Z",` +
		`"currency":"USD","total_price":"30.00","financial_status":"paid","customer":{"id":6002,"first_name":"Gus"},"line_items":[]}`
	for i, d := range []struct{ body, topic, id string }{
		{guest, "orders/create", "0e6c1b9a-guest"}, {linked, "orders/updated", "0e6c1b9a-linked"},
	} {
		if code, body := webhook(d.body, d.topic, d.id); code/100 != 2 {
			t.Fatalf("guest webhook %d: %d %s", i, code, body)
		}
	}
	if _, err := setup.Customer(ctx, sh, order.GuestCustomerID("guest@example.com")); !errors.Is(err, customer.ErrNotFound) {
		t.Errorf("the guest's summary after the move: %v, want it deleted", err)
	}
	if c, err := setup.Customer(ctx, sh, "6002"); err != nil || c.PaidOrders != 1 {
		t.Errorf("the account's summary after the move: %+v, %v", c, err)
	}
	// AND forged webhooks: naming a campaign partition, an unknown shop,
	// a malformed shop id (found missing, not refused by IAM: a 5xx)
	for _, shopID := range []string{sh.ID + "%23CAMPAIGNS", shop.NewID(), "nosuch"} {
		if code, _ := post("/v1/webhooks/shopify/orders?shop="+shopID, hook, map[string]string{"X-Shopify-Hmac-Sha256": "x"}); code != 401 {
			t.Errorf("forged webhook for %q: %d, want 401", shopID, code)
		}
	}

	// THEN its role allows every request it made, and they exercised
	// every action it is allowed
	checkReplay(t, "ingest", rec)
	checkCovers(t, "ingest", rec, actGetItem, actBatchGetItem, actPutItem, actDeleteItem)
}

// noQueue takes the planner's messages.
type noQueue struct{ n atomic.Int64 }

func (q *noQueue) Send(_ context.Context, bodies []string) error {
	q.n.Add(int64(len(bodies)))
	return nil
}

func TestPlannerRunsWithinItsRole(t *testing.T) {
	// GIVEN two shops
	setup, rec, recorded := replayStores(t)
	ctx := context.Background()
	for range 2 {
		sh := shop.Shop{ID: shop.NewID(), Name: "Replay", Currency: "USD", Timezone: "Europe/Berlin", Shards: 4,
			CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		if err := setup.CreateShop(ctx, sh, shop.NewCredentials()); err != nil {
			t.Fatal(err)
		}
	}

	// WHEN the schedule's event plans the night, twice (the second resumes),
	// and once more by force
	q := &noQueue{}
	p := &nightly.Planner{Store: recorded, Queue: q, Log: quiet}
	for _, ev := range []nightly.PlanEvent{
		{ID: "e1", Time: "2026-11-02T02:30:00Z"},
		{ID: "e2", Time: "2026-11-02T02:31:00Z"},
		{ID: "e3", Time: "2026-11-02T02:32:00Z", Detail: nightly.Request{Force: true}},
	} {
		res, err := p.Plan(ctx, ev)
		if err != nil || len(res.Shops) != 2 {
			t.Fatalf("plan %s: %+v, %v", ev.ID, res, err)
		}
	}
	if q.n.Load() == 0 {
		t.Error("no message sent")
	}

	// THEN its role allows every request it made
	checkReplay(t, "nightly", rec)
}

func TestMailEventsRunWithinItsRole(t *testing.T) {
	// GIVEN a shop's campaign, sending, with one mailed recipient
	setup, rec, recorded := replayStores(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	sh := shop.Shop{ID: shop.NewID(), Name: "Replay", Currency: "USD", Timezone: "UTC", Shards: 4, CreatedAt: now.AddDate(-1, 0, 0)}
	if err := setup.CreateShop(ctx, sh, shop.NewCredentials()); err != nil {
		t.Fatal(err)
	}
	const campaignID = "2026-11-01"
	if _, err := setup.BeginCampaign(ctx, campaign.Campaign{ShopID: sh.ID, ID: campaignID, AsOf: campaignID, CreatedAt: now.AddDate(0, 0, -2),
		Status: campaign.StatusSending, Settings: campaign.DefaultSettings()}); err != nil {
		t.Fatal(err)
	}
	var report campaign.Report
	report.MailedGroup.Customers = 1
	if err := setup.PutCampaignReport(ctx, sh.ID, campaignID, report); err != nil {
		t.Fatal(err)
	}
	sendID := campaign.SendID(campaignID, "cust-1")
	if _, err := setup.AddRecipient(ctx, sh, campaign.Recipient{ShopID: sh.ID, CampaignID: campaignID, SendID: sendID, CustomerID: "cust-1",
		Group: campaign.GroupMailed, Kind: campaign.KindWinback, SelectedAt: now.AddDate(0, 0, -2), State: campaign.StateSent,
		SentAt: now.AddDate(0, 0, -1), MessageID: "msg-1"}, now.AddDate(0, 0, -30)); err != nil {
		t.Fatal(err)
	}

	// WHEN SES reports its send, delivery, a hard bounce (which trips the
	// safety valve: 1 of 1) and a complaint
	h := &feedback.Handler{Store: recorded, Log: quiet, Now: func() time.Time { return now }}
	for _, typ := range []string{feedback.TypeSend, feedback.TypeDelivery, feedback.TypeBounce, feedback.TypeComplaint} {
		rec := feedback.Record{EventType: typ, Mail: feedback.Mail{Timestamp: "2026-11-02T09:00:00.500Z", MessageID: "msg-1",
			Destination: []string{"kim@example.com"}, Tags: map[string][]string{
				feedback.TagShop: {sh.ID}, feedback.TagCampaign: {campaignID}, feedback.TagSendID: {sendID}}}}
		who := []feedback.Addressee{{EmailAddress: "kim@example.com"}}
		switch typ {
		case feedback.TypeBounce:
			rec.Bounce = &feedback.Bounce{BounceType: feedback.BouncePermanent, BounceSubType: "General", BouncedRecipients: who, Timestamp: "2026-11-02T09:00:02Z"}
		case feedback.TypeComplaint:
			rec.Complaint = &feedback.Complaint{ComplainedRecipients: who, ComplaintFeedbackType: "abuse", Timestamp: "2026-11-02T10:00:00Z"}
		case feedback.TypeDelivery:
			rec.Delivery = &feedback.Delivery{Timestamp: "2026-11-02T09:00:01Z"}
		}
		detail, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Handle(ctx, events.EventBridgeEvent{ID: "ev-" + typ, Source: feedback.Source, Detail: detail}); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	if stop, err := setup.SendingStop(ctx, sh.ID); err != nil || !stop.InForce() {
		t.Errorf("the valve did not stop the shop's sending: %+v, %v", stop, err)
	}

	// THEN its role allows every request it made
	checkReplay(t, "mailevents", rec)
}

// fakeMail accepts every e-mail, as SES would.
type fakeMail struct{ n atomic.Int64 }

func (m *fakeMail) Send(context.Context, wbmail.Email) (string, error) {
	return fmt.Sprintf("msg-%d", m.n.Add(1)), nil
}

// noDeadLetters fails the test's sends that would be dead-lettered.
type noDeadLetters struct{ t *testing.T }

func (d noDeadLetters) Send(_ context.Context, _, reason string) error {
	d.t.Errorf("dead-lettered: %s", reason)
	return nil
}

func TestSenderRunsWithinItsRole(t *testing.T) {
	// GIVEN a shop's sending campaign with two queued recipients, one of
	// them suppressed, and no token key yet (the sender makes the first)
	setup, rec, recorded := replayStores(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	sh := shop.Shop{ID: shop.NewID(), Name: "Replay", Currency: "USD", Timezone: "UTC", Shards: 4, CreatedAt: now.AddDate(-1, 0, 0)}
	if err := setup.CreateShop(ctx, sh, shop.NewCredentials()); err != nil {
		t.Fatal(err)
	}
	cfg := campaign.DefaultConfig()
	cfg.Settings.From = "Replay <news@replay.example>"
	if err := setup.PutCampaignConfig(ctx, sh.ID, cfg); err != nil {
		t.Fatal(err)
	}
	const campaignID = "2026-12-01"
	if _, err := setup.BeginCampaign(ctx, campaign.Campaign{ShopID: sh.ID, ID: campaignID, AsOf: campaignID, CreatedAt: now.Add(-time.Hour),
		Status: campaign.StatusSending, Settings: cfg.Settings}); err != nil {
		t.Fatal(err)
	}
	var msgs []campaign.SendMessage
	for _, id := range []string{"cust-1", "cust-2"} {
		at := now.AddDate(0, 0, -60)
		o := order.Order{ID: id + "-o1", CreatedAt: at, UpdatedAt: at, Currency: "USD", Total: 5990, Status: order.StatusPaid,
			Customer: order.Customer{ID: id, Email: id + "@example.com", FirstName: "Ada", AcceptsMarketing: true}, Source: order.SourceAPI,
			LineItems: []order.LineItem{{SKU: "MUG", Title: "Enamel mug", Quantity: 2, Price: 2995}}}
		if outs, _, err := setup.PutOrders(ctx, sh, []order.Order{o}, ""); err != nil || outs[0].Err != nil {
			t.Fatalf("put order of %s: %v %v", id, err, outs)
		}
		code, err := campaign.NewCoupon(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		r := campaign.Recipient{ShopID: sh.ID, CampaignID: campaignID, SendID: campaign.SendID(campaignID, id), CustomerID: id,
			Group: campaign.GroupMailed, Kind: campaign.KindWinback, Percent: 15, Coupon: code, ExpiresOn: "2026-12-15",
			SelectedAt: now.Add(-time.Hour), State: campaign.StateQueued}
		if _, err := setup.AddRecipient(ctx, sh, r, now.AddDate(0, 0, -30)); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, campaign.SendMessage{ShopID: sh.ID, CampaignID: campaignID, SendID: r.SendID})
	}
	if err := setup.Suppress(ctx, sh, "cust-2@example.com", "unsubscribed"); err != nil {
		t.Fatal(err)
	}

	// WHEN the sender handles both, and the first once more
	s := &sender.Sender{Store: recorded, Mail: &fakeMail{}, DeadLetters: noDeadLetters{t}, UnsubscribeBase: "https://api.shop.example",
		Log: quiet, Now: func() time.Time { return now }}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []sender.Outcome{sender.OutcomeSent, sender.OutcomeSkipped, sender.OutcomeSettled} {
		if out, err := s.Handle(ctx, msgs[i%2]); out != want || err != nil {
			t.Errorf("message %d: %s, %v; want %s", i, out, err, want)
		}
	}

	// THEN its role allows every request it made, and they exercised
	// every action it is allowed (PutItem: the first token key)
	checkReplay(t, "send", rec)
	checkCovers(t, "send", rec, actGetItem, actQuery, actPutItem, actUpdateItem)
}
