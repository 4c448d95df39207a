package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/winback/winback/shared/clv"
	"github.com/winback/winback/shared/ingest"
)

// The CDNOW sample as a shop's orders: the proof that the nightly job
// scores exactly as the models do (cdnow_proof_test.go) and the campaign
// commands' test use it.

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
