package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/ingest"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// The credentials the sample events in events/ were made with.
const (
	sampleKey           = "wbk_sampleevents0001_sample-events-secret-not-for-production-use"
	sampleShopID        = "shop_sampleevent"
	sampleWebhookSecret = "whsec-sample-events-only"
	sampleShopDomain    = "sample-events.myshopify.com"
)

var tableSeq atomic.Int64

type fixture struct {
	handler http.Handler
	st      *store.Store
	sh      shop.Shop
	db      *dynamodb.Client
	table   string
}

// newFixture provisions the sample events' shop in a fresh table on
// DynamoDB Local and wires the handler to it.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db := emulator.DynamoDB(t)
	table := fmt.Sprintf("ingest-test-%d-%d", time.Now().UnixNano()%1e6, tableSeq.Add(1))
	if err := store.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	st := store.New(db, table)
	keyID, secret, err := shop.SplitKey(sampleKey)
	if err != nil {
		t.Fatal(err)
	}
	sh := shop.Shop{ID: sampleShopID, Name: "Sample events", Currency: "USD", Timezone: "America/New_York",
		Shards: 4, WebhookSecret: sampleWebhookSecret, ShopifyDomain: sampleShopDomain, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cred := shop.Credentials{KeyID: keyID, KeyHash: shop.HashSecret(secret)}
	if err := st.CreateShop(ctx, sh, cred); err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, sh: sh, db: db, table: table}
	f.handler = api.Routes(api.Deps{
		Shops: st, Orders: st, Reports: st, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Now: func() time.Time { return time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC) },
	})
	return f
}

// invoke runs raw event JSON through the Lambda runtime's own handler
// wrapper, exactly as the deployed function receives it.
func (f *fixture) invoke(t *testing.T, payload []byte) events.APIGatewayV2HTTPResponse {
	t.Helper()
	out, err := lambda.NewHandler(httpapi.LambdaHandler(f.handler)).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	return resp
}

func (f *fixture) itemCount(t *testing.T) int {
	t.Helper()
	out, err := f.db.Scan(context.Background(), &dynamodb.ScanInput{
		TableName: aws.String(f.table), Select: "COUNT", ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return int(out.Count)
}

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type respBody struct {
	httpapi.Problem
	Result     string          `json:"result"`
	OrderID    string          `json:"order_id"`
	CustomerID string          `json:"customer_id"`
	Results    []ingest.Result `json:"results"`
	Counts     map[string]int  `json:"counts"`
}

func pointers(fe []httpapi.FieldError) []string {
	var ps []string
	for _, e := range fe {
		ps = append(ps, e.Pointer)
	}
	return ps
}

// TestSampleEvents replays every sample event in events/ in order against
// one shop; each step checks the response and what it wrote.
func TestSampleEvents(t *testing.T) {
	f := newFixture(t)
	steps := []struct {
		event  string
		status int
		writes bool   // whether the table may gain items
		result string // the "result" member of a single order's answer
		check  func(t *testing.T, b respBody)
	}{
		{"apigw/orders-create-single.json", 201, true, "created", func(t *testing.T, b respBody) {
			if b.Result != "created" || b.OrderID != "1001" || b.CustomerID != "cust-42" {
				t.Errorf("body %+v", b)
			}
		}},
		{"apigw/orders-create-single.json", 200, false, "unchanged", nil},
		{"apigw/orders-refund.json", 200, false, "updated", nil},
		{"apigw/orders-conflict.json", 409, false, "", func(t *testing.T, b respBody) {
			if b.Type != httpapi.TypeConflict {
				t.Errorf("type %q", b.Type)
			}
		}},
		{"apigw/orders-batch-mixed.json", 200, true, "", func(t *testing.T, b respBody) {
			if len(b.Results) != 3 || b.Results[0].Status != "created" || b.Results[1].Status != "created" || b.Results[2].Status != "rejected" {
				t.Fatalf("results %+v", b.Results)
			}
			got := pointers(b.Results[2].Error.Errors)
			want := []string{"/orders/2/customer/email", "/orders/2/total"}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("pointers %v, want %v", got, want)
			}
		}},
		{"apigw/orders-base64-body.json", 201, true, "created", nil},
		{"apigw/orders-malformed-json.json", 400, false, "", func(t *testing.T, b respBody) {
			if b.Type != httpapi.TypeMalformed {
				t.Errorf("type %q", b.Type)
			}
		}},
		{"apigw/orders-missing-key.json", 401, false, "", nil},
		{"apigw/orders-wrong-key.json", 401, false, "", nil},
		{"apigw/orders-wrong-content-type.json", 415, false, "", nil},
		{"apigw/orders-invalid.json", 422, false, "", func(t *testing.T, b respBody) {
			got := strings.Join(pointers(b.Errors), " ")
			for _, p := range []string{"/order_id", "/customer/email", "/created_at", "/currency", "/total", "/status"} {
				if !strings.Contains(got+" ", p+" ") {
					t.Errorf("no field error at %s in %s", p, got)
				}
			}
		}},
		{"shopify/orders-create.json", 200, true, "created", func(t *testing.T, b respBody) {
			if b.OrderID != "820982911946154508" || b.CustomerID != "115310627314723954" {
				t.Errorf("Shopify ids must stay exact: %+v", b)
			}
		}},
		{"shopify/orders-create-redelivered.json", 200, false, "duplicate", nil},
		{"shopify/orders-updated-partial-refund.json", 200, true, "updated", nil},
		{"shopify/orders-create-bad-signature.json", 401, false, "", nil},
	}
	replayed := map[string]bool{}
	for _, s := range steps {
		replayed[s.event] = true
	}
	// The order routes' events; events/apigw/unsubscribe-* are replayed by
	// shared/campaign/web, events/scheduler and events/sqs by
	// shared/nightly/stages.
	all, _ := filepath.Glob(filepath.Join("..", "..", "events", "apigw", "orders-*.json"))
	shopify, _ := filepath.Glob(filepath.Join("..", "..", "events", "shopify", "*.json"))
	all = append(all, shopify...)
	for _, f := range all {
		name := filepath.ToSlash(f)[len("../../events/"):]
		if !replayed[name] {
			t.Errorf("sample event %s is not replayed by this test", name)
		}
	}
	for i, s := range steps {
		t.Run(fmt.Sprintf("%02d %s", i, s.event), func(t *testing.T) {
			before := f.itemCount(t)
			resp := f.invoke(t, readEvent(t, s.event))
			if resp.StatusCode != s.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, s.status, resp.Body)
			}
			wantType := "application/json"
			if s.status >= 400 {
				wantType = httpapi.ProblemContentType
			}
			if ct := resp.Headers["Content-Type"]; ct != wantType {
				t.Fatalf("Content-Type %q, want %q", ct, wantType)
			}
			var b respBody
			if err := json.Unmarshal([]byte(resp.Body), &b); err != nil {
				t.Fatalf("body %q: %v", resp.Body, err)
			}
			if s.status >= 400 && (b.Status != s.status || b.Title == "" || b.Type == "") {
				t.Fatalf("not a problem document: %s", resp.Body)
			}
			if after := f.itemCount(t); !s.writes && after != before {
				t.Fatalf("%d items written by a request that must write nothing", after-before)
			}
			if b.Result != s.result {
				t.Fatalf("result %q, want %q", b.Result, s.result)
			}
			if s.check != nil {
				s.check(t, b)
			}
		})
	}

	ctx := context.Background()
	ada, err := f.st.Customer(ctx, f.sh, "cust-42")
	if err != nil {
		t.Fatal(err)
	}
	if ada.PaidOrders != 1 || ada.TotalSpend != 1200 || ada.Email != "ada@example.com" {
		t.Errorf("cust-42 after a paid order, its refund and a 12.00 order: %+v", ada)
	}
	grace, _ := f.st.Customer(ctx, f.sh, "cust-7")
	if grace.PurchaseDays != 2 || grace.RepeatSpend != 3550 || !grace.AcceptsMarketing {
		t.Errorf("cust-7: %+v", grace)
	}
	jon, err := f.st.Customer(ctx, f.sh, "115310627314723954")
	if err != nil || jon.TotalSpend != 15800 || jon.FirstName != "Jon" || !jon.AcceptsMarketing {
		t.Errorf("Shopify customer after a 41.00 refund of 199.00: %+v, %v", jon, err)
	}
}

func TestSampleShopifyEventsAreSignedWithTheSampleSecret(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", "..", "events", "shopify"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(readEvent(t, "shopify/"+e.Name()), &ev); err != nil {
			t.Fatal(err)
		}
		valid := ingest.ValidShopifySignature([]byte(ev.Body), ev.Headers["x-shopify-hmac-sha256"], sampleWebhookSecret)
		if want := !strings.Contains(e.Name(), "bad-signature"); valid != want {
			t.Errorf("%s: signature valid = %v, want %v", e.Name(), valid, want)
		}
	}
}

func TestRequestProblems(t *testing.T) {
	f := newFixture(t)
	order := `{"order_id":"A-%d","customer":{"id":"c-1"},"created_at":"2026-10-01T00:00:00Z","currency":"USD","total":"1.00","status":"paid"}`
	post := func(path, body string, headers map[string]string) events.APIGatewayV2HTTPResponse {
		h := map[string]string{"authorization": "Bearer " + sampleKey, "content-type": "application/json"}
		for k, v := range headers {
			h[k] = v
		}
		req := events.APIGatewayV2HTTPRequest{RawPath: path, Headers: h, Body: body}
		req.RequestContext.HTTP.Method = http.MethodPost
		resp, err := httpapi.LambdaHandler(f.handler)(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var many []string
	for i := range 101 {
		many = append(many, fmt.Sprintf(order, i))
	}
	huge := `{"orders":[` + strings.Repeat(fmt.Sprintf(order, 1)+",", 9000) + fmt.Sprintf(order, 2) + `]}`
	allBad := `{"orders":[{"order_id":""},{"order_id":"x","total":"-1"}]}`

	tests := []struct {
		name, path, body string
		headers          map[string]string
		status           int
	}{
		{"body over 1 MiB", "/v1/orders", huge, nil, 413},
		{"more than 100 orders", "/v1/orders", `{"orders":[` + strings.Join(many, ",") + `]}`, nil, 422},
		{"every order of a batch invalid", "/v1/orders", allBad, nil, 422},
		{"empty body", "/v1/orders", "", nil, 400},
		{"JSON array at the top", "/v1/orders", `[1,2]`, nil, 400},
		{"lower-case bearer works", "/v1/orders", fmt.Sprintf(order, 7), map[string]string{"authorization": "bearer " + sampleKey}, 201},
		{"basic auth is not a key", "/v1/orders", fmt.Sprintf(order, 8), map[string]string{"authorization": "Basic Zm9vOmJhcg=="}, 401},
		{"unknown route", "/v1/nothing", "{}", nil, 404},
		{"webhook without shop", "/v1/webhooks/shopify/orders", "{}", map[string]string{"x-shopify-hmac-sha256": "AAAA"}, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.itemCount(t)
			resp := post(tc.path, tc.body, tc.headers)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tc.status, resp.Body)
			}
			if tc.status >= 400 {
				var p httpapi.Problem
				if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.Status != tc.status || resp.Headers["Content-Type"] != httpapi.ProblemContentType {
					t.Fatalf("not a problem document: %s", resp.Body)
				}
				if after := f.itemCount(t); after != before {
					t.Fatalf("a rejected request wrote %d items", after-before)
				}
			}
		})
	}
}
