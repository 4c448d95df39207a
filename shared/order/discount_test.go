package order

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestParseDiscountCodes checks the discount_codes member of the native
// schema: what each form becomes, and where each problem is reported.
func TestParseDiscountCodes(t *testing.T) {
	const head = `{"order_id":"1","customer":{"id":"c"},"created_at":"2025-05-30T10:00:00Z","total":"10.00","status":"paid",`
	body := func(currency, codes string) string {
		return head + `"currency":"` + currency + `","discount_codes":` + codes + `}`
	}
	repeat := func(n int, code string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(code+",", n), ",") + "]"
	}
	distinct := func(n int) string {
		var codes []string
		for i := range n {
			codes = append(codes, `"C`+string(rune('A'+i))+`"`)
		}
		return "[" + strings.Join(codes, ",") + "]"
	}
	tests := []struct {
		name     string
		currency string // EUR when empty
		codes    string
		want     []DiscountCode
		pointers []string
	}{
		{name: "absent is nil", codes: `null`},
		{name: "empty array is nil", codes: `[]`},
		{name: "string trimmed and upper-cased", codes: `[" wb-7kq2-m9xd "]`, want: []DiscountCode{{Code: "WB-7KQ2-M9XD"}}},
		{name: "object with a decimal amount", codes: `[{"code":"Summer","amount":"1.50"}]`, want: []DiscountCode{{Code: "SUMMER", Amount: 150}}},
		{name: "object with a number amount", codes: `[{"code":"SUMMER","amount":2}]`, want: []DiscountCode{{Code: "SUMMER", Amount: 200}}},
		{name: "object without amount", codes: `[{"code":"SUMMER"}]`, want: []DiscountCode{{Code: "SUMMER"}}},
		{name: "amount null is absent", codes: `[{"code":"SUMMER","amount":null}]`, want: []DiscountCode{{Code: "SUMMER"}}},
		{name: "amount in yen", currency: "JPY", codes: `[{"code":"X","amount":500}]`, want: []DiscountCode{{Code: "X", Amount: 500}}},
		{name: "order of first appearance", codes: `["b","a",{"code":"c","amount":"0.01"}]`, want: []DiscountCode{{Code: "B"}, {Code: "A"}, {Code: "C", Amount: 1}}},
		{name: "duplicates collapse, amounts add up", codes: `["save",{"code":"SAVE","amount":"1.00"},{"code":" Save ","amount":"0.50"},"other"]`,
			want: []DiscountCode{{Code: "SAVE", Amount: 150}, {Code: "OTHER"}}},
		{name: "letters of any script", codes: `["été-2025"]`, want: []DiscountCode{{Code: "ÉTÉ-2025"}}},
		{name: "inner spaces and punctuation", codes: `["10% OFF: <vip>"]`, want: []DiscountCode{{Code: "10% OFF: <VIP>"}}},
		{name: "64 characters", codes: `["` + strings.Repeat("é", MaxCodeLength) + `"]`, want: []DiscountCode{{Code: strings.Repeat("É", MaxCodeLength)}}},
		{name: "20 codes", codes: distinct(MaxDiscountCodes), want: func() []DiscountCode {
			var want []DiscountCode
			for i := range MaxDiscountCodes {
				want = append(want, DiscountCode{Code: "C" + string(rune('A'+i))})
			}
			return want
		}()},
		{name: "20 times the same code", codes: repeat(MaxDiscountCodes, `{"code":"X","amount":"1.00"}`), want: []DiscountCode{{Code: "X", Amount: 2000}}},
		{name: "21 codes", codes: repeat(MaxDiscountCodes+1, `"X"`), pointers: []string{"/discount_codes"}},
		{name: "not an array", codes: `"SUMMER"`, pointers: []string{"/discount_codes"}},
		{name: "element of another type", codes: `["A",7,null,["B"]]`, pointers: []string{"/discount_codes/1", "/discount_codes/2", "/discount_codes/3"}},
		{name: "empty code", codes: `["", "  "]`, pointers: []string{"/discount_codes/0", "/discount_codes/1"}},
		{name: "65 characters", codes: `["` + strings.Repeat("A", MaxCodeLength+1) + `"]`, pointers: []string{"/discount_codes/0"}},
		{name: "invisible character", codes: `["WB\u200b1"]`, pointers: []string{"/discount_codes/0"}},
		{name: "control character", codes: `["WB\u00071"]`, pointers: []string{"/discount_codes/0"}},
		{name: "no-break space", codes: `["WB\u00a01"]`, pointers: []string{"/discount_codes/0"}},
		{name: "private use character", codes: `["WB\ue0001"]`, pointers: []string{"/discount_codes/0"}},
		{name: "invalid UTF-8", codes: "[\"WB\xff\"]", pointers: []string{"/discount_codes/0"}},
		{name: "object without code", codes: `[{"amount":"1.00"}]`, pointers: []string{"/discount_codes/0/code"}},
		{name: "object with a bad code", codes: `[{"code":7},{"code":""}]`, pointers: []string{"/discount_codes/0/code", "/discount_codes/1/code"}},
		{name: "unknown and duplicate members", codes: `[{"code":"A","percent":10,"code":"B"}]`, pointers: []string{"/discount_codes/0/code", "/discount_codes/0/percent"}},
		{name: "negative amount", codes: `[{"code":"A","amount":"-1.00"}]`, pointers: []string{"/discount_codes/0/amount"}},
		{name: "amount with too many decimals", codes: `[{"code":"A","amount":"1.001"}]`, pointers: []string{"/discount_codes/0/amount"}},
		{name: "amount of the wrong type", codes: `[{"code":"A","amount":true}]`, pointers: []string{"/discount_codes/0/amount"}},
		{name: "amount over the maximum", codes: `[{"code":"A","amount":"10000000000.01"}]`, pointers: []string{"/discount_codes/0/amount"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			currency := tt.currency
			if currency == "" {
				currency = "EUR"
			}
			b, err := ParseBatch([]byte(body(currency, tt.codes)), Rules{Now: apiNow})
			if err != nil {
				t.Fatal(err)
			}
			it := b.Items[0]
			if got := pointers(t, it.Err); !equalStrings(got, tt.pointers) {
				t.Fatalf("pointers = %q, want %q (%v)", got, tt.pointers, it.Err)
			}
			if tt.pointers == nil && !reflect.DeepEqual(it.Order.DiscountCodes, tt.want) {
				t.Errorf("codes = %+v, want %+v", it.Order.DiscountCodes, tt.want)
			}
		})
	}
}

// TestParseDiscountCodeDetails pins the wording a client reads.
func TestParseDiscountCodeDetails(t *testing.T) {
	const head = `{"order_id":"1","customer":{"id":"c"},"created_at":"2025-05-30T10:00:00Z","currency":"EUR","total":"10.00","status":"paid","discount_codes":`
	tests := []struct{ codes, pointer, want string }{
		{`{}`, "/discount_codes", "must be an array of discount codes, not an object"},
		{"[" + strings.Repeat(`"A",`, 20) + `"A"]`, "/discount_codes", "must have at most 20 discount codes, not 21"},
		{`[1]`, "/discount_codes/0", "must be a discount code string or object, not a number"},
		{`[" "]`, "/discount_codes/0", "must not be empty"},
		{`["` + strings.Repeat("A", 65) + `"]`, "/discount_codes/0", "must be at most 64 characters"},
		{`["A\u2060B"]`, "/discount_codes/0", invisibleDetail},
		{`["A\u2003B"]`, "/discount_codes/0", "must contain only printable characters (letters, digits, punctuation, symbols and plain spaces)"},
		{`[{"code":"A","amount":"1.234"}]`, "/discount_codes/0/amount", "has more decimal places than EUR has (2)"},
		{`[{"code":"A","type":"percentage"}]`, "/discount_codes/0/type", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.pointer+" "+tt.want, func(t *testing.T) {
			b, err := ParseBatch([]byte(head+tt.codes+`}`), Rules{Now: apiNow})
			if err != nil {
				t.Fatal(err)
			}
			if got := detail(b.Items[0].Err, tt.pointer); got != tt.want {
				t.Errorf("detail at %s = %q, want %q (%v)", tt.pointer, got, tt.want, b.Items[0].Err)
			}
		})
	}
}

// TestParseDiscountCodesInBatch checks that pointers of an order's codes
// start at the order in a batch.
func TestParseDiscountCodesInBatch(t *testing.T) {
	const order = `{"order_id":"%d","customer":{"id":"c"},"created_at":"2025-05-30T10:00:00Z","currency":"EUR","total":"10.00","status":"paid","discount_codes":%s}`
	body := `{"orders":[` + fmt.Sprintf(order, 1, `["ok"]`) + "," + fmt.Sprintf(order, 2, `["ok",{"code":"x","amount":"-1"}]`) + `]}`
	b, err := ParseBatch([]byte(body), Rules{Now: apiNow})
	if err != nil {
		t.Fatal(err)
	}
	if b.Items[0].Err != nil || !reflect.DeepEqual(b.Items[0].Order.DiscountCodes, []DiscountCode{{Code: "OK"}}) {
		t.Errorf("order 0: %+v, %v", b.Items[0].Order.DiscountCodes, b.Items[0].Err)
	}
	if got, want := pointers(t, b.Items[1].Err), []string{"/orders/1/discount_codes/1/amount"}; !equalStrings(got, want) {
		t.Errorf("order 1: pointers %q, want %q", got, want)
	}
}

// TestParseShopifyDiscountCodes checks the mapping of Shopify's
// discount_codes: normalised like the API's, invalid codes skipped with the
// order kept, a bad amount reported like any money field.
func TestParseShopifyDiscountCodes(t *testing.T) {
	code := func(c string, amount any) map[string]any {
		m := map[string]any{"code": c, "type": "percentage"}
		if amount != nil {
			m["amount"] = amount
		}
		return m
	}
	many := func(n int) []any {
		var codes []any
		for i := range n {
			codes = append(codes, code("C"+string(rune('A'+i)), "1.00"))
		}
		return codes
	}
	tests := []struct {
		name     string
		codes    any
		want     []DiscountCode
		pointers []string
	}{
		{name: "absent", codes: nil},
		{name: "empty", codes: []any{}},
		{name: "the sample's", codes: []any{code("TENOFF", "5.00")}, want: []DiscountCode{{Code: "TENOFF", Amount: 500}}},
		{name: "trimmed and upper-cased", codes: []any{code(" tenoff ", "5.00")}, want: []DiscountCode{{Code: "TENOFF", Amount: 500}}},
		{name: "amount as a number", codes: []any{code("A", json.Number("2.5"))}, want: []DiscountCode{{Code: "A", Amount: 250}}},
		{name: "no amount", codes: []any{code("A", nil)}, want: []DiscountCode{{Code: "A"}}},
		{name: "duplicates collapse", codes: []any{code("a", "1.00"), code("A", "2.00")}, want: []DiscountCode{{Code: "A", Amount: 300}}},
		{name: "codes we cannot hold are skipped", codes: []any{
			code("", "1.00"), code(strings.Repeat("A", 65), "1.00"), code("A\u200bB", "1.00"), code("OK", "1.00"),
			map[string]any{"code": 7}, "SUMMER", nil,
		}, want: []DiscountCode{{Code: "OK", Amount: 100}}},
		{name: "only the first 20", codes: append(many(25), code("CA", "1.00")), want: func() []DiscountCode {
			var want []DiscountCode
			for i := range MaxDiscountCodes {
				want = append(want, DiscountCode{Code: "C" + string(rune('A'+i)), Amount: 100})
			}
			want[0].Amount = 200 // a repeat of a kept code still adds up
			return want
		}()},
		{name: "not an array", codes: "TENOFF"},
		{name: "bad amount", codes: []any{code("A", "1.001"), code("B", "-1.00"), code("C", "abc")},
			pointers: []string{"/discount_codes/0/amount", "/discount_codes/1/amount", "/discount_codes/2/amount"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := editSample(t, func(m map[string]any) {
				if tt.codes == nil {
					delete(m, "discount_codes")
				} else {
					m["discount_codes"] = tt.codes
				}
			})
			o, _, err := ParseShopify(body, Rules{Currency: "USD", Now: shopifyNow})
			if got := pointers(t, err); !equalStrings(got, tt.pointers) {
				t.Fatalf("pointers = %q, want %q (%v)", got, tt.pointers, err)
			}
			if tt.pointers == nil && !reflect.DeepEqual(o.DiscountCodes, tt.want) {
				t.Errorf("codes = %+v, want %+v", o.DiscountCodes, tt.want)
			}
		})
	}
}

// TestDiscountAndCodes checks the order's discount sum and code list.
func TestDiscountAndCodes(t *testing.T) {
	o := Order{DiscountCodes: []DiscountCode{{Code: "A", Amount: 150}, {Code: "B"}, {Code: "C", Amount: 50}}}
	if o.Discount() != 200 || !equalStrings(o.Codes(), []string{"A", "B", "C"}) {
		t.Errorf("Discount() = %d, Codes() = %q", o.Discount(), o.Codes())
	}
	if (Order{}).Discount() != 0 || (Order{}).Codes() != nil {
		t.Error("an order without codes has a discount or codes")
	}
}
