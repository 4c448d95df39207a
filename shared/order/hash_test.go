package order

import (
	"fmt"
	"strings"
	"testing"
)

// TestHashResend checks Order.Hash on parsed bodies: a re-send that differs
// only in layout, key order, offset notation or the sender's updated_at is
// the same order; any change of content is not.
func TestHashResend(t *testing.T) {
	const original = `{
  "order_id": "1001",
  "customer": {"id": "c-1", "email": "ana@example.com", "first_name": "Ana", "accepts_marketing": true},
  "created_at": "2025-05-30T14:03:11+02:00",
  "updated_at": "2025-05-30T14:05:00+02:00",
  "currency": "EUR",
  "total": "59.90",
  "refunded_total": "10.00",
  "status": "paid",
  "line_items": [
    {"sku": "TEE", "title": "Tee", "quantity": 2, "price": "19.95"},
    {"title": "Gift wrap", "quantity": 1, "price": "20.00"}
  ]
}`
	hash := func(t *testing.T, body string) string {
		t.Helper()
		b, err := ParseBatch([]byte(body), Rules{Now: apiNow})
		if err != nil || b.Items[0].Err != nil {
			t.Fatalf("parse: %v %v", err, b.Items[0].Err)
		}
		return b.Items[0].Order.Hash()
	}
	want := hash(t, original)
	if len(want) != 32 {
		t.Fatalf("Hash() = %q", want)
	}

	same := map[string]string{
		"compact":                `{"order_id":"1001","customer":{"id":"c-1","email":"ana@example.com","first_name":"Ana","accepts_marketing":true},"created_at":"2025-05-30T14:03:11+02:00","updated_at":"2025-05-30T14:05:00+02:00","currency":"EUR","total":"59.90","refunded_total":"10.00","status":"paid","line_items":[{"sku":"TEE","title":"Tee","quantity":2,"price":"19.95"},{"title":"Gift wrap","quantity":1,"price":"20.00"}]}`,
		"reordered keys":         `{"status":"paid","line_items":[{"price":"19.95","quantity":2,"title":"Tee","sku":"TEE"},{"price":"20.00","title":"Gift wrap","quantity":1}],"total":"59.90","currency":"EUR","refunded_total":"10.00","updated_at":"2025-05-30T14:05:00+02:00","created_at":"2025-05-30T14:03:11+02:00","customer":{"accepts_marketing":true,"first_name":"Ana","email":"ana@example.com","id":"c-1"},"order_id":"1001"}`,
		"bumped updated_at":      strings.Replace(original, `"2025-05-30T14:05:00+02:00"`, `"2025-05-31T09:00:00Z"`, 1),
		"no updated_at":          strings.Replace(original, `"updated_at": "2025-05-30T14:05:00+02:00",`, ``, 1),
		"same instant in UTC":    strings.Replace(original, `"2025-05-30T14:03:11+02:00"`, `"2025-05-30T12:03:11Z"`, 1),
		"amounts as numbers":     strings.NewReplacer(`"59.90"`, `59.9`, `"10.00"`, `10`, `"19.95"`, `19.95`).Replace(original),
		"e-mail case and spaces": strings.Replace(original, `"ana@example.com"`, `" Ana@Example.COM "`, 1),
		"no discount codes":      strings.Replace(original, `"status": "paid",`, `"status": "paid", "discount_codes": [],`, 1),
	}
	for name, body := range same {
		t.Run("same/"+name, func(t *testing.T) {
			if got := hash(t, body); got != want {
				t.Errorf("hash changed: %s != %s", got, want)
			}
		})
	}

	different := map[string]string{
		"total":         strings.Replace(original, `"total": "59.90"`, `"total": "59.91"`, 1),
		"refund":        strings.Replace(original, `"refunded_total": "10.00"`, `"refunded_total": "10.01"`, 1),
		"status":        strings.Replace(original, `"status": "paid"`, `"status": "cancelled"`, 1),
		"item quantity": strings.Replace(original, `"quantity": 2`, `"quantity": 3`, 1),
		"item price":    strings.Replace(original, `"price": "19.95"`, `"price": "19.96"`, 1),
		"item removed": strings.Replace(original, `,
    {"title": "Gift wrap", "quantity": 1, "price": "20.00"}`, ``, 1),
		"items reordered":  strings.Replace(strings.Replace(original, `{"sku": "TEE", "title": "Tee", "quantity": 2, "price": "19.95"},`, ``, 1), `"price": "20.00"}`, `"price": "20.00"}, {"sku": "TEE", "title": "Tee", "quantity": 2, "price": "19.95"}`, 1),
		"created_at":       strings.Replace(original, `14:03:11+02:00`, `14:03:12+02:00`, 1),
		"customer":         strings.Replace(original, `"id": "c-1"`, `"id": "c-2"`, 1),
		"consent":          strings.Replace(original, `"accepts_marketing": true`, `"accepts_marketing": false`, 1),
		"currency":         strings.Replace(original, `"EUR"`, `"USD"`, 1),
		"order id":         strings.Replace(original, `"1001"`, `"1002"`, 1),
		"refund to absent": strings.Replace(original, `"refunded_total": "10.00",`, ``, 1),
		"discount code":    strings.Replace(original, `"status": "paid",`, `"status": "paid", "discount_codes": ["SAVE"],`, 1),
	}
	for name, body := range different {
		t.Run("different/"+name, func(t *testing.T) {
			if got := hash(t, body); got == want {
				t.Errorf("hash did not change")
			}
		})
	}
}

// TestHashShopifyRedelivery checks that an orders/updated delivery that only
// bumps updated_at hashes like the orders/create one, and that a refund
// changes the hash.
func TestHashShopifyRedelivery(t *testing.T) {
	parse := func(t *testing.T, file string, edit func(m map[string]any)) Order {
		t.Helper()
		var body []byte
		if edit != nil {
			body = editSample(t, edit) // the orders/create sample, edited
		} else {
			body = readFile(t, "testdata/shopify/"+file)
		}
		o, _, err := ParseShopify(body, Rules{Now: shopifyNow})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	created := parse(t, "orders_create_paid.json", nil)
	bumped := parse(t, "", func(m map[string]any) { m["updated_at"] = "2025-05-29T08:00:00Z"; m["note"] = "gift" })
	if created.Hash() != bumped.Hash() {
		t.Error("an update that only bumps updated_at changed the hash")
	}
	if created.Hash() == parse(t, "orders_updated_partial_refund.json", nil).Hash() {
		t.Error("a refund did not change the hash")
	}
}

// TestHashDiscountCodes checks that the codes' content is in the hash and
// their spelling is not: a re-send with other codes, another amount or
// another order of codes is an update.
func TestHashDiscountCodes(t *testing.T) {
	const order = `{"order_id":"1","customer":{"id":"c"},"created_at":"2025-05-30T10:00:00Z","currency":"EUR","total":"9.00","status":"paid","discount_codes":%s}`
	hash := func(t *testing.T, codes string) string {
		t.Helper()
		b, err := ParseBatch([]byte(fmt.Sprintf(order, codes)), Rules{Now: apiNow})
		if err != nil || b.Items[0].Err != nil {
			t.Fatalf("parse %s: %v %v", codes, err, b.Items[0].Err)
		}
		return b.Items[0].Order.Hash()
	}
	want := hash(t, `["SAVE",{"code":"VIP","amount":"1.00"}]`)
	for _, codes := range []string{
		`[" save ",{"code":"vip","amount":1}]`,
		`[{"code":"SAVE"},{"code":"VIP","amount":"1.00"}]`,
		`[{"code":"SAVE","amount":0},"VIP",{"code":"VIP","amount":"1.00"}]`,
	} {
		if got := hash(t, codes); got != want {
			t.Errorf("%s: hash changed", codes)
		}
	}
	for _, codes := range []string{
		`["SAVE"]`,
		`["SAVE",{"code":"VIP","amount":"1.01"}]`,
		`[{"code":"VIP","amount":"1.00"},"SAVE"]`,
		`["SAVE",{"code":"VIP2","amount":"1.00"}]`,
	} {
		if got := hash(t, codes); got == want {
			t.Errorf("%s: hash did not change", codes)
		}
	}
}
