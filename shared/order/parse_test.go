package order

import (
	"errors"
	"strings"
	"testing"
)

// wantItem is what one order of a sample should become: an exact order, or
// the exact pointers of its field errors.
type wantItem struct {
	order    *Order
	pointers []string
}

func ok(o Order) wantItem             { return wantItem{order: &o} }
func bad(pointers ...string) wantItem { return wantItem{pointers: pointers} }

func TestParseBatchSamples(t *testing.T) {
	ipods := []LineItem{
		{SKU: "IPOD2008PINK", Title: "IPod Nano - 8gb", Quantity: 1, Price: 19900},
		{SKU: "IPOD2008BLACK", Title: "IPod Nano - 8gb", Quantity: 1, Price: 20400},
	}
	single := Order{
		ID:        "1001",
		Customer:  Customer{ID: "cus_8f2a", Email: "ana.lima@example.com", FirstName: "Ana", AcceptsMarketing: true},
		CreatedAt: utc(2025, 5, 30, 12, 3, 11, 0),
		UpdatedAt: utc(2025, 5, 30, 12, 5, 0, 250_000_000),
		Currency:  "EUR", Total: 5990, Status: StatusPaid, Source: SourceAPI,
		LineItems: []LineItem{
			{SKU: "TEE-BLK-M", Title: "Black tee, M", Quantity: 2, Price: 1995},
			{Title: "Gift wrap", Quantity: 1, Price: 2000},
		},
	}
	tests := []struct {
		file      string
		currency  string // Rules.Currency
		single    bool
		items     []wantItem
		batchErr  []string // pointers of a batch-level *ValidationError
		malformed bool
	}{
		{file: "single.json", single: true, items: []wantItem{ok(single)}},
		{file: "single.json", currency: "EUR", single: true, items: []wantItem{ok(single)}},
		{file: "single.json", currency: "USD", single: true, items: []wantItem{bad("/currency")}},
		{file: "discount_codes.json", single: true, items: []wantItem{ok(Order{
			ID:        "1002",
			Customer:  Customer{ID: "cus_8f2a", Email: "ana.lima@example.com", FirstName: "Ana", AcceptsMarketing: true},
			CreatedAt: utc(2025, 5, 31, 9, 0, 0, 0),
			Currency:  "EUR", Total: 4500, Status: StatusPaid, Source: SourceAPI,
			LineItems:     []LineItem{{SKU: "TEE-BLK-M", Title: "Black tee, M", Quantity: 2, Price: 2500}},
			DiscountCodes: []DiscountCode{{Code: "WB-7KQ2-M9XD", Amount: 500}, {Code: "FREESHIP"}},
		})}},
		{file: "batch.json", items: []wantItem{
			ok(Order{
				ID:        "820982911946154508",
				Customer:  Customer{ID: "115310627314723954", Email: "jon@example.com", FirstName: "Jon"},
				CreatedAt: utc(2025, 4, 2, 9, 15, 0, 0),
				Currency:  "USD", Total: 40300, Refunded: 4194, Status: StatusPaid, Source: SourceAPI, LineItems: ipods,
			}),
			ok(Order{ // paid and refunded in full: normalised to refunded
				ID: "A-2", Customer: Customer{ID: "c-77"}, CreatedAt: utc(2025, 6, 1, 6, 59, 59, 999_999_999),
				Currency: "USD", Total: 30, Refunded: 30, Status: StatusRefunded, Source: SourceAPI,
			}),
			ok(Order{ // refunded without refunded_total: the refund is the total
				ID: "A-3", Customer: Customer{ID: "c-77"}, CreatedAt: utc(2025, 5, 1, 8, 0, 0, 0),
				Currency: "USD", Total: 2500, Refunded: 2500, Status: StatusRefunded, Source: SourceAPI,
			}),
			ok(Order{
				ID: "A-4", Customer: Customer{ID: "c-78"}, CreatedAt: utc(2025, 5, 2, 8, 0, 0, 0),
				Currency: "USD", Total: 1000, Refunded: 1000, Status: StatusCancelled, Source: SourceAPI,
			}),
			ok(Order{
				ID: "A-5", Customer: Customer{ID: "c-79"}, CreatedAt: utc(2025, 5, 3, 8, 0, 0, 0),
				Currency: "USD", Status: StatusPending, Source: SourceAPI,
			}),
		}},
		{file: "batch_currencies.json", items: []wantItem{
			ok(Order{ID: "jp-1", Customer: Customer{ID: "k-1"}, CreatedAt: utc(2025, 5, 20, 1, 0, 0, 0), Currency: "JPY", Total: 12800, Status: StatusPaid, Source: SourceAPI,
				LineItems: []LineItem{{Title: "抹茶セット", Quantity: 2, Price: 6400}}}),
			ok(Order{ID: "jp-2", Customer: Customer{ID: "k-1"}, CreatedAt: utc(2025, 5, 21, 1, 0, 0, 0), Currency: "JPY", Total: 500, Status: StatusPaid, Source: SourceAPI}),
			ok(Order{ID: "kw-1", Customer: Customer{ID: "k-2"}, CreatedAt: utc(2025, 5, 22, 7, 0, 0, 0), Currency: "KWD", Total: 12345, Refunded: 5, Status: StatusPaid, Source: SourceAPI}),
			ok(Order{ID: "cl-1", Customer: Customer{ID: "k-3"}, CreatedAt: utc(2025, 5, 23, 14, 0, 0, 0), Currency: "CLF", Total: 12345, Status: StatusPaid, Source: SourceAPI}),
			ok(Order{ID: "max", Customer: Customer{ID: "k-4"}, CreatedAt: utc(2025, 5, 24, 10, 0, 0, 0), Currency: "USD", Total: MaxAmount, Status: StatusPaid, Source: SourceAPI}),
		}},
		{file: "batch_mixed.json", items: []wantItem{
			ok(Order{ID: "ok-1", Customer: Customer{ID: "c1"}, CreatedAt: utc(2025, 5, 1, 10, 0, 0, 0), Currency: "EUR", Total: 1000, Status: StatusPaid, Source: SourceAPI}),
			bad("/orders/1/customer/email", "/orders/1/total"),
			bad("/orders/2"),
			ok(Order{ID: "ok-2", Customer: Customer{ID: "c3"}, CreatedAt: utc(2025, 5, 1, 11, 0, 0, 0), Currency: "EUR", Total: 500, Status: StatusPending, Source: SourceAPI}),
		}},
		{file: "invalid_negative_total.json", single: true, items: []wantItem{bad("/line_items/0/price", "/refunded_total", "/total")}},
		{file: "invalid_unknown_currency.json", single: true, items: []wantItem{bad("/currency")}},
		{file: "invalid_currency_forms.json", currency: "EUR", items: []wantItem{
			bad("/orders/0/currency"), // "eur"
			bad("/orders/1/currency"), // XAU has no minor unit
			bad("/orders/2/currency"), // HRK was withdrawn in 2023
			bad("/orders/3/currency"), // USD is not the shop's currency
		}},
		{file: "invalid_future_date.json", single: true, items: []wantItem{bad("/created_at", "/updated_at")}},
		{file: "invalid_dates.json", items: []wantItem{
			bad("/orders/0/created_at"), // before 1995
			bad("/orders/1/created_at"), // no offset
			bad("/orders/2/created_at"), // date only
			bad("/orders/3/created_at"), // February 30
			bad("/orders/4/created_at"), // a number
			bad("/orders/5/created_at"), // +24:00
			ok(Order{ID: "d7", Customer: Customer{ID: "c"}, CreatedAt: utc(2025, 6, 2, 11, 59, 59, 0), Currency: "EUR", Total: 100, Status: StatusPaid, Source: SourceAPI}),
		}},
		{file: "invalid_empty_ids.json", single: true, items: []wantItem{bad("/customer/id", "/order_id")}},
		{file: "invalid_ids.json", items: []wantItem{
			bad("/orders/0/customer/id", "/orders/0/order_id"),
			bad("/orders/1/customer/id", "/orders/1/order_id"),
			bad("/orders/2/customer/id", "/orders/2/order_id"),
			bad("/orders/3/customer/id", "/orders/3/order_id"),
		}},
		{file: "invalid_long_strings.json", single: true, items: []wantItem{bad(
			"/customer/email", "/customer/first_name", "/line_items/0/sku", "/line_items/0/title", "/order_id")}},
		{file: "invalid_email.json", single: true, items: []wantItem{bad("/customer/email")}},
		{file: "invalid_unknown_field.json", single: true, items: []wantItem{bad(
			"/Line_Items", "/a~1b~0c", "/customer/emial", "/line_items/0/colour", "/total", "/totl")}},
		{file: "invalid_wrong_types.json", single: true, items: []wantItem{bad(
			"/customer/accepts_marketing", "/customer/email", "/customer/first_name", "/line_items", "/refunded_total", "/status", "/total")}},
		{file: "invalid_precision.json", single: true, items: []wantItem{bad(
			"/line_items/0/price", "/line_items/1/price", "/line_items/2/price", "/line_items/3/price", "/line_items/4/price",
			"/line_items/5/price", "/line_items/6/quantity", "/line_items/7/quantity", "/line_items/8/quantity", "/line_items/9/quantity",
			"/line_items/10/title", "/line_items/11/price", "/line_items/11/quantity", "/line_items/11/title",
			"/refunded_total", "/total")}},
		{file: "invalid_everything_missing.json", single: true, items: []wantItem{bad(
			"/created_at", "/currency", "/customer", "/order_id", "/status", "/total")}},
		{file: "invalid_refund_exceeds_total.json", single: true, items: []wantItem{bad("/refunded_total")}},
		{file: "invalid_duplicate_field.json", single: true, items: []wantItem{bad("/total")}},
		{file: "invalid_status.json", single: true, items: []wantItem{bad("/status")}},
		{file: "invalid_empty_batch.json", batchErr: []string{"/orders"}},
		{file: "invalid_batch_envelope.json", batchErr: []string{"/orders", "/shop"}},
		{file: "invalid_too_many_orders.json", batchErr: []string{"/orders"}},
		{file: "malformed_truncated.json", malformed: true},
		{file: "malformed_top_level_array.json", malformed: true},
		{file: "malformed_trailing_comma.json", malformed: true},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".json")+"/"+tt.currency, func(t *testing.T) {
			body := readFile(t, "testdata/api/"+tt.file)
			b, err := ParseBatch(body, Rules{Currency: tt.currency, Now: apiNow})
			switch {
			case tt.malformed:
				if !errors.Is(err, ErrMalformed) || errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				if !strings.Contains(err.Error(), "line ") {
					t.Errorf("malformed error %q has no position", err)
				}
				return
			case tt.batchErr != nil:
				if got := pointers(t, err); !equalStrings(got, tt.batchErr) {
					t.Fatalf("batch error pointers = %q, want %q (%v)", got, tt.batchErr, err)
				}
				if b.Items != nil {
					t.Errorf("items = %v alongside a batch error", b.Items)
				}
				return
			case err != nil:
				t.Fatalf("err = %v", err)
			}
			if b.Single != tt.single {
				t.Errorf("Single = %v, want %v", b.Single, tt.single)
			}
			if len(b.Items) != len(tt.items) {
				t.Fatalf("%d items, want %d", len(b.Items), len(tt.items))
			}
			for i, want := range tt.items {
				got := b.Items[i]
				if want.order != nil {
					if got.Err != nil {
						t.Errorf("item %d: unexpected error %v", i, got.Err)
						continue
					}
					if d := diffOrder(got.Order, *want.order); d != "" {
						t.Errorf("item %d: %s", i, d)
					}
					continue
				}
				if ps := pointers(t, got.Err); !equalStrings(ps, want.pointers) {
					t.Errorf("item %d: pointers = %q, want %q\n%v", i, ps, want.pointers, got.Err)
				}
			}
		})
	}
}

// TestParseBatchDetails pins the wording of the details a client reads.
func TestParseBatchDetails(t *testing.T) {
	tests := []struct {
		file, currency, pointer, want string
	}{
		{"invalid_negative_total.json", "", "/total", "must not be negative"},
		{"invalid_unknown_currency.json", "", "/currency", `unknown currency: must be an active ISO 4217 code like "EUR"`},
		{"invalid_currency_forms.json", "EUR", "/orders/0/currency", "must be in upper case (EUR)"},
		{"invalid_currency_forms.json", "EUR", "/orders/3/currency", "must be the shop's currency EUR"},
		{"invalid_future_date.json", "", "/created_at", "must not be more than a day in the future"},
		{"invalid_dates.json", "", "/orders/0/created_at", "must not be before 1995-01-01"},
		{"invalid_empty_ids.json", "", "/order_id", "must not be empty"},
		{"invalid_long_strings.json", "", "/order_id", "must be at most 128 characters"},
		{"invalid_long_strings.json", "", "/customer/first_name", "must be at most 100 characters"},
		{"invalid_email.json", "", "/customer/email", "must be a bare address like name@example.com, without display name"},
		{"invalid_unknown_field.json", "", "/totl", "unknown field"},
		{"invalid_unknown_field.json", "", "/total", "is required"},
		{"invalid_wrong_types.json", "", "/total", `must be a decimal amount, as a string like "19.99" or a number, not a boolean`},
		{"invalid_precision.json", "", "/total", "has more decimal places than USD has (2)"},
		{"invalid_precision.json", "", "/refunded_total", `must be a plain decimal like "19.99", without exponent`},
		{"invalid_precision.json", "", "/line_items/5/price", "must be at most 10000000000.00"},
		{"invalid_precision.json", "", "/line_items/10/title", "must not be empty"},
		{"invalid_refund_exceeds_total.json", "", "/refunded_total", "must not exceed total (10.00)"},
		{"invalid_duplicate_field.json", "", "/total", "duplicate field"},
		{"invalid_too_many_orders.json", "", "/orders", "must contain at most 100 orders, not 101"},
	}
	for _, tt := range tests {
		t.Run(tt.file+tt.pointer, func(t *testing.T) {
			b, err := ParseBatch(readFile(t, "testdata/api/"+tt.file), Rules{Currency: tt.currency, Now: apiNow})
			if err == nil {
				for _, it := range b.Items {
					if d := detail(it.Err, tt.pointer); d != "" {
						err = it.Err
						break
					}
				}
			}
			if got := detail(err, tt.pointer); got != tt.want {
				t.Errorf("detail at %s = %q, want %q (%v)", tt.pointer, got, tt.want, err)
			}
		})
	}
}

func TestParseBatchInline(t *testing.T) {
	const valid = `"customer":{"id":"c"},"created_at":"2025-05-30T10:00:00Z","currency":"EUR","total":"1.00","status":"paid"`
	tests := []struct {
		name      string
		body      string
		pointers  []string // of Items[0].Err
		malformed bool
	}{
		{name: "empty body", body: "", malformed: true},
		{name: "white space", body: " \n", malformed: true},
		{name: "null", body: "null", malformed: true},
		{name: "string", body: `"order"`, malformed: true},
		{name: "two objects", body: `{}{}`, malformed: true},
		{name: "bad escape", body: `{"order_id":"\x"}`, malformed: true},
		{name: "raw newline in string", body: "{\"order_id\":\"a\nb\"}", malformed: true},
		{name: "single quotes", body: `{'order_id':'1'}`, malformed: true},
		{name: "NaN", body: `{"total":NaN}`, malformed: true},
		{name: "too deep", body: strings.Repeat(`{"a":`, 1001) + "1" + strings.Repeat("}", 1001), malformed: true},
		{name: "valid", body: `{"order_id":"1",` + valid + `}`},
		{name: "integer id with exponent", body: `{"order_id":1e3,` + valid + `}`, pointers: []string{"/order_id"}},
		{name: "negative integer id", body: `{"order_id":-1,` + valid + `}`, pointers: []string{"/order_id"}},
		{name: "escaped control character", body: `{"order_id":"a\u0000",` + valid + `}`, pointers: []string{"/order_id"}},
		{name: "invalid UTF-8", body: "{\"order_id\":\"a\xffb\"," + valid + "}", pointers: []string{"/order_id"}},
		{name: "lone surrogate", body: `{"order_id":"a\ud800",` + valid + `}`, pointers: []string{"/order_id"}},
		{name: "null required", body: `{"order_id":null,` + valid + `}`, pointers: []string{"/order_id"}},
		{name: "case-sensitive names", body: `{"Order_ID":"1",` + valid + `}`, pointers: []string{"/Order_ID", "/order_id"}},
		{name: "pointer escaping", body: `{"order_id":"1","~":1,"/":2,` + valid + `}`, pointers: []string{"/~0", "/~1"}},
		{name: "slash in a customer id", body: `{"order_id":"a/b","customer":{"id":"c/1"},"created_at":"2025-05-30T10:00:00Z","currency":"EUR","total":"1.00","status":"paid"}`, pointers: []string{"/customer/id"}},
		{name: "email without domain dot", body: `{"order_id":"1","customer":{"id":"c","email":"a@localhost"},"created_at":"2025-05-30T10:00:00Z","currency":"EUR","total":"1.00","status":"paid"}`, pointers: []string{"/customer/email"}},
		{name: "lower-case t and z", body: `{"order_id":"1","customer":{"id":"c"},"created_at":"2025-05-30t10:00:00z","currency":"EUR","total":"1.00","status":"paid"}`},
		{name: "ten fraction digits", body: `{"order_id":"1","customer":{"id":"c"},"created_at":"2025-05-30T10:00:00.1234567890Z","currency":"EUR","total":"1.00","status":"paid"}`, pointers: []string{"/created_at"}},
		{name: "comma fraction", body: `{"order_id":"1","customer":{"id":"c"},"created_at":"2025-05-30T10:00:00,5Z","currency":"EUR","total":"1.00","status":"paid"}`, pointers: []string{"/created_at"}},
		{name: "line items over 250", body: `{"order_id":"1",` + valid + `,"line_items":[` + strings.TrimSuffix(strings.Repeat(`{"title":"t","quantity":1,"price":"1"},`, 251), ",") + `]}`, pointers: []string{"/line_items"}},
		{name: "line items exactly 250", body: `{"order_id":"1",` + valid + `,"line_items":[` + strings.TrimSuffix(strings.Repeat(`{"title":"t","quantity":1,"price":"1"},`, 250), ",") + `]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBatch([]byte(tt.body), Rules{Now: apiNow})
			if tt.malformed {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got := pointers(t, b.Items[0].Err); !equalStrings(got, tt.pointers) {
				t.Errorf("pointers = %q, want %q (%v)", got, tt.pointers, b.Items[0].Err)
			}
		})
	}
}

func TestMalformedPosition(t *testing.T) {
	_, err := ParseBatch([]byte("{\n  \"order_id\": \"1\",\n  \"total\": 1.\n}"), Rules{Now: apiNow})
	const want = "malformed JSON: unexpected byte 0x0a after decimal point in number at line 3, column 14 (byte 34)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestBatchOneMaximal(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"orders":[`)
	for i := 0; i < MaxBatch; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"order_id":"` + strings.Repeat("9", i+1) + `","customer":{"id":"c"},"created_at":"2025-05-30T10:00:00Z","currency":"EUR","total":"1.00","status":"paid"}`)
	}
	sb.WriteString(`]}`)
	b, err := ParseBatch([]byte(sb.String()), Rules{Currency: "EUR", Now: apiNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Items) != MaxBatch || b.Single {
		t.Fatalf("got %d items, single %v", len(b.Items), b.Single)
	}
	for i, it := range b.Items {
		if it.Err != nil || it.Order.ID != strings.Repeat("9", i+1) {
			t.Fatalf("item %d: %+v", i, it)
		}
	}
}

func TestValidationErrorMessage(t *testing.T) {
	_, err := ParseBatch([]byte(`{"orders":[]}`), Rules{Now: apiNow})
	if got, want := err.Error(), "invalid order: /orders: must contain at least one order"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	b, _ := ParseBatch(readFile(t, "testdata/api/invalid_everything_missing.json"), Rules{Now: apiNow})
	want := "invalid order: /created_at: is required; /currency: is required; /customer: is required (and 3 more)"
	if got := b.Items[0].Err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestComparePointers(t *testing.T) {
	ordered := []string{"", "/a", "/a/0", "/a/2", "/a/10", "/a/10/x", "/a/b", "/b", "/b~1c"}
	for i := range ordered {
		for j := range ordered {
			got := comparePointers(ordered[i], ordered[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("comparePointers(%q, %q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	valid := map[string]string{
		"ana@example.com":               "ana@example.com",
		" Ana.Lima+shop@Example.CO.uk ": "ana.lima+shop@example.co.uk",
		"o'brien@xn--bcher-kva.example": "o'brien@xn--bcher-kva.example",
		"a_b-c@sub-domain.example.org":  "a_b-c@sub-domain.example.org",
	}
	for in, want := range valid {
		if got, d := normalizeEmail(in); got != want || d != "" {
			t.Errorf("normalizeEmail(%q) = %q, %q; want %q", in, got, d, want)
		}
	}
	for _, in := range []string{
		"", "ana", "@example.com", "ana@", "ana@example", "ana@@example.com", "ana@-example.com", "ana@example-.com",
		"ana@exa_mple.com", ".ana@example.com", "ana.@example.com", "an..a@example.com", `"ana"@example.com`,
		"Ana <ana@example.com>", "<ana@example.com>", "ana lima@example.com", "ana@[192.0.2.1]", "ana@192.0.2.1",
		"josé@example.com", "ana@bücher.example", strings.Repeat("a", 65) + "@example.com", "ana@" + strings.Repeat("a", 64) + ".com",
		"a@b..com", "a(comment)@example.com",
	} {
		if got, d := normalizeEmail(in); d == "" {
			t.Errorf("normalizeEmail(%q) = %q, want an error", in, got)
		}
	}
}
