package web_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/web"
	"github.com/winback/winback/shared/store/memstore"
)

func TestValidCampaignID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"2026-11-01", true},
		{"2026-11-01-dry", true},
		{"2024-02-29", true},
		{"", false},
		{"2026-11-1", false},
		{"2026-13-01", false},
		{"2025-02-29", false},
		{"2026-11-01-drx", false},
		{"2026-11-01-dryx", false},
		{"2026-11-01-", false},
		{"2026-11-01/coupons", false},
		{"x2026-11-01", false},
		{"2026-11-01 ", false},
		{"-dry", false},
	}
	for _, tt := range tests {
		if got := web.ValidCampaignID(tt.id); got != tt.want {
			t.Errorf("ValidCampaignID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

// measured puts a campaign of shop one with a report: 120 selected, 12
// held out, 100 mailed, 9 of them and none of the holdout converted.
func measured(t *testing.T, f *fixture, id string) campaign.Report {
	t.Helper()
	beginCampaign(t, f.st, f.one, id)
	rep := campaign.Report{CampaignID: id, AsOf: id, MeasuredAt: now, Currency: "EUR", AttributionWindowDays: 14,
		Selected: 120, Holdout: 12, Mailed: 100, Delivered: 97, Bounced: 3,
		MailedGroup:  campaign.GroupResult{Customers: 100, Converted: 9, ConversionRate: 0.09, Orders: 9, Revenue: 45000},
		HoldoutGroup: campaign.GroupResult{Customers: 12},
		Uplift:       campaign.Uplift(9, 100, 0, 12)}
	if err := f.st.PutCampaignReport(context.Background(), f.one.ID, id, rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestListCampaigns(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixture(t, b.open(t))
			measured(t, f, "2026-10-01")
			beginCampaign(t, f.st, f.one, asOf+campaign.DrySuffix)

			code, body := f.getJSON(t, "/v1/campaigns", f.oneKey)
			if code != 200 {
				t.Fatalf("%d %v", code, body)
			}
			items := body["campaigns"].([]any)
			var ids []string
			for _, it := range items {
				ids = append(ids, it.(map[string]any)["campaign_id"].(string))
			}
			if want := []string{"2026-11-01-dry", "2026-11-01", "2026-10-01"}; !slices.Equal(ids, want) {
				t.Fatalf("campaigns %v, want newest first %v", ids, want)
			}
			dry, fresh, old := items[0].(map[string]any), items[1].(map[string]any), items[2].(map[string]any)
			if dry["dry_run"] != true || fresh["dry_run"] != false || fresh["status"] != "sending" || fresh["as_of"] != asOf {
				t.Errorf("campaign fields: %v %v", dry, fresh)
			}
			if s, ok := fresh["summary"]; !ok || s != nil {
				t.Errorf("an unmeasured campaign's summary is null: %v", fresh)
			}
			sum := old["summary"].(map[string]any)
			for k, want := range map[string]float64{"selected": 120, "holdout": 12, "mailed": 100, "mailed_converted": 9, "holdout_converted": 0} {
				if sum[k] != want {
					t.Errorf("summary %s = %v, want %v", k, sum[k], want)
				}
			}
			if up := sum["uplift"].(map[string]any); up["defined"] != true || up["estimate"].(float64) != 0.09 {
				t.Errorf("uplift %v", up)
			}
			if _, ok := fresh["paused_reason"]; ok {
				t.Errorf("paused_reason is left out unless paused: %v", fresh)
			}

			code, body = f.getJSON(t, "/v1/campaigns", f.twoKey)
			if n := len(body["campaigns"].([]any)); code != 200 || n != 1 {
				t.Errorf("shop two sees %d campaigns, want its 1: %v", n, body)
			}
			if code, body = f.getJSON(t, "/v1/campaigns?limit=1", f.oneKey); code != 200 || len(body["campaigns"].([]any)) != 1 {
				t.Errorf("limit=1: %d %v", code, body)
			}
			for _, q := range []string{"limit=0", "limit=101", "limit=x", "limit=", "limit=1&limit=2", "cursor=abc", "%zz"} {
				if code, body := f.getJSON(t, "/v1/campaigns?"+q, f.oneKey); code != 400 {
					t.Errorf("?%s: %d %v, want 400", q, code, body)
				}
			}
			if code, _ := f.getJSON(t, "/v1/campaigns", ""); code != 401 {
				t.Errorf("without a key: %d, want 401", code)
			}

			// The safety valve's stop shows while in force, to its shop only.
			if _, ok := body["sending_stopped"]; ok {
				t.Errorf("sending_stopped is left out while the shop may send: %v", body)
			}
			st := f.st.(interface {
				StopSending(ctx context.Context, shopID string, stop campaign.Stop) (campaign.Stop, bool, error)
			})
			if _, _, err := st.StopSending(context.Background(), f.one.ID, campaign.Stop{CampaignID: "2026-10-01",
				At: time.Date(2026, 10, 2, 3, 0, 0, 0, time.UTC), Reason: "2 of 100 readers complained (2.00%)",
				Reputation: campaign.Reputation{Mailed: 100, Complained: 2}}); err != nil {
				t.Fatal(err)
			}
			_, body = f.getJSON(t, "/v1/campaigns", f.oneKey)
			stop, _ := body["sending_stopped"].(map[string]any)
			if stop["campaign_id"] != "2026-10-01" || stop["reason"] != "2 of 100 readers complained (2.00%)" || stop["stopped_at"] != "2026-10-02T03:00:00Z" {
				t.Errorf("sending_stopped = %v", body["sending_stopped"])
			}
			if _, body = f.getJSON(t, "/v1/campaigns", f.twoKey); body["sending_stopped"] != nil {
				t.Errorf("shop two sees shop one's stop: %v", body)
			}
		})
	}
}

func TestGetCampaign(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixture(t, b.open(t))
			measured(t, f, "2026-10-01")
			beginCampaign(t, f.st, f.two, "2026-09-01")

			code, body := f.getJSON(t, "/v1/campaigns/"+asOf, f.oneKey)
			if code != 200 {
				t.Fatalf("%d %v", code, body)
			}
			if r, ok := body["report"]; !ok || r != nil {
				t.Errorf("report before the first measurement: %v, want null", body["report"])
			}
			settings := body["settings"].(map[string]any)
			if body["campaign_id"] != asOf || body["shop_id"] != f.one.ID || body["status"] != "sending" || settings["holdout_share"] != 0.1 {
				t.Errorf("campaign: %v", body)
			}
			if _, ok := body["selected_shards"]; ok {
				t.Errorf("the runner's bookkeeping is not shown: %v", body)
			}

			_, body = f.getJSON(t, "/v1/campaigns/2026-10-01", f.oneKey)
			rep := body["report"].(map[string]any)
			if rep["selected"] != 120.0 || rep["holdout"] != 12.0 || rep["mailed_group"].(map[string]any)["converted"] != 9.0 ||
				rep["uplift"].(map[string]any)["defined"] != true {
				t.Errorf("report: %v", rep)
			}

			for _, id := range []string{
				"2026-12-01",                                                                    // no such campaign
				"2026-09-01",                                                                    // shop two's
				"2026-11-01-dry",                                                                // valid, not run
				"x", "2026-13-01", "2026-11-01-drx", "2026-11-1", "2026-11-01%2Fcoupons", "%00", // malformed
			} {
				code, body := f.getJSON(t, "/v1/campaigns/"+id, f.oneKey)
				if code != 404 || body["detail"] != "no campaign with that id in this shop" {
					t.Errorf("%s: %d %v, want 404", id, code, body)
				}
			}
			if code, _ := f.getJSON(t, "/v1/campaigns/"+asOf+"?x=1", f.oneKey); code != 400 {
				t.Errorf("unknown query parameter: %d, want 400", code)
			}
			if code, _ := f.getJSON(t, "/v1/campaigns/"+asOf, f.twoKey+"x"); code != 401 {
				t.Errorf("wrong key: %d, want 401", code)
			}
		})
	}
}

// withCoupons adds n recipients to shop one's campaign asOf, every other
// one with a code, and returns the codes by customer id (with c1's).
func withCoupons(t *testing.T, f *fixture, n int) map[string]string {
	t.Helper()
	want := map[string]string{"c1": coupon(0)}
	for i := range n {
		id := fmt.Sprintf("c%03d", 100+i)
		code := ""
		if i%2 == 0 {
			code = coupon(1000 + i)
			want[id] = code
		}
		addRecipient(t, f.st, f.one, asOf, id, campaign.GroupMailed, code)
	}
	return want
}

// pages follows a coupon listing to its end and returns every code by
// customer id, and how many pages it took.
func pages(t *testing.T, f *fixture, target, key string, limit int) (map[string]string, int) {
	t.Helper()
	got := map[string]string{}
	cursor, n := "", 0
	for {
		n++
		if n > 100 {
			t.Fatal("the cursor never ends")
		}
		u := target + "?limit=" + fmt.Sprint(limit)
		if cursor != "" {
			u += "&cursor=" + cursor
		}
		code, body := f.getJSON(t, u, key)
		if code != 200 {
			t.Fatalf("%s: %d %v", u, code, body)
		}
		page := body["coupons"].([]any)
		if len(page) > limit {
			t.Fatalf("%d codes in a page of %d", len(page), limit)
		}
		for _, c := range page {
			c := c.(map[string]any)
			id := c["customer_id"].(string)
			if _, dup := got[id]; dup {
				t.Fatalf("customer %s listed twice", id)
			}
			got[id] = c["code"].(string)
			if c["percent"] != 15.0 || c["expires_on"] != "2026-11-16" || c["group"] != "mailed" || c["state"] != "sent" {
				t.Errorf("coupon %v", c)
			}
		}
		next, ok := body["next_cursor"].(string)
		if !ok {
			return got, n
		}
		cursor = next
	}
}

func TestCoupons(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixture(t, b.open(t))
			want := withCoupons(t, f, 60)
			target := "/v1/campaigns/" + asOf + "/coupons"

			got, n := pages(t, f, target, f.oneKey, 7)
			if !mapsEqual(got, want) {
				t.Fatalf("codes across pages:\n got %v\nwant %v", got, want)
			}
			if n < (len(want)+6)/7 || n > (len(want)+6)/7+1 {
				t.Errorf("%d codes took %d pages of 7", len(want), n)
			}
			code, body := f.getJSON(t, target, f.oneKey)
			if _, more := body["next_cursor"]; code != 200 || len(body["coupons"].([]any)) != len(want) || more {
				t.Errorf("default page: %d, %d codes, cursor %v", code, len(body["coupons"].([]any)), body["next_cursor"])
			}
			got, _ = pages(t, f, target, f.twoKey, 1000)
			if !mapsEqual(got, map[string]string{"c1": coupon(1)}) {
				t.Errorf("shop two lists %v, want only its own code", got)
			}

			sendID := func(bucket int) string {
				for i := 0; ; i++ {
					if id := campaign.SendID(asOf, fmt.Sprint(i)); campaign.Bucket(id) == bucket {
						return id
					}
				}
			}
			b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
			for name, q := range map[string]string{
				"not base64":          "cursor=not-a-cursor!",
				"padded":              "cursor=" + base64.URLEncoding.EncodeToString([]byte(`[10,""]`)),
				"bucket past the end": "cursor=" + b64(`[16,""]`),
				"negative bucket":     "cursor=" + b64(`[-1,""]`),
				"not a send id":       "cursor=" + b64(`[0,"zz"]`),
				"another bucket's id": "cursor=" + b64(fmt.Sprintf(`[0,%q]`, sendID(3))),
				"one element":         "cursor=" + b64(`[0]`),
				"three elements":      "cursor=" + b64(`[0,"",1]`),
				"an object":           "cursor=" + b64(`{"bucket":0}`),
				"bucket as string":    "cursor=" + b64(`["0",""]`),
				"empty cursor":        "cursor=",
				"limit 0":             "limit=0",
				"limit 1001":          "limit=1001",
				"unknown parameter":   "page=2",
			} {
				code, body := f.getJSON(t, target+"?"+q, f.oneKey)
				if code != 400 || len(body["errors"].([]any)) != 1 {
					t.Errorf("%s (?%s): %d %v, want 400", name, q, code, body)
				}
			}
			if code, _ := f.getJSON(t, target+"?cursor="+url.QueryEscape(b64(fmt.Sprintf(`[3,%q]`, sendID(3)))), f.oneKey); code != 200 {
				t.Errorf("a well-formed cursor: %d", code)
			}
			for _, id := range []string{"2026-12-01", "nope"} {
				if code, _ := f.getJSON(t, "/v1/campaigns/"+id+"/coupons", f.oneKey); code != 404 {
					t.Errorf("coupons of campaign %s: %d, want 404", id, code)
				}
			}
		})
	}
}

// TestCouponPagesAreBounded: a campaign whose recipients mostly have no
// code is listed in bounded reads, each page carrying a cursor, and the
// pages together still list every code once.
func TestCouponPagesAreBounded(t *testing.T) {
	f := newFixture(t, memstore.New())
	want := map[string]string{"c1": coupon(0)}
	for i := range 12_000 {
		id := fmt.Sprintf("n%05d", i)
		code := ""
		if i%4000 == 0 {
			code = coupon(5000 + i)
			want[id] = code
		}
		addRecipient(t, f.st, f.one, asOf, id, campaign.GroupMailed, code)
	}
	got, n := pages(t, f, "/v1/campaigns/"+asOf+"/coupons", f.oneKey, 1000)
	if !mapsEqual(got, want) {
		t.Fatalf("codes %v, want %v", got, want)
	}
	if n < 3 {
		t.Errorf("12,000 recipients read in %d pages: each page must read at most 5,000", n)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestUnknownRoutesAreProblems(t *testing.T) {
	f := newFixture(t, memstore.New())
	for _, tt := range []struct {
		method, target string
		status         int
	}{
		{"POST", "/v1/campaigns", 405},
		{"DELETE", "/v1/campaigns/" + asOf, 405},
		{"PUT", "/v1/unsubscribe/abc", 405},
		{"GET", "/v1/campaigns/" + asOf + "/recipients", 404},
	} {
		rec := f.do(t, tt.method, tt.target, f.oneKey, "")
		if rec.Code != tt.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s %s: %d %s", tt.method, tt.target, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}
