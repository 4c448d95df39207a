package order

import (
	"encoding/json"
	"errors"
	"math/big"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The fuzz targets run their seeds (f.Add and testdata/fuzz/<FuzzName>/) on
// every plain `go test`; `go test -fuzz=FuzzParseBatch -fuzztime=60s
// ./shared/order/` explores further.

func FuzzParseBatch(f *testing.F) {
	addFiles(f, "testdata/api/*.json")
	for _, s := range []string{
		`{"order_id":1,"customer":{"id":2},"created_at":"2025-05-30T10:00:00Z","currency":"JPY","total":5,"status":"paid"}`,
		`{"orders":[{"order_id":"a","customer":{"id":"b","email":"A@B.CO"},"created_at":"2025-05-30T10:00:00+05:30","currency":"KWD","total":"1.234","refunded_total":"1.234","status":"paid","line_items":[{"title":"t","quantity":1,"price":0}]}]}`,
		`{"orders":[1,null,{}]}`,
		`{"order_id":"1","customer":{"id":"c"},"created_at":"2025-05-30T10:00:00Z","currency":"EUR","total":"9.00","status":"paid","discount_codes":[" wb-7kq2-m9xd ",{"code":"WB-7KQ2-M9XD","amount":"1.00"},{"code":"x"},{"amount":1},7,"\u200b"]}`,
		`{"order_id":"\ud800","customer":{"id":"\u0000"},"total":"-0","status":"refunded","currency":"CLF","created_at":"1995-01-01T00:00:00z"}`,
	} {
		f.Add([]byte(s))
	}
	rules := Rules{Now: apiNow}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkAgainstStdlib(t, body)
		b, err := ParseBatch(body, rules)
		if err != nil {
			var ve *ValidationError
			switch {
			case errors.Is(err, ErrMalformed):
			case errors.As(err, &ve):
				checkFieldErrors(t, body, ve, "")
			default:
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if (b.Single && len(b.Items) != 1) || len(b.Items) == 0 || len(b.Items) > MaxBatch {
			t.Fatalf("Single %v with %d items", b.Single, len(b.Items))
		}
		again, _ := ParseBatch(body, rules)
		for i, it := range b.Items {
			if it.Err != nil {
				var ve *ValidationError
				if !errors.As(it.Err, &ve) {
					t.Fatalf("item %d: error %T", i, it.Err)
				}
				prefix := ""
				if !b.Single {
					prefix = "/orders/" + strconv.Itoa(i)
				}
				checkFieldErrors(t, body, ve, prefix)
				continue
			}
			checkOrder(t, it.Order, rules)
			if it.Order.Source != SourceAPI {
				t.Fatalf("source %q", it.Order.Source)
			}
			if again.Items[i].Order.Hash() != it.Order.Hash() {
				t.Fatal("hash differs between two parses of the same body")
			}
		}
	})
}

func FuzzParseShopify(f *testing.F) {
	addFiles(f, "testdata/shopify/*.json")
	for _, s := range []string{
		`{"id":820982911946154508,"email":"a@b.co","created_at":"2025-05-30T10:00:00Z","currency":"USD","total_price":"1.00","financial_status":"paid"}`,
		`{"id":1,"customer":{"id":2,"email_marketing_consent":{"state":"subscribed"}},"created_at":"2025-05-30T10:00:00Z","currency":"JPY","total_price":"100","refunds":[{"transactions":[{"kind":"refund","status":"success","amount":"100"}]}]}`,
		`{"id":1,"customer":null,"email":"x@y.z","presentment_currency":"EUR","total_price_set":{"presentment_money":{"amount":"9.00","currency_code":"EUR"}},"created_at":"2025-05-30T10:00:00Z","currency":"USD","total_price":"10.00","financial_status":"partially_refunded","refunds":[{"transactions":[{"kind":"refund","status":"success","amount":"4.50","currency":"EUR"}]}]}`,
		`{"test":true}`,
		`{"customer":{}}`,
		`{"id":1,"email":"a@b.co","created_at":"2025-05-30T10:00:00Z","currency":"EUR","total_price":"9.00","financial_status":"paid","discount_codes":[{"code":" summer ","amount":"1.00","type":"fixed_amount"},{"code":"SUMMER","amount":2},{"code":""},{"code":"x","amount":"-1"},"y",{"code":7}]}`,
	} {
		f.Add([]byte(s))
	}
	rules := Rules{Now: shopifyNow}
	f.Fuzz(func(t *testing.T, body []byte) {
		o, ignored, err := ParseShopify(body, rules)
		switch {
		case ignored != "":
			if err != nil || ignored != IgnoredTest && ignored != IgnoredNoCustomer || !isZeroOrder(o) {
				t.Fatalf("ignored %q with err %v and order %+v", ignored, err, o)
			}
			return
		case err != nil:
			var ve *ValidationError
			switch {
			case errors.Is(err, ErrMalformed):
			case errors.As(err, &ve):
				if len(ve.Fields) == 0 {
					t.Fatal("empty ValidationError")
				}
				for _, fe := range ve.Fields {
					if !strings.HasPrefix(fe.Pointer, "/") || fe.Detail == "" {
						t.Fatalf("bad field error %+v", fe)
					}
				}
			default:
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		checkOrder(t, o, rules)
		if o.Source != SourceShopify {
			t.Fatalf("source %q", o.Source)
		}
		if o2, _, _ := ParseShopify(body, rules); o2.Hash() != o.Hash() {
			t.Fatal("hash differs between two parses of the same body")
		}
	})
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0", "-0", "19.99", "0.1", "1e3", "+1", ".5", "5.", "007", "1500.00", "12.345", "-92233720368547758.08", "92233720368547758.08", "1,000", " 1"} {
		for exp := range uint8(5) {
			f.Add(s, exp)
		}
	}
	plain := regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`)
	minInt, maxInt := big.NewInt(-1<<63), big.NewInt(1<<63-1)
	f.Fuzz(func(t *testing.T, text string, e uint8) {
		exp := int(e % 6)
		n, err := ParseAmount(text, exp)
		if !plain.MatchString(text) {
			if !errors.Is(err, errAmountSyntax) {
				t.Fatalf("ParseAmount(%q, %d) = %d, %v; want a syntax error", text, exp, n, err)
			}
			return
		}
		r, _ := new(big.Rat).SetString(text)
		r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
		switch {
		case !r.IsInt():
			if !errors.Is(err, errAmountPrecision) {
				t.Fatalf("ParseAmount(%q, %d) = %d, %v; want a precision error", text, exp, n, err)
			}
		case r.Num().Cmp(minInt) < 0 || r.Num().Cmp(maxInt) > 0:
			if !errors.Is(err, errAmountRange) {
				t.Fatalf("ParseAmount(%q, %d) = %d, %v; want a range error", text, exp, n, err)
			}
		default:
			if err != nil || n != r.Num().Int64() {
				t.Fatalf("ParseAmount(%q, %d) = %d, %v; want %s", text, exp, n, err, r.Num())
			}
			s := FormatAmount(n, exp)
			if back, err := ParseAmount(s, exp); err != nil || back != n {
				t.Fatalf("ParseAmount(FormatAmount(%d, %d) = %q) = %d, %v", n, exp, s, back, err)
			}
		}
	})
}

// addFiles adds every file matching pattern as a seed.
func addFiles(f *testing.F, pattern string) {
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds %s: %v", pattern, err)
	}
	for _, file := range files {
		f.Add(readFile(f, file))
	}
}

// checkFieldErrors asserts that a native ValidationError is non-empty,
// sorted, under prefix, and that each pointer's parent exists in the body.
func checkFieldErrors(t *testing.T, body []byte, ve *ValidationError, prefix string) {
	t.Helper()
	if len(ve.Fields) == 0 {
		t.Fatal("empty ValidationError")
	}
	root, err := parseJSON(body, anyShape)
	if err != nil {
		t.Fatal(err)
	}
	for i, fe := range ve.Fields {
		if fe.Detail == "" || !strings.HasPrefix(fe.Pointer, prefix+"/") && fe.Pointer != prefix {
			t.Fatalf("field error %+v not under %q", fe, prefix)
		}
		if i > 0 && comparePointers(ve.Fields[i-1].Pointer, fe.Pointer) > 0 {
			t.Fatalf("field errors out of order: %q before %q", ve.Fields[i-1].Pointer, fe.Pointer)
		}
		parent := fe.Pointer[:strings.LastIndexByte(fe.Pointer, '/')+1]
		if fe.Pointer != "" && resolve(&root, strings.TrimSuffix(parent, "/")) == nil {
			t.Fatalf("pointer %q: parent not in the body", fe.Pointer)
		}
	}
}

// resolve follows an RFC 6901 pointer through the tree (nil if absent).
func resolve(v *jvalue, ptr string) *jvalue {
	if ptr == "" {
		return v
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch v.kind {
		case jsonObject:
			v = v.get(tok)
		case jsonArray:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v.elems) {
				return nil
			}
			v = &v.elems[i]
		default:
			return nil
		}
		if v == nil {
			return nil
		}
	}
	return v
}

// checkOrder asserts the invariants of every accepted order, and that its
// native JSON form parses back to the same order with the same hash.
func checkOrder(t *testing.T, o Order, r Rules) {
	t.Helper()
	exp, ok := Exponent(o.Currency)
	switch {
	case o.ID == "" || o.Customer.ID == "":
		t.Fatalf("empty id: %+v", o)
	case !ok || (r.Currency != "" && o.Currency != r.Currency):
		t.Fatalf("currency %q", o.Currency)
	case o.Refunded < 0 || o.Refunded > o.Total || o.Total > MaxAmount:
		t.Fatalf("amounts: total %d, refunded %d", o.Total, o.Refunded)
	case o.Status != StatusPaid && o.Status != StatusPending && o.Status != StatusRefunded && o.Status != StatusCancelled:
		t.Fatalf("status %q", o.Status)
	case o.Status == StatusPaid && o.Total > 0 && o.Refunded == o.Total:
		t.Fatal("a paid order refunded in full was not normalised")
	case o.CreatedAt.Location() != time.UTC || o.CreatedAt.Before(earliest) || o.CreatedAt.After(r.Now.Add(futureSlack)):
		t.Fatalf("created_at %v", o.CreatedAt)
	case !o.UpdatedAt.IsZero() && (o.UpdatedAt.Location() != time.UTC || o.UpdatedAt.After(r.Now.Add(futureSlack))):
		t.Fatalf("updated_at %v", o.UpdatedAt)
	case o.Customer.Email != "":
		if e, d := normalizeEmail(o.Customer.Email); d != "" || e != o.Customer.Email {
			t.Fatalf("email %q not normal", o.Customer.Email)
		}
	case len(o.LineItems) > MaxLineItems || (o.LineItems != nil && len(o.LineItems) == 0):
		t.Fatalf("%d line items", len(o.LineItems))
	}
	for _, li := range o.LineItems {
		if li.Title == "" || utf8.RuneCountInString(li.Title) > MaxTitleLength || li.Quantity < 1 || li.Quantity > MaxQuantity || li.Price < 0 || li.Price > MaxAmount {
			t.Fatalf("line item %+v", li)
		}
	}
	if len(o.DiscountCodes) > MaxDiscountCodes || (o.DiscountCodes != nil && len(o.DiscountCodes) == 0) {
		t.Fatalf("%d discount codes", len(o.DiscountCodes))
	}
	amounts := []int64{o.Total, o.Refunded}
	for i, dc := range o.DiscountCodes {
		if code, d := normalizeCode(dc.Code, false); d != "" || code != dc.Code || dc.Amount < 0 || dc.Amount > MaxAmount {
			t.Fatalf("discount code %+v: %s", dc, d)
		}
		if slices.ContainsFunc(o.DiscountCodes[:i], func(e DiscountCode) bool { return e.Code == dc.Code }) {
			t.Fatalf("discount code %q listed twice", dc.Code)
		}
		amounts = append(amounts, dc.Amount)
	}
	for _, n := range amounts {
		if back, err := ParseAmount(FormatAmount(n, exp), exp); err != nil || back != n {
			t.Fatalf("amount %d does not round-trip: %d, %v", n, back, err)
		}
	}
	c := o
	c.LineItems = slices.Clone(o.LineItems)
	c.DiscountCodes = slices.Clone(o.DiscountCodes)
	if c.Hash() != o.Hash() {
		t.Fatal("Hash is not deterministic")
	}

	// The native form of the order parses back to the same order.
	b, err := ParseBatch(nativeJSON(t, o), Rules{Currency: o.Currency, Now: r.Now})
	if err != nil || b.Items[0].Err != nil {
		t.Fatalf("native form of %+v rejected: %v %v", o, err, b.Items[0].Err)
	}
	back := b.Items[0].Order
	back.Source = o.Source
	if d := diffOrder(back, o); d != "" {
		t.Fatalf("native round trip: %s", d)
	}
	if back.Hash() != o.Hash() {
		t.Fatal("native round trip changed the hash")
	}
}

// nativeJSON renders an order in the POST /v1/orders schema.
func nativeJSON(t *testing.T, o Order) []byte {
	t.Helper()
	exp, _ := Exponent(o.Currency)
	type item struct {
		Title    string `json:"title"`
		SKU      string `json:"sku,omitempty"`
		Quantity int64  `json:"quantity"`
		Price    string `json:"price"`
	}
	m := map[string]any{
		"order_id":       o.ID,
		"customer":       o.Customer,
		"created_at":     o.CreatedAt.Format(time.RFC3339Nano),
		"currency":       o.Currency,
		"total":          FormatAmount(o.Total, exp),
		"refunded_total": FormatAmount(o.Refunded, exp),
		"status":         o.Status,
	}
	if !o.UpdatedAt.IsZero() {
		m["updated_at"] = o.UpdatedAt.Format(time.RFC3339Nano)
	}
	if o.LineItems != nil {
		var items []item
		for _, li := range o.LineItems {
			items = append(items, item{li.Title, li.SKU, li.Quantity, FormatAmount(li.Price, exp)})
		}
		m["line_items"] = items
	}
	// Codes without an amount as strings, the others as objects.
	for _, dc := range o.DiscountCodes {
		var code any = dc.Code
		if dc.Amount != 0 {
			code = map[string]string{"code": dc.Code, "amount": FormatAmount(dc.Amount, exp)}
		}
		codes, _ := m["discount_codes"].([]any)
		m["discount_codes"] = append(codes, code)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
