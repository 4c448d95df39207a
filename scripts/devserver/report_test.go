package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/scripts/internal/devapi"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/scoring"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store/memstore"
)

var _ devapi.Store = (*memstore.Store)(nil)

// TestReportPage serves GET /v1/report.html over memstore: only with the
// shop's API key, 404 until the first night, then the shop's report as a
// self-contained page; the API's own routes are served as before.
func TestReportPage(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	cred := shop.NewCredentials()
	sh := shop.Shop{ID: shop.NewID(), Name: "Report Tea", Currency: "EUR", Timezone: "Europe/Berlin", Shards: 2,
		WebhookSecret: cred.WebhookSecret, CreatedAt: time.Now().UTC()}
	if err := st.CreateShop(ctx, sh, cred); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(devapi.NewHandler(st, slog.New(slog.NewJSONHandler(io.Discard, nil)), time.Now))
	defer srv.Close()

	do := func(method, path, key, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}

	for _, key := range []string{"", "wbk_nope_nope", cred.APIKey + "x"} {
		if resp, body := do(http.MethodGet, "/v1/report.html", key, ""); resp.StatusCode != http.StatusUnauthorized ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") || strings.Contains(body, "<html") {
			t.Fatalf("key %q: %d %s %s", key, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	if resp, body := do(http.MethodGet, "/v1/report.html", cred.APIKey, ""); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no report yet") {
		t.Fatalf("before the first night: %d %s", resp.StatusCode, body)
	}

	// Orders through the API, then a night scored as the nightly job does.
	orders := `{"orders":[
	 {"order_id":"1","customer":{"id":"c-1","email":"a@example.com"},"created_at":"2026-03-02T10:00:00Z","currency":"EUR","total":"19.90","status":"paid"},
	 {"order_id":"2","customer":{"id":"c-1","email":"a@example.com"},"created_at":"2026-03-09T10:00:00Z","currency":"EUR","total":"24.50","status":"paid"},
	 {"order_id":"3","customer":{"id":"c-2","email":"b@example.com"},"created_at":"2026-03-05T10:00:00Z","currency":"EUR","total":"1234.00","status":"paid"}]}`
	if resp, body := do(http.MethodPost, "/v1/orders", cred.APIKey, orders); resp.StatusCode != http.StatusCreated {
		t.Fatalf("orders: %d %s", resp.StatusCode, body)
	}
	scoreNight(t, st, sh, "2026-03-10")

	resp, page := do(http.MethodGet, "/v1/report.html", cred.APIKey, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		resp.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("report: %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{"<!DOCTYPE html>", "<title>Report Tea · retention report 2026-03-10</title>", `<figure class="chart" data-chart="segments"`,
		"€1,278", "</html>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Error("the page refers to the network")
	}
	if resp, _ := do(http.MethodHead, "/v1/report.html", cred.APIKey, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD: %d", resp.StatusCode)
	}
	if resp, body := do(http.MethodPost, "/v1/report.html", cred.APIKey, ""); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST: %d %v %s", resp.StatusCode, resp.Header, body)
	}

	// The API behind it is unchanged.
	resp, body := do(http.MethodGet, "/v1/report", cred.APIKey, "")
	var rep struct {
		AsOf      string `json:"as_of"`
		Customers int    `json:"customers"`
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil || resp.StatusCode != http.StatusOK || rep.AsOf != "2026-03-10" || rep.Customers != 2 {
		t.Fatalf("GET /v1/report: %d %s", resp.StatusCode, body)
	}
	if resp, body := do(http.MethodGet, "/v1/nope", cred.APIKey, ""); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `"status":404`) {
		t.Fatalf("unknown route: %d %s", resp.StatusCode, body)
	}
}

// scoreNight scores the shop as of asOf in one process (map, fit, score,
// finish) and stores the day's KPIs, as the nightly job would.
func scoreNight(t *testing.T, st *memstore.Store, sh shop.Shop, asOf string) {
	t.Helper()
	ctx := context.Background()
	var ins []scoring.Input
	var stats scoring.Stats
	for n := range sh.Shards {
		if err := st.Customers(ctx, sh, n, func(s customer.Summary) error {
			if in, ok := scoring.InputOf(s, asOf, sh.Location()); ok {
				ins = append(ins, in)
				stats.Add(in)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := scoring.Fit(stats, scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var p scoring.Partial
	for _, in := range ins {
		p.Add(in, scoring.Score(m, in))
	}
	data, err := json.Marshal(scoring.Report(p, m))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutDay(ctx, sh.ID, scores.Day{AsOf: asOf, Data: data}); err != nil {
		t.Fatal(err)
	}
}
