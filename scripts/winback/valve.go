package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/campaign"
)

const resumeSendingHelp = `The safety valve stops a shop's sending by itself when its last campaign's
hard-bounce rate reaches 5% or its complaint rate 0.1% (the levels at which
SES puts the whole account under review). While stopped, no campaign of the
shop runs and its paused campaigns stay paused; the shop's report and
GET /v1/campaigns say why.

Clean the list first (the bounced and complaining addresses are already
suppressed), then lift the stop. The campaign that tripped it cannot trip
it again; the next campaign's figures can. Without --yes the command only
shows the stop.

Environment: WINBACK_TABLE, DYNAMODB_ENDPOINT (default http://127.0.0.1:8000;
empty for the table of a deployed stack).
`

// resumeSendingCommand is "winback shop resume-sending": show the shop's
// stop, and with --yes lift it.
func resumeSendingCommand(fs *flag.FlagSet) action {
	shopID := fs.String("shop", "", "the shop's id (required)")
	yes := fs.Bool("yes", false, "lift the stop (without it, only show it)")
	return func(ctx context.Context, stdout io.Writer) error {
		if *shopID == "" {
			return usageErrorf("--shop is required")
		}
		st, sh, err := openShop(ctx, *shopID)
		if err != nil {
			return err
		}
		stop, err := st.SendingStop(ctx, sh.ID)
		switch {
		case errors.Is(err, campaign.ErrNotFound) || err == nil && !stop.InForce():
			fmt.Fprintf(stdout, "shop %s: sending is not stopped; nothing to lift\n", sh.ID)
			return nil
		case err != nil:
			return err
		}
		fmt.Fprintf(stdout, "shop %s: sending stopped since %s by campaign %s: %s\n",
			sh.ID, stop.At.UTC().Format(time.RFC3339), stop.CampaignID, stop.Reason)
		if !*yes {
			fmt.Fprintln(stdout, "not lifted: run again with --yes to lift it")
			return nil
		}
		if _, err := st.LiftSendingStop(ctx, sh.ID, time.Now()); err != nil {
			return fmt.Errorf("shop %s: %w", sh.ID, err)
		}
		fmt.Fprintf(stdout, "lifted: the next nightly run resumes the shop's paused campaigns of the last 3 days and runs its campaign (table %s)\n", localenv.Table())
		return nil
	}
}
