package order

import (
	"bytes"
	"encoding/json"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// zerosBody is a 1 MiB {"orders":[0,0,...]}: far more orders than MaxBatch.
func zerosBody() []byte {
	const size = 1 << 20
	b := bytes.NewBufferString(`{"orders":[0`)
	for b.Len() < size-3 {
		b.WriteString(",0")
	}
	b.WriteString("]}")
	return b.Bytes()
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestParseBatchTooManyOrdersBounded(t *testing.T) {
	body := zerosBody()
	var err error
	n := allocated(func() { _, err = ParseBatch(body, Rules{Now: apiNow}) })
	want := "must contain at most 100 orders, not " + strconv.Itoa((len(body)-len(`{"orders":[]}`)+1)/2)
	if got := detail(err, "/orders"); got != want {
		t.Errorf("detail = %q, want %q (%v)", got, want, err)
	}
	if limit := uint64(8 << 20); n > limit {
		t.Errorf("refusing a 1 MiB body allocated %d bytes, want < %d", n, limit)
	}
}

// TestParseBatchHostileBodiesBounded checks that bodies built to make the
// parser work hard are answered with bounded memory and a bounded error.
func TestParseBatchHostileBodiesBounded(t *testing.T) {
	const valid = `"order_id":"1","customer":{"id":"c"},"created_at":"2025-05-30T10:00:00Z","currency":"EUR","total":"1.00","status":"paid"`
	repeat := func(prefix, item, suffix string) []byte {
		var b strings.Builder
		b.WriteString(prefix)
		for i := 0; b.Len() < 1<<20; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(item)
		}
		b.WriteString(suffix)
		return []byte(b.String())
	}
	tests := []struct {
		name string
		body []byte
		ptr  string // the first pointer listed
	}{
		{"repeated member", repeat(`{`+valid+",", `"total":"1.00"`, `}`), "/total"},
		{"unknown members", repeat(`{`+valid+",", `"x":0`, `}`), "/x"},
		{"long line items", repeat(`{`+valid+`,"line_items":[`, `0`, `]}`), "/line_items"},
		{"long discount codes", repeat(`{`+valid+`,"discount_codes":[`, `{"code":"A","amount":"1.00"}`, `]}`), "/discount_codes"},
		{"unknown array", repeat(`{`+valid+`,"junk":[`, `{"a":[0]}`, `]}`), "/junk"},
		{"many line item objects", repeat(`{"orders":[{`+valid+`,"line_items":[`, `{"title":""}`, `]}]}`), "/orders/0/line_items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Batch
			var err error
			n := allocated(func() { b, err = ParseBatch(tt.body, Rules{Now: apiNow}) })
			if err == nil {
				err = b.Items[0].Err
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if len(ve.Fields) > MaxFieldErrors || ve.Fields[0].Pointer != tt.ptr {
				t.Errorf("%d fields (more %d), first %+v", len(ve.Fields), ve.More, ve.Fields[0])
			}
			if limit := uint64(64 << 20); n > limit {
				t.Errorf("a 1 MiB body allocated %d MB", n>>20)
			}
			t.Logf("%d fields, %d more, %.1f MB allocated", len(ve.Fields), ve.More, float64(n)/(1<<20))
		})
	}
}

func TestFieldErrorsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"order_id":"1"`)
	for i := range 3 * MaxFieldErrors {
		b.WriteString(`,"x` + strconv.Itoa(i) + `":0`)
	}
	b.WriteString(`}`)
	bt, err := ParseBatch([]byte(b.String()), Rules{Now: apiNow})
	if err != nil {
		t.Fatal(err)
	}
	var ve *ValidationError
	if !errors.As(bt.Items[0].Err, &ve) {
		t.Fatalf("err = %v", bt.Items[0].Err)
	}
	// 150 unknown members and 5 missing required ones, of which the first
	// 50 in pointer order are listed.
	if len(ve.Fields) != MaxFieldErrors || ve.More != 3*MaxFieldErrors+5-MaxFieldErrors {
		t.Fatalf("%d fields, %d more", len(ve.Fields), ve.More)
	}
	want := []string{"/created_at", "/currency", "/customer", "/status", "/total", "/x0", "/x1", "/x10", "/x100", "/x101"}
	if got := pointers(t, ve)[:len(want)]; !equalStrings(got, want) {
		t.Errorf("first pointers = %q, want %q", got, want)
	}
	if got := ve.Error(); !strings.HasSuffix(got, "(and 152 more)") {
		t.Errorf("Error() = %q", got)
	}
}

func TestProblemsKeepFirstInPointerOrder(t *testing.T) {
	var p problems
	for i := 3 * MaxFieldErrors; i > 0; i-- {
		p.addAt("/a/"+strconv.Itoa(i), "bad")
		p.addAt("/a/"+strconv.Itoa(i), "worse")
	}
	var ve *ValidationError
	if !errors.As(p.err(), &ve) {
		t.Fatal("no error")
	}
	if len(ve.Fields) != MaxFieldErrors || ve.More != 6*MaxFieldErrors-MaxFieldErrors {
		t.Fatalf("%d fields, %d more", len(ve.Fields), ve.More)
	}
	for i, f := range ve.Fields {
		want := FieldError{Pointer: "/a/" + strconv.Itoa(1+i/2), Detail: []string{"bad", "worse"}[i%2]}
		if f != want {
			t.Fatalf("field %d = %+v, want %+v", i, f, want)
		}
	}
}

func BenchmarkParseBatchTooManyOrders(b *testing.B) {
	body := zerosBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBatch(body, Rules{Now: apiNow}); !errors.Is(err, ErrInvalid) {
			b.Fatal(err)
		}
	}
}

func TestParseBatchSameOrderIDTwoCustomers(t *testing.T) {
	order := func(id, customer, total string) string {
		return `{"order_id":"` + id + `","customer":{"id":"` + customer + `"},"created_at":"2025-05-30T10:00:00Z","currency":"EUR","total":"` + total + `","status":"paid"}`
	}
	body := `{"orders":[` + strings.Join([]string{
		order("7", `bad\u0000`, "1.00"), // invalid: does not claim order 7
		order("7", "ana", "1.00"),
		order("7", "ana", "2.00"), // the same customer again: applied in sequence
		order("7", "bob", "1.00"),
		order("8", "bob", "1.00"),
	}, ",") + `]}`
	b, err := ParseBatch([]byte(body), Rules{Now: apiNow})
	if err != nil {
		t.Fatal(err)
	}
	for i, wantErr := range []bool{true, false, false, true, false} {
		if (b.Items[i].Err != nil) != wantErr {
			t.Errorf("item %d: err = %v", i, b.Items[i].Err)
		}
	}
	const want = `order_id "7" already appears at /orders/1 for another customer`
	if got := pointers(t, b.Items[3].Err); !equalStrings(got, []string{"/orders/3/order_id"}) || detail(b.Items[3].Err, got[0]) != want {
		t.Errorf("item 3: %v, want %s", b.Items[3].Err, want)
	}
}

func TestInvisibleCharactersInIDs(t *testing.T) {
	for _, id := range []string{
		"77\u200b", "7\u200c7", "\u200d77", "77\u2060", "\ufeff77", "77\u00ad", // zero-width, word joiner, BOM, soft hyphen
		"77\u202e", "\u202a77", "77\u2066", "77\u2069", "77\u200e", // bidi overrides, isolates and marks
		"77\ufe0f", "77\U000e0041", "77\u3164", "7\u034f7", // variation selector, tag, Hangul filler, grapheme joiner
	} {
		body := `{"order_id":` + quoteJSON(id) + `,"customer":{"id":` + quoteJSON(id) + `},"created_at":"2025-05-30T10:00:00Z","currency":"EUR","total":"1.00","status":"paid","line_items":[{"title":"t","sku":` + quoteJSON(id) + `,"quantity":1,"price":"1"}]}`
		b, err := ParseBatch([]byte(body), Rules{Now: apiNow})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"/customer/id", "/line_items/0/sku", "/order_id"}
		if got := pointers(t, b.Items[0].Err); !equalStrings(got, want) || detail(b.Items[0].Err, "/order_id") != invisibleDetail {
			t.Errorf("id %+q: %v, want errors at %q", id, b.Items[0].Err, want)
		}
	}
	// Visible non-ASCII characters stay valid, and so do emoji sequences in titles.
	body := `{"order_id":"Bestellung-77-ü","customer":{"id":"客户-1"},"created_at":"2025-05-30T10:00:00Z","currency":"EUR","total":"1.00","status":"paid","line_items":[{"title":"👩‍💻 mug","quantity":1,"price":"1"}]}`
	if b, err := ParseBatch([]byte(body), Rules{Now: apiNow}); err != nil || b.Items[0].Err != nil {
		t.Errorf("visible ids refused: %v %v", err, b.Items[0].Err)
	}
}

func TestShopifyInvisibleCharactersInIDs(t *testing.T) {
	body := editSample(t, func(m map[string]any) {
		m["id"] = "820982911946154508\u200b"
		m["customer"].(map[string]any)["id"] = "\u202e115310627314723954"
	})
	_, _, err := ParseShopify(body, Rules{Now: shopifyNow})
	if got := pointers(t, err); !equalStrings(got, []string{"/customer/id", "/id"}) {
		t.Errorf("pointers = %q (%v)", got, err)
	}
}

func TestRefundedWithZeroRefund(t *testing.T) {
	const base = `"order_id":"1","customer":{"id":"c"},"created_at":"2025-05-30T10:00:00Z","currency":"EUR"`
	tests := []struct {
		body     string
		pointers []string
		refunded int64
	}{
		{body: `{` + base + `,"total":"10.00","status":"refunded","refunded_total":"0"}`, pointers: []string{"/refunded_total"}},
		{body: `{` + base + `,"total":"10.00","status":"refunded","refunded_total":0.00}`, pointers: []string{"/refunded_total"}},
		{body: `{` + base + `,"total":"10.00","status":"refunded"}`, refunded: 1000}, // absent: the whole total
		{body: `{` + base + `,"total":"10.00","status":"refunded","refunded_total":null}`, refunded: 1000},
		{body: `{` + base + `,"total":"10.00","status":"refunded","refunded_total":"4.00"}`, refunded: 400},
		{body: `{` + base + `,"total":"0","status":"refunded","refunded_total":"0"}`},
		{body: `{` + base + `,"total":"10.00","status":"paid","refunded_total":"0"}`},
		{body: `{` + base + `,"total":"10.00","status":"cancelled","refunded_total":"0"}`},
	}
	for _, tt := range tests {
		b, err := ParseBatch([]byte(tt.body), Rules{Now: apiNow})
		if err != nil {
			t.Fatal(err)
		}
		it := b.Items[0]
		if got := pointers(t, it.Err); !equalStrings(got, tt.pointers) {
			t.Errorf("%s: pointers = %q, want %q", tt.body, got, tt.pointers)
		} else if it.Err == nil && it.Order.Refunded != tt.refunded {
			t.Errorf("%s: refunded = %d, want %d", tt.body, it.Order.Refunded, tt.refunded)
		}
	}
}

// quoteJSON returns s as a JSON string literal.
func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
