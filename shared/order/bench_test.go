package order

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// batchBody is a realistic 100-order batch: e-mail, first name, three line
// items, a refund on every fifth order.
func batchBody() []byte {
	var sb strings.Builder
	sb.WriteString(`{"orders":[`)
	for i := range MaxBatch {
		if i > 0 {
			sb.WriteString(",\n")
		}
		refund := ""
		if i%5 == 0 {
			refund = `"refunded_total": "12.50", `
		}
		fmt.Fprintf(&sb, `{"order_id": "ord-%06d", "customer": {"id": "cus-%04d", "email": "Customer.%d@Example.com", "first_name": "Ana", "accepts_marketing": %v},
 "created_at": "2025-05-%02dT%02d:15:00+02:00", "updated_at": "2025-05-%02dT%02d:16:00+02:00", "currency": "EUR", "total": "%d.%02d", %s"status": "paid",
 "line_items": [{"sku": "TEE-%d", "title": "Organic cotton tee", "quantity": 2, "price": "19.95"}, {"sku": "MUG-1", "title": "Mug", "quantity": 1, "price": 12.5}, {"title": "Shipping", "quantity": 1, "price": "4.90"}]}`,
			i, i%37, i%37, i%2 == 0, 1+i%28, i%24, 1+i%28, i%24, 57+i, i%100, refund, i%10)
	}
	sb.WriteString("]}")
	return []byte(sb.String())
}

func BenchmarkParseBatch(b *testing.B) {
	body := batchBody()
	rules := Rules{Currency: "EUR", Now: apiNow}
	if bt, err := ParseBatch(body, rules); err != nil || len(bt.Items) != MaxBatch {
		b.Fatalf("%v %d", err, len(bt.Items))
	} else {
		for _, it := range bt.Items {
			if it.Err != nil {
				b.Fatal(it.Err)
			}
		}
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBatch(body, rules); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxBatch), "ns/order")
}

// BenchmarkStdlibUnmarshalBatch is a reference point, not an alternative:
// encoding/json into plain structs, without any of the validation.
func BenchmarkStdlibUnmarshalBatch(b *testing.B) {
	body := batchBody()
	type item struct {
		SKU      string      `json:"sku"`
		Title    string      `json:"title"`
		Quantity int64       `json:"quantity"`
		Price    json.Number `json:"price"`
	}
	type order struct {
		OrderID  string `json:"order_id"`
		Customer struct {
			ID               string `json:"id"`
			Email            string `json:"email"`
			FirstName        string `json:"first_name"`
			AcceptsMarketing bool   `json:"accepts_marketing"`
		} `json:"customer"`
		CreatedAt string      `json:"created_at"`
		UpdatedAt string      `json:"updated_at"`
		Currency  string      `json:"currency"`
		Total     json.Number `json:"total"`
		Refunded  json.Number `json:"refunded_total"`
		Status    string      `json:"status"`
		LineItems []item      `json:"line_items"`
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var v struct {
			Orders []order `json:"orders"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxBatch), "ns/order")
}

func BenchmarkParseShopify(b *testing.B) {
	body := readFile(b, "testdata/shopify/orders_updated_partial_refund.json")
	rules := Rules{Currency: "USD", Now: shopifyNow}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseShopify(body, rules); err != nil {
			b.Fatal(err)
		}
	}
}
