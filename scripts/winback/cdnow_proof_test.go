package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/nightly"
	"github.com/winback/winback/shared/scores"
)

// TestCDNOWExportEqualsCLVScore is the end-to-end proof: the CDNOW sample
// ingested as orders through the API's Lambda handler, scored by the
// nightly job (planner and worker handlers over the SQS emulator, DynamoDB
// Local) as of 1998-06-30, and exported, gives every customer the scores
// `winback clv score --unit day` computes from the same transactions with
// the model the job chose.
func TestCDNOWExportEqualsCLVScore(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline on the emulators")
	}
	ctx := context.Background()
	_, sqsEndpoint := emulator.SQS(t)
	t.Setenv("DYNAMODB_ENDPOINT", emulator.DynamoDBEndpoint(t))
	t.Setenv("SQS_ENDPOINT", sqsEndpoint)
	t.Setenv("WINBACK_TABLE", fmt.Sprintf("cdnow-proof-%d", time.Now().UnixNano()))
	st, err := localenv.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sh, cred, err := newShop("CDNOW", "USD", "UTC", 8, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateShop(ctx, sh, cred); err != nil {
		t.Fatal(err)
	}
	txs, err := readTransactions(cdnowCSV)
	if err != nil {
		t.Fatal(err)
	}
	invoke := lambda.NewHandler(httpapi.LambdaHandler(api.Routes(api.All(st, slog.New(slog.NewJSONHandler(io.Discard, nil))))))
	counts, err := ingestTransactions(ctx, invoke, cred.APIKey, txs)
	if err != nil || counts["created"] != len(txs) {
		t.Fatalf("ingest: %v %v", counts, err)
	}

	if err := runNightly(ctx, nightlyOptions{
		Request: nightly.Request{ShopID: sh.ID, AsOf: "1998-06-30"}, Concurrency: 2, Every: time.Hour,
	}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var exported bytes.Buffer
	if _, err := exportCustomers(ctx, st, sh.ID, scores.Filter{}, &exported); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&exported).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	model := rows[1][col["model"]]
	if !slices.Contains([]string{"bgnbd", "mbgnbd", "paretonbd"}, model) {
		t.Fatalf("CDNOW (2,357 customers, 78 weeks) scored with %q, want a fitted model", model)
	}

	var direct, stderr bytes.Buffer
	if err := run([]string{"clv", "score", "--transactions", cdnowCSV, "--calibration-end", "1998-06-30",
		"--unit", "day", "--model", model}, &direct, &stderr); err != nil {
		t.Fatalf("clv score: %v\n%s", err, stderr.String())
	}
	want, err := csv.NewReader(&direct).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wcol := map[string]int{}
	for i, name := range want[0] {
		wcol[name] = i
	}
	byID := map[string][]string{}
	for _, r := range rows[1:] {
		if r[col["model"]] != model {
			t.Fatalf("customer %s scored with %s, the shop with %s", r[0], r[col["model"]], model)
		}
		byID[r[0]] = r
	}
	if len(byID) != len(want)-1 {
		t.Fatalf("%d customers exported, clv score has %d", len(byID), len(want)-1)
	}
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("not a number: %q", s)
		}
		return v
	}
	var worstP, worstE, worstCLV float64
	for _, w := range want[1:] {
		id := "cdnow-" + w[wcol["customer_id"]]
		got, ok := byID[id]
		if !ok {
			t.Fatalf("customer %s not exported", id)
		}
		dp := math.Abs(num(got[col["p_alive"]]) - num(w[wcol["p_alive"]]))
		de := math.Abs(num(got[col["expected_purchases_365d"]]) - num(w[wcol["expected_purchases"]]))
		wc := num(w[wcol["clv"]])
		dc := math.Abs(num(got[col["clv"]]) - wc)
		worstP, worstE = max(worstP, dp), max(worstE, de)
		worstCLV = max(worstCLV, dc/(0.01+math.Abs(wc)))
		// p_alive and expected purchases to the CLI's printed precision; CLV
		// to a cent plus 1e-4 relative (Gamma-Gamma is fitted on spends
		// rounded to 4 significant digits, RULES.md); the same next date.
		if dp > 1e-6 || de > 1e-6 || dc > 0.01+1e-4*math.Abs(wc) ||
			got[col["next_order_date"]] != strings.TrimSpace(w[wcol["next_purchase_date"]]) {
			t.Fatalf("customer %s: exported %v\nclv score %v", id, got, w)
		}
	}
	t.Logf("%d customers, model %s: max |Δp_alive| %.1e, max |Δexpected_365d| %.1e, max relative Δclv %.1e",
		len(want)-1, model, worstP, worstE, worstCLV)
}
