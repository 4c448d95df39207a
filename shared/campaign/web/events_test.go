package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/web"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// What the sample events in events/apigw/unsubscribe-*.json were made
// with: the sample shop of events/ (see shared/ingest's tests), its
// customer cust-42 and campaign 2026-11-01, and a token key that is a
// test fixture, not a secret.
const (
	sampleShopID   = "shop_sampleevent"
	sampleCustomer = "cust-42"
	sampleEmail    = "ada@example.com"
	sampleCampaign = "2026-11-01"
	sampleTokenKey = "winback-sample-events-token-key-not-for-production-use"
)

// sampleKeyStore is the DynamoDB store with the sample events' token key
// in place of the table's own.
type sampleKeyStore struct{ *store.Store }

func (sampleKeyStore) TokenKeys(context.Context) (campaign.TokenKeys, error) {
	return campaign.TokenKeys{{Version: 1, Key: []byte(sampleTokenKey)}}, nil
}

// TestSampleEvents replays every events/apigw/unsubscribe-*.json through
// the Lambda runtime's handler wrapper and the API Gateway adapter, as the
// api function receives them, against DynamoDB Local.
func TestSampleEvents(t *testing.T) {
	ctx := context.Background()
	st := dynamoStore(t).(*store.Store)
	sh := shop.Shop{ID: sampleShopID, Name: "Sample events", Currency: "USD", Timezone: "America/New_York", Shards: 4,
		CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := st.CreateShop(ctx, sh, shop.NewCredentials()); err != nil {
		t.Fatal(err)
	}
	putCustomer(t, st, sh, sampleCustomer, sampleEmail)
	beginCampaign(t, st, sh, sampleCampaign)
	addRecipient(t, st, sh, sampleCampaign, sampleCustomer, campaign.GroupMailed, coupon(42))
	d := api.Deps{Shops: st, Campaigns: sampleKeyStore{st}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Now: func() time.Time { return now }}
	invoke := lambda.NewHandler(httpapi.LambdaHandler(api.Routes(d)))

	steps := []struct {
		file       string
		status     int
		suppressed string // the reason after the step
	}{
		{"unsubscribe-get.json", 200, ""},
		{"unsubscribe-post-altered.json", 400, ""},
		{"unsubscribe-post.json", 200, store.SuppressUnsubscribe},
		{"unsubscribe-post-multipart.json", 200, store.SuppressUnsubscribe},
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "events", "apigw", "unsubscribe-*.json"))
	var onDisk, inTable []string
	for _, f := range files {
		onDisk = append(onDisk, filepath.Base(f))
	}
	for _, s := range steps {
		inTable = append(inTable, s.file)
	}
	slices.Sort(onDisk)
	slices.Sort(inTable)
	if !slices.Equal(onDisk, inTable) {
		t.Fatalf("sample events %v, replayed %v: keep them in step", onDisk, inTable)
	}

	for _, s := range steps {
		t.Run(s.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "apigw", s.file))
			if err != nil {
				t.Fatal(err)
			}
			out, err := invoke.Invoke(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			wantType := "text/html; charset=utf-8"
			if s.status >= 400 {
				wantType = httpapi.ProblemContentType
			}
			if resp.StatusCode != s.status || resp.Headers["Content-Type"] != wantType || resp.Headers["Location"] != "" {
				t.Fatalf("%d %v %s", resp.StatusCode, resp.Headers, resp.Body)
			}
			if s.status == 400 {
				var p httpapi.Problem
				if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.Type != web.TypeBadToken {
					t.Errorf("problem %s", resp.Body)
				}
			}
			if r, err := st.Suppressed(ctx, sh, sampleEmail); err != nil || r != s.suppressed {
				t.Errorf("suppressed %q (%v), want %q", r, err, s.suppressed)
			}
			rc, err := st.Recipient(ctx, sh.ID, sampleCampaign, campaign.SendID(sampleCampaign, sampleCustomer))
			if _, ok := rc.Events[campaign.EventUnsubscribed]; err != nil || ok != (s.suppressed != "") {
				t.Errorf("recipient events %v (%v)", rc.Events, err)
			}
		})
	}
}

// TestSampleTokens checks that the sample events carry tokens of the
// sample shop, customer and campaign (the altered one excepted).
func TestSampleTokens(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "events", "apigw", "unsubscribe-*.json"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		tok, err := campaign.VerifyToken([]byte(sampleTokenKey), ev.PathParameters["token"])
		want := campaign.Token{ShopID: sampleShopID, CustomerID: sampleCustomer, CampaignID: sampleCampaign, Issued: "2026-11-02"}
		altered := filepath.Base(f) == "unsubscribe-post-altered.json"
		if altered != (err != nil) || (!altered && tok != want) {
			t.Errorf("%s: token %+v, %v", filepath.Base(f), tok, err)
		}
		if "/v1/unsubscribe/"+ev.PathParameters["token"] != ev.RawPath {
			t.Errorf("%s: path parameter and raw path disagree", filepath.Base(f))
		}
	}
}
