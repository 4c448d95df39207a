package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/campaign"
)

// TestResumeSending: on DynamoDB Local, "shop resume-sending" shows a
// shop's stop and lifts it only with --yes, and says so when there is
// nothing to lift.
func TestResumeSending(t *testing.T) {
	ctx := context.Background()
	t.Setenv("DYNAMODB_ENDPOINT", emulator.DynamoDBEndpoint(t))
	t.Setenv("WINBACK_TABLE", fmt.Sprintf("resume-cli-%d", time.Now().UnixNano()))
	st, err := localenv.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sh, cred, err := newShop("Bean & Leaf", "EUR", "UTC", 4, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateShop(ctx, sh, cred); err != nil {
		t.Fatal(err)
	}
	if out := winback(t, nil, "shop", "resume-sending", "--shop", sh.ID, "--yes"); !strings.Contains(out, "not stopped") {
		t.Errorf("a shop never stopped: %q", out)
	}
	stop := campaign.Stop{CampaignID: "2026-11-30", At: time.Date(2026, 12, 1, 2, 40, 0, 0, time.UTC),
		Reason: "6 of 100 e-mails bounced for good (6.0%)", Reputation: campaign.Reputation{Mailed: 100, Bounced: 6}}
	if _, _, err := st.StopSending(ctx, sh.ID, stop); err != nil {
		t.Fatal(err)
	}
	out := winback(t, nil, "shop", "resume-sending", "--shop", sh.ID)
	for _, want := range []string{"2026-12-01T02:40:00Z", "campaign 2026-11-30", stop.Reason, "--yes"} {
		if !strings.Contains(out, want) {
			t.Errorf("without --yes the output lacks %q: %q", want, out)
		}
	}
	if cur, err := st.SendingStop(ctx, sh.ID); err != nil || !cur.InForce() {
		t.Fatalf("without --yes the stop is %+v, %v; want it in force", cur, err)
	}
	if out := winback(t, nil, "shop", "resume-sending", "--shop", sh.ID, "--yes"); !strings.Contains(out, "lifted") {
		t.Errorf("with --yes: %q", out)
	}
	if cur, err := st.SendingStop(ctx, sh.ID); err != nil || cur.InForce() || cur.LiftedAt == nil {
		t.Errorf("after --yes the stop is %+v, %v; want it lifted", cur, err)
	}
	var errOut bytes.Buffer
	if err := run([]string{"shop", "resume-sending"}, &bytes.Buffer{}, &errOut); err == nil {
		t.Error("resume-sending without --shop succeeded")
	}
}
