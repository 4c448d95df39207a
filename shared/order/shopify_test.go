package order

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// jon is the customer of the Shopify samples.
var jon = Customer{ID: "115310627314723954", Email: "jon@example.com", FirstName: "Jon", AcceptsMarketing: true}

// ipodLines are the line items of the Shopify samples.
var ipodLines = []LineItem{
	{SKU: "IPOD2008BLACK", Title: "IPod Nano - 8gb", Quantity: 1, Price: 19900},
	{SKU: "IPOD2008PINK", Title: "IPod Nano - 8gb", Quantity: 1, Price: 20400},
}

func TestParseShopifySamples(t *testing.T) {
	created := utc(2025, 5, 28, 17, 22, 41, 0)
	tenOff := []DiscountCode{{Code: "TENOFF", Amount: 500}}
	paid := Order{
		ID: "820982911946154508", Customer: jon, CreatedAt: created, UpdatedAt: created,
		Currency: "USD", Total: 40300, Status: StatusPaid, LineItems: ipodLines, Source: SourceShopify,
		DiscountCodes: tenOff,
	}
	with := func(f func(*Order)) *Order {
		o := paid
		f(&o)
		return &o
	}
	tests := []struct {
		file     string
		currency string
		want     *Order
		ignored  string
		pointers []string
	}{
		{file: "orders_create_paid.json", want: &paid},
		{file: "orders_create_paid.json", currency: "USD", want: &paid},
		{file: "orders_create_paid.json", currency: "EUR", pointers: []string{"/currency"}},
		{file: "orders_updated_partial_refund.json", want: with(func(o *Order) {
			o.UpdatedAt = utc(2025, 6, 1, 13, 30, 5, 0)
			o.Refunded = 4194 // the failed 10.00 refund is not counted
		})},
		{file: "orders_updated_refunded.json", want: with(func(o *Order) {
			o.UpdatedAt = utc(2025, 6, 2, 15, 0, 0, 0)
			o.Refunded, o.Status = 40300, StatusRefunded
		})},
		{file: "orders_updated_refunded_in_full_while_paid.json", want: with(func(o *Order) {
			o.UpdatedAt = utc(2025, 6, 2, 15, 0, 0, 0)
			o.Refunded, o.Status = 40300, StatusRefunded // 200 + 203; the "change" transaction is not a refund
		})},
		{file: "orders_cancelled.json", want: with(func(o *Order) {
			o.UpdatedAt = utc(2025, 5, 28, 19, 0, 1, 0)
			o.Status = StatusCancelled
		})},
		{file: "orders_create_guest.json", want: &Order{
			ID:        "820982911946154999",
			Customer:  Customer{ID: "email:a41d11d80a251abc", Email: "guest.buyer@example.org", FirstName: "María", AcceptsMarketing: true},
			CreatedAt: created, UpdatedAt: created, Currency: "USD", Total: 1999, Status: StatusPaid, Source: SourceShopify,
			LineItems: []LineItem{{Title: "Gift card", Quantity: 1, Price: 1999}}, DiscountCodes: tenOff,
		}},
		{file: "orders_updated_multicurrency_refund.json", want: with(func(o *Order) {
			o.UpdatedAt = utc(2025, 6, 1, 13, 30, 5, 0)
			o.Total = 11000
			o.Refunded = 2751 // 25.01 EUR at 110.00 USD / 100.00 EUR = 27.511 USD
			o.LineItems = []LineItem{{SKU: "SCARF-GRY", Title: "Wool scarf", Quantity: 2, Price: 5500}}
		})},
		{file: "orders_create_test.json", ignored: IgnoredTest},
		{file: "orders_create_pos_no_customer.json", ignored: IgnoredNoCustomer},
		{file: "invalid_order.json", currency: "USD", pointers: []string{
			"/created_at", "/currency", "/customer/id", "/line_items/0/price", "/line_items/1/quantity",
			"/refunds/0/transactions/0/currency", "/total_price",
		}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".json")+"/"+tt.currency, func(t *testing.T) {
			o, ignored, err := ParseShopify(readFile(t, "testdata/shopify/"+tt.file), Rules{Currency: tt.currency, Now: shopifyNow})
			if ignored != tt.ignored {
				t.Errorf("ignored = %q, want %q", ignored, tt.ignored)
			}
			if tt.pointers != nil {
				if got := pointers(t, err); !equalStrings(got, tt.pointers) {
					t.Errorf("pointers = %q, want %q\n%v", got, tt.pointers, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.want == nil {
				if !isZeroOrder(o) {
					t.Errorf("ignored order came with %+v", o)
				}
				return
			}
			if d := diffOrder(o, *tt.want); d != "" {
				t.Error(d)
			}
		})
	}
}

func isZeroOrder(o Order) bool {
	return o.ID == "" && o.Customer == (Customer{}) && o.CreatedAt.IsZero() && o.Total == 0 && o.Status == "" && o.LineItems == nil
}

// editSample returns the paid Shopify sample with edit applied to its
// decoded form (numbers kept exact).
func editSample(t *testing.T, edit func(m map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(readFile(t, "testdata/shopify/orders_create_paid.json")))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseShopifyMapping(t *testing.T) {
	customer := func(m map[string]any) map[string]any { return m["customer"].(map[string]any) }
	tests := []struct {
		name    string
		edit    func(m map[string]any)
		check   func(t *testing.T, o Order)
		ignored string
	}{
		{name: "ids stay exact above 2^53", edit: func(m map[string]any) {
			m["id"] = json.Number("9007199254740993")
			customer(m)["id"] = json.Number("18446744073709551615")
		}, check: func(t *testing.T, o Order) {
			if o.ID != "9007199254740993" || o.Customer.ID != "18446744073709551615" {
				t.Errorf("ids = %s, %s", o.ID, o.Customer.ID)
			}
		}},
		{name: "name is not the id", edit: func(m map[string]any) { m["name"] = "#9999" }, check: func(t *testing.T, o Order) {
			if o.ID != "820982911946154508" {
				t.Errorf("ID = %s", o.ID)
			}
		}},
		{name: "consent not subscribed beats accepts_marketing", edit: func(m map[string]any) {
			customer(m)["email_marketing_consent"] = map[string]any{"state": "unsubscribed"}
			customer(m)["accepts_marketing"] = true
			m["buyer_accepts_marketing"] = true
		}, check: wantConsent(false)},
		{name: "accepts_marketing when consent is null", edit: func(m map[string]any) {
			customer(m)["email_marketing_consent"] = nil
			customer(m)["accepts_marketing"] = true
		}, check: wantConsent(true)},
		{name: "buyer_accepts_marketing last", edit: func(m map[string]any) {
			delete(customer(m), "email_marketing_consent")
			m["buyer_accepts_marketing"] = true
		}, check: wantConsent(true)},
		{name: "no consent anywhere", edit: func(m map[string]any) {
			delete(customer(m), "email_marketing_consent")
			delete(m, "buyer_accepts_marketing")
		}, check: wantConsent(false)},
		{name: "email falls back to the order", edit: func(m map[string]any) {
			customer(m)["email"] = nil
			m["email"] = "Order@Example.com"
		}, check: func(t *testing.T, o Order) {
			if o.Customer.Email != "order@example.com" || o.Customer.ID != jon.ID {
				t.Errorf("customer = %+v", o.Customer)
			}
		}},
		{name: "email falls back to contact_email", edit: func(m map[string]any) {
			customer(m)["email"] = ""
			m["email"] = ""
			m["contact_email"] = "contact@example.com"
		}, check: func(t *testing.T, o Order) {
			if o.Customer.Email != "contact@example.com" {
				t.Errorf("email = %q", o.Customer.Email)
			}
		}},
		{name: "an address we cannot mail is dropped, the order kept", edit: func(m map[string]any) {
			customer(m)["email"] = "José <jose@example.com>"
		}, check: func(t *testing.T, o Order) {
			if o.Customer.Email != "" || o.Customer.ID != jon.ID {
				t.Errorf("customer = %+v", o.Customer)
			}
		}},
		{name: "first name from the billing address", edit: func(m map[string]any) {
			customer(m)["first_name"] = nil
		}, check: func(t *testing.T, o Order) {
			if o.Customer.FirstName != "Steve" {
				t.Errorf("first name = %q", o.Customer.FirstName)
			}
		}},
		{name: "first name cleaned and cut", edit: func(m map[string]any) {
			customer(m)["first_name"] = " Jo\u0000n" + strings.Repeat("n", 200)
		}, check: func(t *testing.T, o Order) {
			if want := "Jo n" + strings.Repeat("n", 96); o.Customer.FirstName != want {
				t.Errorf("first name = %q", o.Customer.FirstName)
			}
		}},
		{name: "customer without id is a guest", edit: func(m map[string]any) {
			customer(m)["id"] = nil
		}, check: func(t *testing.T, o Order) {
			if o.Customer.ID != GuestCustomerID("jon@example.com") || o.Customer.FirstName != "Jon" {
				t.Errorf("customer = %+v", o.Customer)
			}
		}},
		{name: "customer id as a string", edit: func(m map[string]any) { customer(m)["id"] = "115310627314723954" }, check: func(t *testing.T, o Order) {
			if o.Customer.ID != jon.ID {
				t.Errorf("customer id = %q", o.Customer.ID)
			}
		}},
		{name: "no customer, no e-mail", edit: func(m map[string]any) {
			m["customer"] = nil
			m["email"] = "  "
			delete(m, "contact_email")
		}, ignored: IgnoredNoCustomer},
		{name: "test wins over everything", edit: func(m map[string]any) {
			m["test"] = true
			m["total_price"] = "-1"
		}, ignored: IgnoredTest},
		{name: "test false is a real order", edit: func(m map[string]any) { m["test"] = false }, check: wantStatus(StatusPaid, 0)},
		{name: "authorized is pending", edit: func(m map[string]any) { m["financial_status"] = "authorized" }, check: wantStatus(StatusPending, 0)},
		{name: "partially_paid is pending", edit: func(m map[string]any) { m["financial_status"] = "partially_paid" }, check: wantStatus(StatusPending, 0)},
		{name: "unpaid is pending", edit: func(m map[string]any) { m["financial_status"] = "unpaid" }, check: wantStatus(StatusPending, 0)},
		{name: "expired is pending", edit: func(m map[string]any) { m["financial_status"] = "expired" }, check: wantStatus(StatusPending, 0)},
		{name: "missing financial status is pending", edit: func(m map[string]any) { delete(m, "financial_status") }, check: wantStatus(StatusPending, 0)},
		{name: "refunded without refunds refunds the total", edit: func(m map[string]any) { m["financial_status"] = "refunded" }, check: wantStatus(StatusRefunded, 40300)},
		{name: "voided is cancelled", edit: func(m map[string]any) { m["financial_status"] = "voided" }, check: wantStatus(StatusCancelled, 0)},
		{name: "cancelled_at beats paid", edit: func(m map[string]any) { m["cancelled_at"] = "2025-05-29T10:00:00Z" }, check: wantStatus(StatusCancelled, 0)},
		{name: "refunds above the total are capped", edit: func(m map[string]any) {
			m["financial_status"] = "partially_refunded"
			m["refunds"] = []any{map[string]any{"transactions": []any{
				map[string]any{"kind": "refund", "status": "success", "amount": "400.00", "currency": "USD"},
				map[string]any{"kind": "refund", "status": "success", "amount": "10.00"},
				map[string]any{"kind": "refund", "status": "pending", "amount": "10.00"},
				map[string]any{"kind": "sale", "status": "success", "amount": "10.00"},
			}}}
		}, check: wantStatus(StatusRefunded, 40300)},
		{name: "total from total_price_set", edit: func(m map[string]any) {
			delete(m, "total_price")
		}, check: wantStatus(StatusPaid, 0)},
		{name: "line item price from price_set and title from name", edit: func(m map[string]any) {
			li := m["line_items"].([]any)[0].(map[string]any)
			delete(li, "price")
			li["title"] = ""
			li["name"] = "IPod Nano - 8gb - black"
			li["sku"] = nil
		}, check: func(t *testing.T, o Order) {
			if want := (LineItem{Title: "IPod Nano - 8gb - black", Quantity: 1, Price: 19900}); o.LineItems[0] != want {
				t.Errorf("line item = %+v, want %+v", o.LineItems[0], want)
			}
		}},
		{name: "only the first 250 line items", edit: func(m map[string]any) {
			li := m["line_items"].([]any)[0]
			var many []any
			for range 300 {
				many = append(many, li)
			}
			m["line_items"] = many
		}, check: func(t *testing.T, o Order) {
			if len(o.LineItems) != MaxLineItems {
				t.Errorf("%d line items", len(o.LineItems))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, ignored, err := ParseShopify(editSample(t, tt.edit), Rules{Currency: "USD", Now: shopifyNow})
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if ignored != tt.ignored {
				t.Fatalf("ignored = %q, want %q", ignored, tt.ignored)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

func wantConsent(want bool) func(*testing.T, Order) {
	return func(t *testing.T, o Order) {
		t.Helper()
		if o.Customer.AcceptsMarketing != want {
			t.Errorf("AcceptsMarketing = %v, want %v", o.Customer.AcceptsMarketing, want)
		}
	}
}

func wantStatus(status Status, refunded int64) func(*testing.T, Order) {
	return func(t *testing.T, o Order) {
		t.Helper()
		if o.Status != status || o.Refunded != refunded || o.Total != 40300 {
			t.Errorf("status, refunded, total = %s, %d, %d; want %s, %d, 40300", o.Status, o.Refunded, o.Total, status, refunded)
		}
	}
}

func TestParseShopifyErrors(t *testing.T) {
	tests := []struct {
		name      string
		body      []byte
		pointers  []string
		malformed bool
	}{
		{name: "not JSON", body: []byte("id=1"), malformed: true},
		{name: "an array", body: []byte(`[{"id":1}]`), malformed: true},
		{name: "nothing we need", body: []byte(`{"email":"a@example.com"}`), pointers: []string{"/created_at", "/currency", "/id", "/total_price"}},
		{name: "float id", body: editSample(t, func(m map[string]any) { m["id"] = json.Number("8.2e17") }), pointers: []string{"/id"}},
		{name: "bad dates", body: editSample(t, func(m map[string]any) {
			m["created_at"] = "2025-05-28 13:22:41"
			m["updated_at"] = "2025-06-05T00:00:01Z"
		}), pointers: []string{"/created_at", "/updated_at"}},
		{name: "unknown currency", body: editSample(t, func(m map[string]any) { m["currency"] = "BTC" }), pointers: []string{"/currency"}},
		{name: "total as a float-ish number is read exactly", body: editSample(t, func(m map[string]any) { m["total_price"] = json.Number("403.001") }), pointers: []string{"/total_price"}},
		{name: "bad total in the price set", body: editSample(t, func(m map[string]any) {
			delete(m, "total_price")
			m["total_price_set"] = map[string]any{"shop_money": map[string]any{"amount": "abc", "currency_code": "USD"}}
		}), pointers: []string{"/total_price_set/shop_money/amount"}},
		{name: "refund without amount", body: editSample(t, func(m map[string]any) {
			m["refunds"] = []any{map[string]any{"transactions": []any{map[string]any{"kind": "refund", "status": "success"}}}}
		}), pointers: []string{"/refunds/0/transactions/0/amount"}},
		{name: "presentment refund without presentment total", body: editSample(t, func(m map[string]any) {
			m["presentment_currency"] = "EUR"
			m["refunds"] = []any{map[string]any{"transactions": []any{map[string]any{"kind": "refund", "status": "success", "amount": "1.00", "currency": "EUR"}}}}
		}), pointers: []string{"/total_price_set/presentment_money"}},
		{name: "line item without quantity and price", body: editSample(t, func(m map[string]any) {
			m["line_items"] = []any{map[string]any{"title": "x"}, "y"}
		}), pointers: []string{"/line_items/0/price", "/line_items/0/quantity", "/line_items/1"}},
		{name: "customer not an object", body: editSample(t, func(m map[string]any) { m["customer"] = "jon" }), pointers: []string{"/customer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ignored, err := ParseShopify(tt.body, Rules{Currency: "USD", Now: shopifyNow})
			if ignored != "" {
				t.Fatalf("ignored = %q", ignored)
			}
			if tt.malformed {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if got := pointers(t, err); !equalStrings(got, tt.pointers) {
				t.Errorf("pointers = %q, want %q\n%v", got, tt.pointers, err)
			}
		})
	}
}

func TestGuestCustomerID(t *testing.T) {
	a := GuestCustomerID(" Guest.Buyer@Example.org ")
	if a != "email:a41d11d80a251abc" || a != GuestCustomerID("guest.buyer@example.org") {
		t.Errorf("GuestCustomerID = %q", a)
	}
	if GuestCustomerID("other@example.org") == a {
		t.Error("different addresses share an id")
	}
}

func TestConvert(t *testing.T) {
	tests := []struct{ amount, num, den, want int64 }{
		{2501, 11000, 10000, 2751},
		{1, 1, 2, 1}, // half rounds up
		{1, 1, 3, 0},
		{MaxAmount - 1, MaxAmount, MaxAmount, MaxAmount - 1}, // no overflow at 10^24
		{0, MaxAmount, 7, 0},
	}
	for _, tt := range tests {
		if got := convert(tt.amount, tt.num, tt.den); got != tt.want {
			t.Errorf("convert(%d, %d, %d) = %d, want %d", tt.amount, tt.num, tt.den, got, tt.want)
		}
	}
}
