package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/api"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/nightly"
)

// TestCampaignCommands runs the campaign commands as a shop's developer
// would, on DynamoDB Local and the SQS and SES emulators: part of the
// CDNOW sample ingested and scored, the sender configured, the campaign
// run (selection, the send queue, the sender), run again (nobody is mailed
// twice), its coupons listed, its report measured, its e-mails previewed;
// and a run against a real endpoint refused.
func TestCampaignCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("the campaign pipeline on the emulators")
	}
	ctx := context.Background()
	_, sqsEndpoint := emulator.SQS(t)
	_, sesURL := emulator.SES(t)
	t.Setenv("DYNAMODB_ENDPOINT", emulator.DynamoDBEndpoint(t))
	t.Setenv("SQS_ENDPOINT", sqsEndpoint)
	t.Setenv("SES_ENDPOINT", sesURL)
	t.Setenv("WINBACK_TABLE", fmt.Sprintf("campaign-cli-%d", time.Now().UnixNano()))
	st, err := localenv.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sh, cred, err := newShop("Bean & Leaf", "USD", "UTC", 4, time.Now())
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
	txs = txs[:2500]
	invoke := lambda.NewHandler(httpapi.LambdaHandler(api.Routes(api.All(st, slog.New(slog.NewJSONHandler(io.Discard, nil))))))
	if _, err := ingestTransactions(ctx, invoke, cred.APIKey, txs); err != nil {
		t.Fatal(err)
	}
	const asOf = "1998-06-30"
	if err := runNightly(ctx, nightlyOptions{Request: nightly.Request{ShopID: sh.ID, AsOf: asOf}, Concurrency: 2, Every: time.Hour}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}

	// Without a sender address a live run is refused, naming the fix.
	var errOut bytes.Buffer
	if err := run([]string{"campaign", "run", "--shop", sh.ID, "--as-of", asOf}, io.Discard, &errOut); err == nil {
		t.Fatal("a campaign without a sender address ran")
	}
	from := fmt.Sprintf("news@t%d.example", time.Now().UnixNano())
	winback(t, nil, "shop", "configure", "--shop", sh.ID, "--from", "Bean & Leaf <"+from+">", "--settings", writeFile(t, `{"offer_tiers":[{"min_value":0,"percent":0,"uplift":0},{"min_value":300,"percent":10,"uplift":0.05}]}`))

	var first campaignSummary
	if err := json.Unmarshal([]byte(winback(t, nil, "campaign", "run", "--shop", sh.ID, "--as-of", asOf)), &first); err != nil {
		t.Fatal(err)
	}
	res, rep := first.Run, first.Report
	if res.Mailed == 0 || res.Holdout == 0 || rep == nil || rep.Mailed != res.Mailed || rep.Queued != 0 {
		t.Fatalf("first run %+v, report %+v", res, rep)
	}
	mine := func() []emulator.Email {
		var out []emulator.Email
		for _, e := range emulator.SentEmails(t, sesURL) {
			if strings.Contains(e.From, from) {
				out = append(out, e)
			}
		}
		return out
	}
	sent := mine()
	if len(sent) != res.Mailed {
		t.Fatalf("the SES emulator received %d e-mails, the run mailed %d", len(sent), res.Mailed)
	}
	to := map[string]bool{}
	for _, e := range sent {
		if len(e.Destination.To) != 1 || to[e.Destination.To[0]] {
			t.Fatalf("e-mail to %v: one recipient each, once", e.Destination.To)
		}
		to[e.Destination.To[0]] = true
		if !strings.HasPrefix(e.Header("List-Unsubscribe"), "<http://127.0.0.1:8080/v1/unsubscribe/") || e.Header("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Fatalf("headers %v", e.Headers)
		}
	}

	// Again: nothing new is sent.
	winback(t, nil, "campaign", "run", "--shop", sh.ID, "--as-of", asOf)
	if n := len(mine()); n != res.Mailed {
		t.Fatalf("after a second run the emulator holds %d e-mails, want still %d", n, res.Mailed)
	}

	rows, err := csv.NewReader(strings.NewReader(winback(t, nil, "campaign", "coupons", "--shop", sh.ID, "--campaign", asOf))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows)-1 != res.Offers[10] || rows[0][0] != "code" {
		t.Fatalf("%d coupons listed, %d offers of 10%%", len(rows)-1, res.Offers[10])
	}
	for _, r := range rows[1:] {
		if !campaign.ValidCoupon(r[0]) || r[5] != string(campaign.StateSent) {
			t.Fatalf("coupon row %v", r)
		}
	}

	var reports struct {
		Campaigns []campaign.Report `json:"campaigns"`
	}
	if err := json.Unmarshal([]byte(winback(t, nil, "campaign", "report", "--shop", sh.ID, "--campaign", asOf)), &reports); err != nil {
		t.Fatal(err)
	}
	if len(reports.Campaigns) != 1 || reports.Campaigns[0].Selected != res.Mailed+res.Holdout || !reports.Campaigns[0].Uplift.Defined {
		t.Fatalf("report %+v", reports.Campaigns)
	}

	dir := t.TempDir()
	winback(t, nil, "campaign", "preview", "--shop", sh.ID, "--as-of", asOf, "--limit", "3", "--out", dir)
	html, _ := filepath.Glob(filepath.Join(dir, "*.html"))
	if len(html) != 3 {
		t.Fatalf("preview wrote %d HTML files, want 3", len(html))
	}
	b, _ := os.ReadFile(html[0])
	if !strings.Contains(string(b), "/v1/unsubscribe/") {
		t.Errorf("a previewed e-mail has no unsubscribe link:\n%s", b)
	}
	if n := len(mine()); n != res.Mailed {
		t.Fatalf("preview sent e-mails: %d, want %d", n, res.Mailed)
	}

	// A live run against real AWS endpoints is refused: it would mark real
	// recipients sent through the emulators.
	t.Setenv("SES_ENDPOINT", "")
	if err := run([]string{"campaign", "run", "--shop", sh.ID, "--as-of", asOf}, io.Discard, &errOut); err == nil || !strings.Contains(err.Error(), "SES_ENDPOINT") {
		t.Fatalf("a run with the real SES endpoint: %v", err)
	}
}
