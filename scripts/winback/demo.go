package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/clv"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/ingest"
	"github.com/winback/winback/shared/nightly"
	"github.com/winback/winback/shared/report"
	"github.com/winback/winback/shared/shop"
)

// demoCommand is "winback demo".
func demoCommand(fs *flag.FlagSet) action {
	eventsDir := fs.String("events", "events", "folder of sample API Gateway events")
	cdnow := fs.String("transactions", "testdata/cdnow/cdnow_sample_tx.csv", "transaction log ingested as orders (customer_id,date,amount)")
	return func(ctx context.Context, stdout io.Writer) error {
		return runDemo(ctx, *eventsDir, *cdnow, stdout)
	}
}

// runDemo runs "winback demo": a fresh shop on the local stack, the sample
// events replayed through the ingest Lambda's handler, the CDNOW sample
// ingested as orders, and the models fitted on the stored summaries.
func runDemo(ctx context.Context, eventsDir, cdnow string, stdout io.Writer) error {
	st, err := localenv.Store(ctx)
	if err != nil {
		return err
	}
	sh, cred, err := newShop("Demo shop", "USD", "UTC", shop.DefaultShards, time.Now())
	if err != nil {
		return err
	}
	sh.ShopifyDomain = "demo-shop.myshopify.com"
	if err := st.CreateShop(ctx, sh, cred); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "== 1. Shop created in table %q at %s\n", localenv.Table(), localenv.DynamoDBEndpoint())
	fmt.Fprintf(stdout, "   shop_id=%s api_key=%s…\n\n", sh.ID, cred.APIKey[:24])

	handler := api.Routes(api.All(st, slog.New(slog.NewJSONHandler(io.Discard, nil))))
	invoke := lambda.NewHandler(httpapi.LambdaHandler(handler))

	fmt.Fprintf(stdout, "== 2. Sample events from %s/ through the ingest handler\n", eventsDir)
	var files []string
	// The order events of the HTTP API (scheduler/ and sqs/ are the nightly
	// job's; the unsubscribe events carry tokens signed with the tests' key).
	for _, pat := range []string{"apigw/orders-*.json", "shopify/*.json"} {
		fs, _ := filepath.Glob(filepath.Join(eventsDir, pat))
		files = append(files, fs...)
	}
	if len(files) == 0 {
		return fmt.Errorf("no sample events under %s", eventsDir)
	}
	sort.Slice(files, func(i, j int) bool { return demoOrder(files[i]) < demoOrder(files[j]) })
	for _, f := range files {
		ev, err := readDemoEvent(f, sh, cred.APIKey)
		if err != nil {
			return err
		}
		out, err := invoke.Invoke(ctx, ev)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "   %-48s → %d %s\n", strings.TrimPrefix(f, eventsDir+"/"), resp.StatusCode, brief(resp.Body))
	}

	fmt.Fprintf(stdout, "\n   What was stored, per customer (summaries the nightly job reads):\n")
	fmt.Fprintf(stdout, "   %-20s %-6s %-9s %5s %5s %9s %9s  %s\n", "customer", "name", "consent", "paid", "days", "spend $", "repeat $", "last items")
	for _, id := range []string{"cust-42", "cust-7", "115310627314723954"} {
		s, err := st.Customer(ctx, sh, id)
		if err != nil {
			return err
		}
		var items []string
		for _, li := range s.LastItems {
			items = append(items, fmt.Sprintf("%dx %s", li.Quantity, li.Title))
		}
		fmt.Fprintf(stdout, "   %-20s %-6s %-9v %5d %5d %9.2f %9.2f  %s\n", s.CustomerID, s.FirstName, s.AcceptsMarketing,
			s.PaidOrders, s.PurchaseDays, float64(s.TotalSpend)/100, float64(s.RepeatSpend)/100, strings.Join(items, ", "))
	}

	fmt.Fprintf(stdout, "\n== 3. %s ingested as orders, 100 per POST /v1/orders\n", cdnow)
	txs, err := readTransactions(cdnow)
	if err != nil {
		return err
	}
	start := time.Now()
	counts, err := ingestTransactions(ctx, invoke, cred.APIKey, txs)
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(stdout, "   %d orders in %.1f s (%.0f orders/s): %v\n\n", len(txs), secs, float64(len(txs))/secs, counts)

	return demoNightly(ctx, stdout, handler, sh, cred.APIKey)
}

// demoOrder sorts the sample events into a story: creates, then updates
// and re-sends, then the rejected requests.
func demoOrder(path string) string {
	name := filepath.Base(path)
	rank := "2"
	switch {
	case strings.Contains(name, "create") && !strings.Contains(name, "bad") && !strings.Contains(name, "redelivered"),
		strings.Contains(name, "batch"), strings.Contains(name, "base64"):
		rank = "0"
	case strings.Contains(name, "refund"), strings.Contains(name, "redelivered"), strings.Contains(name, "conflict"):
		rank = "1"
	}
	return rank + filepath.Base(filepath.Dir(path)) + name
}

// readDemoEvent reads a sample event and re-targets it at the demo shop:
// its API key, or its shop id and a fresh Shopify signature (the
// bad-signature sample stays badly signed).
func readDemoEvent(path string, sh shop.Shop, apiKey string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if a := ev.Headers["authorization"]; strings.HasPrefix(a, "Bearer wbk_sampleevents0001_sample") {
		ev.Headers["authorization"] = "Bearer " + apiKey
	}
	if _, ok := ev.QueryStringParameters["shop"]; ok {
		ev.QueryStringParameters["shop"] = sh.ID
		ev.RawQueryString = "shop=" + sh.ID
		ev.Headers["x-shopify-shop-domain"] = sh.ShopifyDomain
		if !strings.Contains(path, "bad-signature") {
			mac := hmac.New(sha256.New, []byte(sh.WebhookSecret))
			mac.Write([]byte(ev.Body))
			ev.Headers["x-shopify-hmac-sha256"] = base64.StdEncoding.EncodeToString(mac.Sum(nil))
		}
	}
	return json.Marshal(ev)
}

func brief(body string) string {
	var v struct {
		Status any    `json:"result"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Counts any    `json:"counts"`
	}
	if json.Unmarshal([]byte(body), &v) != nil {
		return body
	}
	switch {
	case v.Title != "":
		d := v.Detail
		if len(d) > 60 {
			d = d[:57] + "..."
		}
		return v.Title + ": " + d
	case v.Counts != nil:
		return fmt.Sprint(v.Counts)
	}
	return fmt.Sprint(v.Status)
}

func readTransactions(path string) ([]clv.Transaction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return clv.ReadTransactions(f)
}

// demoNames are the first names the demo gives CDNOW's anonymous customers.
var demoNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Niklaus"}

// demoCustomer is a CDNOW customer as an order names them: an invented
// address under example.com (RFC 2606) and first name, and consent for
// about 85% of them (CDNOW's log has neither).
func demoCustomer(id string) map[string]any {
	h := fnv.New32a()
	h.Write([]byte(id))
	n := h.Sum32()
	return map[string]any{
		"id": "cdnow-" + id, "email": "cdnow-" + id + "@example.com",
		"first_name": demoNames[n%uint32(len(demoNames))], "accepts_marketing": n%100 < 85,
	}
}

// ingestTransactions posts a transaction log as orders, 100 a request.
func ingestTransactions(ctx context.Context, invoke lambda.Handler, apiKey string, txs []clv.Transaction) (map[string]int, error) {
	type item struct {
		OrderID  string         `json:"order_id"`
		Customer map[string]any `json:"customer"`
		Created  string         `json:"created_at"`
		Currency string         `json:"currency"`
		Total    string         `json:"total"`
		Status   string         `json:"status"`
	}
	counts := map[string]int{}
	for lo := 0; lo < len(txs); lo += 100 {
		hi := min(lo+100, len(txs))
		var batch struct {
			Orders []item `json:"orders"`
		}
		for i, tx := range txs[lo:hi] {
			batch.Orders = append(batch.Orders, item{
				OrderID:  fmt.Sprintf("cdnow-%d", lo+i),
				Customer: demoCustomer(tx.CustomerID),
				Created:  tx.Date.Add(12 * time.Hour).Format(time.RFC3339),
				Currency: "USD", Total: fmt.Sprintf("%.2f", tx.Amount), Status: "paid",
			})
		}
		body, _ := json.Marshal(batch)
		ev := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: "POST /v1/orders", RawPath: "/v1/orders",
			Headers: map[string]string{"authorization": "Bearer " + apiKey, "content-type": "application/json"},
			Body:    string(body),
		}
		ev.RequestContext.HTTP.Method = "POST"
		ev.RequestContext.RequestID = fmt.Sprintf("demo-%d", lo)
		payload, _ := json.Marshal(ev)
		out, err := invoke.Invoke(ctx, payload)
		if err != nil {
			return nil, err
		}
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			return nil, err
		}
		var br ingest.BatchResponse
		if err := json.Unmarshal([]byte(resp.Body), &br); err != nil || resp.StatusCode >= 300 {
			return nil, fmt.Errorf("batch at %d: status %d: %s", lo, resp.StatusCode, resp.Body)
		}
		for k, v := range br.Counts {
			counts[k] += v
		}
	}
	return counts, nil
}

// demoNightly runs the nightly job for the demo shop as of the CDNOW
// sample's last day, through its handlers on the local SQS emulator, then
// asks the API what it computed, as the shop's own tools would.
func demoNightly(ctx context.Context, stdout io.Writer, handler http.Handler, sh shop.Shop, apiKey string) error {
	const asOf = "1998-06-30"
	fmt.Fprintf(stdout, "== 4. The nightly job as of %s: planner → SQS emulator → worker (map, fit, score, finish)\n", asOf)
	err := runNightly(ctx, nightlyOptions{
		Request: nightly.Request{ShopID: sh.ID, AsOf: asOf}, Concurrency: 2, Every: 2 * time.Second,
	}, stdout, stdout)
	if err != nil {
		return err
	}
	get := func(target string, v any) error {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set("Authorization", "Bearer "+apiKey)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			return fmt.Errorf("GET %s: %d %s", target, rec.Code, rec.Body)
		}
		return json.Unmarshal(rec.Body.Bytes(), v)
	}
	var rep struct {
		Customers          int64            `json:"customers"`
		ChurnRate          float64          `json:"churn_rate"`
		RepeatPurchaseRate float64          `json:"repeat_purchase_rate"`
		Top20              float64          `json:"top20_revenue_share"`
		Segments           map[string]int64 `json:"segments"`
		Model              struct {
			Name   string `json:"name"`
			Reason string `json:"reason"`
		} `json:"model"`
	}
	if err := get("/v1/report", &rep); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n== 5. What the API serves now\n   GET /v1/report: %d customers, churn rate %.1f%%, repeat purchase rate %.1f%%, top 20%% of customers bring %.1f%% of revenue\n",
		rep.Customers, 100*rep.ChurnRate, 100*rep.RepeatPurchaseRate, 100*rep.Top20)
	fmt.Fprintf(stdout, "   model: %s\n   segments:", rep.Model.Reason)
	for _, seg := range report.Segments {
		if n := rep.Segments[seg]; n > 0 {
			fmt.Fprintf(stdout, " %s %d", seg, n)
		}
	}
	var list report.ListView
	if err := get("/v1/customers?segment=at_risk&band=high&limit=1000", &list); err != nil {
		return err
	}
	sort.SliceStable(list.Customers, func(i, j int) bool {
		a, _ := list.Customers[i].CLV.Float64()
		b, _ := list.Customers[j].CLV.Float64()
		return a > b
	})
	fmt.Fprintf(stdout, "\n\n   GET /v1/customers?segment=at_risk&band=high: %d customers; the most valuable (win-back candidates):\n", len(list.Customers))
	fmt.Fprintf(stdout, "   %-14s %9s %10s %10s %9s  %s\n", "customer", "p_alive", "exp. 365d", "CLV 12m $", "R/F/M", "segment")
	for _, c := range list.Customers[:min(8, len(list.Customers))] {
		fmt.Fprintf(stdout, "   %-14s %9.3f %10.2f %10s %3d/%d/%d  %s\n", c.CustomerID, c.PAlive, c.ExpectedPurchases365d, c.CLV, c.RScore, c.FScore, c.MScore, c.Segment)
	}
	fmt.Fprintf(stdout, "\n   Every scored customer as CSV: go run ./scripts/winback customers export --shop %s\n", sh.ID)
	return demoCampaign(ctx, stdout, sh, asOf)
}

// demoCampaign configures the demo shop's campaigns and runs the win-back
// campaign of asOf through the runner, the SQS emulator, the sender and
// the SES emulator, then reads back what the emulator received.
func demoCampaign(ctx context.Context, stdout io.Writer, sh shop.Shop, asOf string) error {
	st, err := localenv.Store(ctx)
	if err != nil {
		return err
	}
	cfg := campaign.DefaultConfig()
	cfg.Settings.From = "Demo shop <news@demo-shop.example>"
	// CDNOW's customers spent dollars, not hundreds: tiers at $5, $15 and
	// $50 of predicted CLV instead of the defaults' $50, $150 and $500.
	cfg.Settings.Tiers = []campaign.Tier{{MinValue: 0}, {MinValue: 500, Percent: 10, Uplift: 0.03}, {MinValue: 1500, Percent: 15, Uplift: 0.04}, {MinValue: 5000, Percent: 20, Uplift: 0.05}}
	if err := st.PutCampaignConfig(ctx, sh.ID, cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n== 6. The win-back campaign of %s: selection → send queue (SQS emulator) → sender → SES emulator\n", asOf)
	fmt.Fprintf(stdout, "   go run ./scripts/winback shop configure --shop %s --from 'Demo shop <news@demo-shop.example>'  (tiers at $5/$15/$50)\n", sh.ID)
	var out strings.Builder
	if err := runCampaigns(ctx, campaignOptions{ShopID: sh.ID, AsOf: asOf, UnsubscribeBase: DefaultUnsubscribeBase, Rate: 200}, &out, stdout); err != nil {
		return err
	}
	var sum campaignSummary
	if err := json.Unmarshal([]byte(out.String()), &sum); err != nil {
		return err
	}
	res, rep := sum.Run, sum.Report
	fmt.Fprintf(stdout, "   examined %d customers; not selected: %v\n", res.Customers, res.Reasons)
	fmt.Fprintf(stdout, "   selected %d: %d to mail (%v), %d held out; offers %v\n", res.Mailed+res.Holdout, res.Mailed, res.Kinds, res.Holdout, res.Offers)
	if rep != nil {
		fmt.Fprintf(stdout, "   report: mailed %d · in doubt %d · failed %d · skipped %d · still queued %d\n", rep.Mailed, rep.InDoubt, rep.Failed, rep.Skipped, rep.Queued)
	}
	emails, err := emulator.ReadSentEmails(ctx, localenv.SESEndpoint())
	if err != nil {
		return err
	}
	var ours []emulator.Email
	for _, e := range emails {
		if strings.HasPrefix(e.From, "Demo shop") || strings.Contains(e.From, "news@demo-shop.example") {
			ours = append(ours, e)
		}
	}
	fmt.Fprintf(stdout, "   the SES emulator holds %d e-mail(s) from the demo shop (all runs); web view: %s\n", len(ours), localenv.SESEndpoint())
	if len(ours) > 0 {
		e := ours[len(ours)-1]
		fmt.Fprintf(stdout, "   e.g. subject %q\n        List-Unsubscribe: %s\n        List-Unsubscribe-Post: %s\n", e.Subject, e.Header("List-Unsubscribe"), e.Header("List-Unsubscribe-Post"))
	}
	fmt.Fprintf(stdout, "\n   Again, it mails nobody twice: go run ./scripts/winback campaign run --shop %s --as-of %s\n", sh.ID, asOf)
	fmt.Fprintf(stdout, "   Coupons: go run ./scripts/winback campaign coupons --shop %s --campaign %s\n", sh.ID, asOf)
	fmt.Fprintf(stdout, "   Report:  go run ./scripts/winback campaign report --shop %s --campaign %s\n", sh.ID, asOf)
	return nil
}
