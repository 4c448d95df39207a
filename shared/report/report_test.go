package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/report"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/scoring"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store/memstore"
)

type fixture struct {
	st      *memstore.Store
	h       http.Handler
	sh, two shop.Shop
	key     string
	twoKey  string
}

func newShop(t *testing.T, st *memstore.Store, currency string) (shop.Shop, string) {
	t.Helper()
	cred := shop.NewCredentials()
	sh := shop.Shop{ID: shop.NewID(), Name: "t", Currency: currency, Timezone: "UTC", Shards: 4, CreatedAt: time.Now()}
	if err := st.CreateShop(context.Background(), sh, cred); err != nil {
		t.Fatal(err)
	}
	return sh, cred.APIKey
}

func paid(id, cust string, day int, total int64) order.Order {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, day)
	return order.Order{ID: id, CreatedAt: at, UpdatedAt: at, Currency: "EUR", Total: total, Status: order.StatusPaid,
		Customer:  order.Customer{ID: cust, Email: cust + "@example.com", FirstName: "Kim", AcceptsMarketing: true},
		LineItems: []order.LineItem{{SKU: "TEA", Title: "Green tea", Quantity: 2, Price: total / 2}}}
}

// newFixture: shop sh with 30 scored customers c00..c29 (every third
// at_risk/high), one unscored customer, and shop two with a customer of
// the same id.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st := memstore.New()
	f := &fixture{st: st}
	f.sh, f.key = newShop(t, st, "EUR")
	f.two, f.twoKey = newShop(t, st, "EUR")
	byShard := map[int][]scores.Score{}
	for i := range 30 {
		id := fmt.Sprintf("c%02d", i)
		if _, _, err := st.PutOrders(ctx, f.sh, []order.Order{paid("o"+id, id, i, 1990)}, ""); err != nil {
			t.Fatal(err)
		}
		sc := scores.Score{CustomerID: id, AsOf: "2026-03-01", Model: "bgnbd", PAlive: 0.9, ChurnRisk: 0.1, ChurnBand: "low",
			ExpectedOrderValue: 1234.5, CLV: 98765.4321, Segment: "loyal", SpendTier: "high", Recency: 4, Frequency: 3, Monetary: 5}
		if i%3 == 0 {
			sc.PAlive, sc.ChurnRisk, sc.ChurnBand, sc.Segment = 0.2, 0.8, "high", "at_risk"
		}
		n := f.sh.Shard(id)
		byShard[n] = append(byShard[n], sc)
	}
	for n, ss := range byShard {
		if _, err := st.PutScores(ctx, f.sh, n, ss, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := st.PutOrders(ctx, f.sh, []order.Order{paid("onew", "fresh", 40, 500)}, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.PutOrders(ctx, f.two, []order.Order{paid("o-x", "c01", 3, 777)}, ""); err != nil {
		t.Fatal(err)
	}
	for i, d := range []string{"2026-02-28", "2026-03-01"} {
		day := scoring.Day{AsOf: d, Customers: int64(30 + i), ChurnRate: 0.25 + float64(i)/100, Model: scoring.Model{Name: "bgnbd", Reason: "highest log-likelihood"}}
		data, _ := json.Marshal(day)
		if _, err := st.PutDay(ctx, f.sh.ID, scores.Day{AsOf: d, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	f.h = api.Routes(api.All(st, slog.New(slog.NewJSONHandler(io.Discard, nil))))
	return f
}

func (f *fixture) do(t *testing.T, method, target, key string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	var body map[string]any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s %s: %v: %s", method, target, err, rec.Body)
		}
	}
	return rec, body
}

func TestGetCustomer(t *testing.T) {
	f := newFixture(t)
	rec, b := f.do(t, "GET", "/v1/customers/c03", f.key)
	if rec.Code != 200 {
		t.Fatalf("%d %v", rec.Code, b)
	}
	want := map[string]any{
		"customer_id": "c03", "currency": "EUR", "paid_orders": 1.0, "total_spend": 19.9, "scored": true,
		"p_alive": 0.2, "churn_band": "high", "segment": "at_risk", "clv": 987.65, "expected_order_value": 12.35, "as_of": "2026-03-01",
	}
	for k, v := range want {
		if b[k] != v {
			t.Errorf("%s = %v, want %v", k, b[k], v)
		}
	}
	items, _ := b["last_items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["price"] != 9.95 {
		t.Errorf("last_items %v", b["last_items"])
	}

	// Not scored yet: the summary, scored=false, no score fields.
	if rec, b := f.do(t, "GET", "/v1/customers/fresh", f.key); rec.Code != 200 || b["scored"] != false || b["p_alive"] != nil {
		t.Errorf("unscored: %d %v", rec.Code, b)
	}
	// Unknown, and another shop's customer seen through the wrong key: 404, no data.
	for _, tc := range []struct{ path, key string }{{"/v1/customers/nobody", f.key}, {"/v1/customers/fresh", f.twoKey}} {
		rec, b := f.do(t, "GET", tc.path, tc.key)
		if rec.Code != 404 || rec.Header().Get("Content-Type") != httpapi.ProblemContentType || strings.Contains(rec.Body.String(), "example.com") {
			t.Errorf("%s: %d %v", tc.path, rec.Code, b)
		}
	}
	// c01 exists in both shops: each key sees its own.
	if _, b := f.do(t, "GET", "/v1/customers/c01", f.twoKey); b["total_spend"] != 7.77 || b["scored"] != false {
		t.Errorf("shop two's c01: %v", b)
	}
	if rec, _ := f.do(t, "GET", "/v1/customers/c01", ""); rec.Code != 401 {
		t.Errorf("no key: %d", rec.Code)
	}
}

func TestListCustomersPagesThroughEveryShard(t *testing.T) {
	f := newFixture(t)
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("the listing does not end")
		}
		target := "/v1/customers?segment=at_risk&band=high&limit=3"
		if cursor != "" {
			target += "&cursor=" + cursor
		}
		rec, b := f.do(t, "GET", target, f.key)
		if rec.Code != 200 {
			t.Fatalf("%d %v", rec.Code, b)
		}
		cs, _ := b["customers"].([]any)
		if len(cs) > 3 {
			t.Fatalf("page of %d", len(cs))
		}
		for _, c := range cs {
			m := c.(map[string]any)
			if m["segment"] != "at_risk" {
				t.Errorf("filter leaked %v", m)
			}
			got = append(got, m["customer_id"].(string))
		}
		next, _ := b["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	slices.Sort(got)
	var want []string
	for i := 0; i < 30; i += 3 {
		want = append(want, fmt.Sprintf("c%02d", i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}
	if _, b := f.do(t, "GET", "/v1/customers", f.twoKey); len(b["customers"].([]any)) != 0 {
		t.Errorf("shop two lists shop one's scores: %v", b)
	}
}

func TestBadQueryParametersAreNamed(t *testing.T) {
	f := newFixture(t)
	for target, param := range map[string]string{
		"/v1/customers?segment=vip":            "segment",
		"/v1/customers?band=extreme":           "band",
		"/v1/customers?limit=0":                "limit",
		"/v1/customers?limit=1001":             "limit",
		"/v1/customers?limit=ten":              "limit",
		"/v1/customers?cursor=not-a-cursor":    "cursor",
		"/v1/customers?cursor=Wzk5LCJ4Il0":     "cursor", // [99,"x"]: a shard the shop does not have
		"/v1/customers?cursor=W251bGwsbnVsbF0": "cursor", // [null,null]
		"/v1/customers?cursor=WzAsImEvYiJd":    "cursor", // [0,"a/b"]: no customer id has a "/"
		"/v1/customers?cursor=WzAsInh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eCJd": "cursor", // a 129-character id
		"/v1/customers?segement=at_risk":       "segement",
		"/v1/customers?limit=5&limit=6":        "limit",
		"/v1/report?days=0":                    "days",
		"/v1/report?days=367":                  "days",
		"/v1/report?since=2026-01-01":          "since",
		"/v1/customers?band=high&segment=dorm": "segment",
		"/v1/customers?limit=%zz":              "query string",
		"/v1/customers?limit=":                 "limit",
		"/v1/customers?segment=":               "segment",
		"/v1/report?days=%zz":                  "query string",
	} {
		rec, b := f.do(t, "GET", target, f.key)
		if rec.Code != 400 || !strings.Contains(fmt.Sprint(b["detail"]), param) {
			t.Errorf("%s: %d %v, want 400 naming %s", target, rec.Code, b, param)
		}
	}
}

func TestReport(t *testing.T) {
	f := newFixture(t)
	rec, b := f.do(t, "GET", "/v1/report?days=7", f.key)
	if rec.Code != 200 {
		t.Fatalf("%d %v", rec.Code, b)
	}
	if b["as_of"] != "2026-03-01" || b["churn_rate"] != 0.26 || b["shop_id"] != f.sh.ID {
		t.Errorf("latest: %v", b)
	}
	if m, _ := b["model"].(map[string]any); m["name"] != "bgnbd" || m["reason"] == "" {
		t.Errorf("model %v", b["model"])
	}
	h, _ := b["history"].([]any)
	if len(h) != 2 || h[0].(map[string]any)["as_of"] != "2026-03-01" || h[0].(map[string]any)["model"] != nil {
		t.Errorf("history %v", h)
	}
	if rec, _ := f.do(t, "GET", "/v1/report?days=1", f.key); !strings.Contains(rec.Body.String(), `"history":[{`) || strings.Count(rec.Body.String(), `"as_of":"2026-02-28"`) != 0 {
		t.Errorf("days=1: %s", rec.Body)
	}
	if rec, _ := f.do(t, "GET", "/v1/report", f.twoKey); rec.Code != 404 {
		t.Errorf("a shop never scored: %d", rec.Code)
	}
}

func TestEraseCustomer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if rec, _ := f.do(t, "DELETE", "/v1/customers/c03", f.key); rec.Code != 204 || rec.Body.Len() != 0 {
		t.Fatalf("erase: %d %s", rec.Code, rec.Body)
	}
	if rec, _ := f.do(t, "GET", "/v1/customers/c03", f.key); rec.Code != 404 {
		t.Errorf("after erasure: %d", rec.Code)
	}
	if rec, _ := f.do(t, "DELETE", "/v1/customers/c03", f.key); rec.Code != 204 {
		t.Errorf("erasing again: %d", rec.Code)
	}
	if reason, _ := f.st.Suppressed(ctx, f.sh, "c03@example.com"); reason == "" {
		t.Error("the erased address is not suppressed")
	}
	if rec, _ := f.do(t, "DELETE", "/v1/customers/nobody", f.key); rec.Code != 404 {
		t.Errorf("unknown: %d", rec.Code)
	}
	// The other shop's c01 survives shop one's erasure of its own c01.
	if rec, _ := f.do(t, "DELETE", "/v1/customers/c01", f.key); rec.Code != 204 {
		t.Fatal(rec.Code)
	}
	if rec, _ := f.do(t, "GET", "/v1/customers/c01", f.twoKey); rec.Code != 200 {
		t.Errorf("shop two's c01 after shop one erased its own: %d", rec.Code)
	}
	if rec, _ := f.do(t, "GET", "/v1/report", f.key); rec.Code != 200 {
		t.Errorf("the aggregate history must stay: %d", rec.Code)
	}
}

func TestFilterValuesMatchTheScoringDomain(t *testing.T) {
	var segs []string
	for _, s := range scoring.AllSegments {
		segs = append(segs, string(s))
	}
	if !slices.Equal(segs, report.Segments) {
		t.Errorf("report.Segments %v, scoring %v", report.Segments, segs)
	}
	if bands := []string{string(scoring.BandLow), string(scoring.BandMedium), string(scoring.BandHigh)}; !slices.Equal(bands, report.Bands) {
		t.Errorf("report.Bands %v, scoring %v", report.Bands, bands)
	}
}

func TestToMoney(t *testing.T) {
	for _, tc := range []struct {
		minor    float64
		currency string
		want     string
	}{{98765.4321, "EUR", "987.65"}, {1500, "JPY", "1500"}, {12345, "KWD", "12.345"}, {0.4, "USD", "0.00"}} {
		if got := report.ToMoney(tc.minor, tc.currency); string(got) != tc.want {
			t.Errorf("ToMoney(%v, %s) = %s, want %s", tc.minor, tc.currency, got, tc.want)
		}
	}
}
