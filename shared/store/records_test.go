package store

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
)

// TestEntryEncoding pins the compact summary entry: the short form for an
// entry without codes (as written before codes existed), and codes of any
// printable characters quoted after the discount.
func TestEntryEncoding(t *testing.T) {
	at := time.Date(2025, 5, 2, 9, 0, 0, 0, time.UTC).Unix()
	tests := []struct {
		name string
		e    customer.Entry
		enc  string
	}{
		{"paid", customer.Entry{At: at, Net: 8940, Status: order.StatusPaid}, "psvmmc0.6wc"},
		{"refunded", customer.Entry{At: at, Status: order.StatusRefunded}, "rsvmmc0.0"},
		{"coupon with its discount", customer.Entry{At: at, Net: 8940, Status: order.StatusPaid, Codes: []string{"WB-7KQ2-M9XD"}, Discount: 500},
			`psvmmc0.6wc.dw["WB-7KQ2-M9XD"]`},
		{"codes without a discount", customer.Entry{At: at, Net: 8940, Status: order.StatusPaid, Codes: []string{"A", "B"}},
			`psvmmc0.6wc.0["A","B"]`},
		{"codes with the separators in them", customer.Entry{At: at, Net: 1, Status: order.StatusPaid, Codes: []string{`VIP.10% [OFF], "ÉTÉ"\`, "<&>"}, Discount: 35},
			`psvmmc0.1.z["VIP.10% [OFF], \"ÉTÉ\"\\","\u003c\u0026\u003e"]`},
		{"before 1970", customer.Entry{At: -1, Net: 2, Status: order.StatusPaid, Codes: []string{"X"}, Discount: 1}, `p-1.2.1["X"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := encodeEntry(tt.e)
			if enc != tt.enc {
				t.Errorf("encodeEntry = %s, want %s", enc, tt.enc)
			}
			back, err := decodeEntry(enc)
			if err != nil || !reflect.DeepEqual(back, tt.e) {
				t.Errorf("decodeEntry(%s) = %+v, %v; want %+v", enc, back, err, tt.e)
			}
		})
	}
}

func TestDecodeEntryRefusesDamage(t *testing.T) {
	for _, s := range []string{
		"", "p", "psvmmc0", "xsvmmc0.6wc", "psvmmc0.6w!", "psvmmc0.6wc.", "psvmmc0.6wc.dw",
		`psvmmc0.6wc.d!["A"]`, `psvmmc0.6wc.dw["A"`, `psvmmc0.6wc.dw[1]`, `psvmmc0.6wc.dw{"A":1}`,
	} {
		if e, err := decodeEntry(s); err == nil {
			t.Errorf("decodeEntry(%q) = %+v, want an error", s, e)
		}
	}
}

// FuzzEntryEncoding: every entry decodes to itself, whatever its codes.
func FuzzEntryEncoding(f *testing.F) {
	f.Add(int64(1746176400), int64(8940), int64(500), "WB-7KQ2-M9XD", "VIP.10% [OFF]")
	f.Add(int64(0), int64(0), int64(0), "", "")
	f.Add(int64(-5), int64(1<<40), int64(0), `"]`, ".[")
	f.Fuzz(func(t *testing.T, at, net, discount int64, c1, c2 string) {
		var codes []string
		for _, c := range []string{c1, c2} {
			if c != "" && strings.ToValidUTF8(c, "") == c {
				codes = append(codes, c)
			}
		}
		e := customer.Entry{At: at, Net: net, Status: order.StatusPaid, Codes: codes, Discount: discount}
		back, err := decodeEntry(encodeEntry(e))
		if err != nil || !reflect.DeepEqual(back, e) {
			t.Fatalf("%+v encoded as %q decodes to %+v, %v", e, encodeEntry(e), back, err)
		}
	})
}

// TestOrderRecordKeepsDiscountCodes: an order's codes survive the record,
// and an order without codes has no discount_codes attribute.
func TestOrderRecordKeepsDiscountCodes(t *testing.T) {
	o := order.Order{
		ID: "1001", Customer: order.Customer{ID: "c-1"}, CreatedAt: time.Date(2025, 5, 2, 9, 0, 0, 0, time.UTC),
		Currency: "EUR", Total: 4500, Status: order.StatusPaid, Source: order.SourceAPI,
		DiscountCodes: []order.DiscountCode{{Code: "WB-7KQ2-M9XD", Amount: 500}, {Code: "FREESHIP"}},
	}
	for _, codes := range [][]order.DiscountCode{o.DiscountCodes, nil} {
		o.DiscountCodes = codes
		item, err := attributevalue.MarshalMap(toOrderRecord("shop_1", o, o.CreatedAt))
		if err != nil {
			t.Fatal(err)
		}
		if _, has := item["discount_codes"]; has != (codes != nil) {
			t.Errorf("codes %v: discount_codes attribute present = %v", codes, has)
		}
		var r orderRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			t.Fatal(err)
		}
		back, err := r.order()
		if err != nil || !reflect.DeepEqual(back.DiscountCodes, codes) || back.Hash() != o.Hash() {
			t.Errorf("codes %v: read back %+v, %v", codes, back.DiscountCodes, err)
		}
	}
}
