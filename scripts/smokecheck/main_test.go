package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/scripts/internal/devapi"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

var tableSeq atomic.Int64

// devServer starts the dev server's handler (every API route, as the
// Lambda functions serve them) over a fresh table of DynamoDB Local,
// wrapped by wrap (nil: as it is), and returns its URL, the store and the
// table's client.
func devServer(t *testing.T, wrap func(http.Handler) http.Handler) (string, *store.Store, *dynamodb.Client, string) {
	t.Helper()
	db := emulator.DynamoDB(t)
	table := fmt.Sprintf("smoke-%d-%d", time.Now().UnixNano()%1e6, tableSeq.Add(1))
	if err := store.CreateTable(context.Background(), db, table); err != nil {
		t.Fatal(err)
	}
	st := store.New(db, table)
	var h http.Handler = devapi.NewHandler(st, slog.New(slog.NewJSONHandler(io.Discard, nil)), time.Now)
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/", st, db, table
}

// items counts the table's items, by partition key, leaving out the
// deployment's CONFIG partition.
func items(t *testing.T, db *dynamodb.Client, table string) []string {
	t.Helper()
	var out []string
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			pk, _ := it["pk"].(*types.AttributeValueMemberS)
			if pk == nil || pk.Value != "CONFIG" {
				out = append(out, fmt.Sprint(it["pk"], it["sk"]))
			}
		}
	}
	return out
}

// smoke runs the smoke test against url over st and returns its output
// and error.
func smoke(t *testing.T, url string, st Store) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := Run(context.Background(), Config{APIURL: url, Store: st, Client: &http.Client{Timeout: 30 * time.Second}, Out: &out, Timeout: time.Minute})
	t.Logf("smoke output:\n%s", out.String())
	return out.String(), err
}

// TestSmokeAgainstDevServer runs the smoke test against the dev server
// over DynamoDB Local: every step passes, and the table is as empty
// afterwards as before.
func TestSmokeAgainstDevServer(t *testing.T) {
	url, st, db, table := devServer(t, nil)
	out, err := smoke(t, url, st)
	if err != nil {
		t.Fatalf("smoke test against the dev server: %v", err)
	}
	for _, step := range []string{
		"create a throwaway shop", "201 created", "200 unchanged", "201, created 2", "a full refund: 200 updated",
		"a partial refund: 200 updated", "€29.99 spent", "401 application/problem+json", "erasure: 204",
		"after the erasure: 404", "items of shop_",
	} {
		if !strings.Contains(out, step) {
			t.Errorf("the output has no %q", step)
		}
	}
	if n := strings.Count(out, "  ok "); n != 11 {
		t.Errorf("%d steps ok; want 11 (10 and the clean-up)", n)
	}
	if left := items(t, db, table); len(left) != 0 {
		t.Errorf("the smoke test left %d items: %v", len(left), left)
	}
}

// dropRefunds is a broken server: it answers an order update (a refund)
// as stored without storing it.
func dropRefunds(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost && bytes.Contains(body, []byte(`"status":"refunded"`)) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"order_id":"smoke-b","result":"updated"}`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// acceptWrongSecrets is a broken server: a key with a known key id and a
// wrong secret passes as the last right key of that id.
func acceptWrongSecrets(next http.Handler) http.Handler {
	var mu sync.Mutex
	good := map[string]string{} // key id → the last Authorization that passed
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		id := auth
		if len(auth) > len("Bearer wbk_")+16 {
			id = auth[:len("Bearer wbk_")+16]
		}
		mu.Lock()
		if prev, ok := good[id]; ok && prev != auth {
			r.Header.Set("Authorization", prev)
		} else {
			good[id] = auth
		}
		mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// TestSmokeFailsAgainstBrokenServers runs the smoke test against servers
// that drop a refund or accept a wrong key: it fails at the step that
// notices, and still leaves nothing behind.
func TestSmokeFailsAgainstBrokenServers(t *testing.T) {
	for _, tt := range []struct {
		name  string
		wrap  func(http.Handler) http.Handler
		fails string
	}{
		{"drops refunds", dropRefunds, "the summary: paid_orders 3, want 2"},
		{"accepts a wrong secret", acceptWrongSecrets, "with a wrong key: status 200; want 401"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url, st, db, table := devServer(t, tt.wrap)
			out, err := smoke(t, url, st)
			if err == nil || !strings.Contains(err.Error(), tt.fails) {
				t.Fatalf("smoke test: %v; want a failure with %q", err, tt.fails)
			}
			if !strings.Contains(out, "  FAIL ") || !strings.Contains(out, "items of shop_") {
				t.Errorf("the output shows no FAIL line or no clean-up:\n%s", out)
			}
			if left := items(t, db, table); len(left) != 0 {
				t.Errorf("the failed smoke test left %d items: %v", len(left), left)
			}
		})
	}
}

// TestSmokeCleansUpWhenTheAPIIsDown points the smoke test at a server
// that is gone: the first request fails, and the shop it created in the
// table is deleted all the same.
func TestSmokeCleansUpWhenTheAPIIsDown(t *testing.T) {
	_, st, db, table := devServer(t, nil)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	out, err := smoke(t, down.URL, st)
	if err == nil || !strings.Contains(err.Error(), "POST /v1/orders: one order") {
		t.Fatalf("smoke test against a closed server: %v", err)
	}
	if !strings.Contains(out, "items of shop_") {
		t.Errorf("no clean-up in the output:\n%s", out)
	}
	if left := items(t, db, table); len(left) != 0 {
		t.Errorf("the smoke test left %d items: %v", len(left), left)
	}
}

// TestCLI checks the command line: the outputs file, and what it says
// without one.
func TestCLI(t *testing.T) {
	dir := t.TempDir()
	outputs := filepath.Join(dir, "cdk-outputs.json")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(outputs, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"Winback":{"ApiUrl":"https://abc123.execute-api.eu-west-1.amazonaws.com/","TableName":"Winback-Table-1"}}`)
	got, err := readOutputs(outputs, "")
	if err != nil || got["ApiUrl"] != "https://abc123.execute-api.eu-west-1.amazonaws.com/" || got["TableName"] != "Winback-Table-1" {
		t.Errorf("readOutputs: %v, %v", got, err)
	}
	if m := apiRegion.FindStringSubmatch(got["ApiUrl"]); m == nil || m[1] != "eu-west-1" {
		t.Errorf("the region of %s: %v", got["ApiUrl"], m)
	}
	write(`{"A":{"ApiUrl":"x","TableName":"y"},"B":{"ApiUrl":"z","TableName":"w"}}`)
	if _, err := readOutputs(outputs, ""); err == nil || !strings.Contains(err.Error(), "--stack") {
		t.Errorf("two stacks without --stack: %v", err)
	}
	if got, err := readOutputs(outputs, "B"); err != nil || got["ApiUrl"] != "z" {
		t.Errorf("--stack B: %v, %v", got, err)
	}
	var stderr bytes.Buffer
	code := cli([]string{"--outputs", filepath.Join(dir, "missing.json")}, io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "aws cloudformation describe-stacks --stack-name Winback") {
		t.Errorf("without outputs: exit %d, %s", code, stderr.String())
	}
}

// TestDeleteLeftShop checks --delete-shop: it deletes a shop the smoke
// test made, and refuses a shop it did not make.
func TestDeleteLeftShop(t *testing.T) {
	ctx := context.Background()
	_, st, db, table := devServer(t, nil)
	mk := func(name string) string {
		t.Helper()
		cred := shop.NewCredentials()
		sh := shop.Shop{ID: shop.NewID(), Name: name, Currency: "EUR", Timezone: "UTC", Shards: shop.DefaultShards, CreatedAt: time.Now().UTC().Truncate(time.Second)}
		if err := st.CreateShop(ctx, sh, cred); err != nil {
			t.Fatal(err)
		}
		return sh.ID
	}
	theirs := mk("Bean & Leaf")
	left := mk(ShopNamePrefix + "2026-12-01T00:00:00Z")
	if _, err := DeleteShop(ctx, st, theirs); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("DeleteShop of a real shop: %v; want refused", err)
	}
	if n, err := DeleteShop(ctx, st, left); err != nil || n == 0 {
		t.Fatalf("DeleteShop of a smoke test's shop: %d, %v", n, err)
	}
	for _, it := range items(t, db, table) {
		if strings.Contains(it, left) {
			t.Errorf("left behind: %s", it)
		}
	}
	if _, err := st.Shop(ctx, theirs); err != nil {
		t.Errorf("the shop it refused: %v", err)
	}
}
