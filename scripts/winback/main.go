// Command winback is the admin CLI: shops, tables, the models and the demo.
//
//	go run ./scripts/winback shop create --name NAME
//	go run ./scripts/winback clv fit --transactions FILE.csv
//	go run ./scripts/winback -h
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	_ "time/tzdata" // the local tools resolve shops' time zones on any machine
)

// commands is the CLI: every command and subcommand, in usage order.
var commands = &command{
	name: "winback",
	subs: []*command{
		{name: "table", summary: "the DynamoDB table", subs: []*command{
			{name: "create", summary: "create the DynamoDB table (idempotent; also in an AWS account when DYNAMODB_ENDPOINT is empty)",
				flags: tableCreateCommand},
		}},
		{name: "migrate", synopsis: "[--dry-run]",
			summary: "upgrade a previous release's table: move campaign settings and contacts to their new partitions, seal secrets stored in clear",
			help:    migrateHelp, flags: migrateCommand},
		{name: "shop", summary: "shops and their credentials", subs: []*command{
			{name: "create", synopsis: "--name NAME [flags]",
				summary: "create a shop; prints its id, API key and webhook secret once",
				flags:   shopCreateCommand},
			{name: "configure", synopsis: "--shop SHOP_ID [--from 'Shop <news@shop.example>'] [flags]",
				summary: "set the shop's campaign settings and template (the sender address is required before anything is sent)",
				help:    shopConfigureHelp, flags: shopConfigureCommand},
			{name: "resume-sending", synopsis: "--shop SHOP_ID [--yes]",
				summary: "show why the safety valve stopped a shop's sending, and with --yes lift the stop",
				help:    resumeSendingHelp, flags: resumeSendingCommand},
			{name: "set-webhook-secret", synopsis: "--shop SHOP_ID --secret S [--shopify-domain D]",
				summary: "set the secret Shopify signs a shop's webhooks with, and bind the shop's Shopify domain",
				flags:   setWebhookSecretCommand},
			{name: "rotate-webhook-secret", synopsis: "--shop SHOP_ID [--secret S]",
				summary: "replace a shop's webhook secret (a generated one is printed once); the old one works up to 1 minute more",
				help:    rotateWebhookSecretHelp, flags: rotateWebhookSecretCommand},
		}},
		{name: "secrets", summary: "sealed secrets and the unsubscribe-token keys", help: secretsHelp, subs: []*command{
			{name: "token-keys", summary: "list the kept unsubscribe-token keys: version, creation time, which signs",
				flags: tokenKeysCommand},
			{name: "rotate-token-key", summary: "make a new token key that signs new links within 5 minutes; old links keep working",
				help: secretsHelp, flags: rotateTokenKeyCommand},
			{name: "retire-token-key", synopsis: "--version N [--force]",
				summary: "delete a token key: the unsubscribe links it signed stop working within 5 minutes",
				help:    secretsHelp, flags: retireTokenKeyCommand},
			{name: "reseal", summary: "seal every secret still stored in clear (written before secrets were sealed)",
				help: secretsHelp, flags: resealCommand},
		}},
		{name: "apikey", summary: "a shop's API keys", help: apiKeyHelp, subs: []*command{
			{name: "list", synopsis: "--shop SHOP_ID",
				summary: "list the shop's API keys: id, creation time, label (never a secret)",
				flags:   apiKeyListCommand},
			{name: "create", synopsis: "--shop SHOP_ID [--label L]",
				summary: "create an API key for the shop; prints it once",
				flags:   apiKeyCreateCommand},
			{name: "revoke", synopsis: "--shop SHOP_ID --key-id K",
				summary: apiKeyRevokeSummary,
				help:    apiKeyHelp, flags: apiKeyRevokeCommand},
			{name: "rotate", synopsis: "--shop SHOP_ID --key-id K [--label L]",
				summary: "replace one of the shop's API keys: prints the new key once, then revokes the old one",
				help:    apiKeyHelp, flags: apiKeyRotateCommand},
		}},
		{name: "clv", summary: "fit and apply the CLV models to a transaction CSV", help: clvHelp, subs: []*command{
			{name: "fit", synopsis: "--transactions FILE.csv [flags]",
				summary: "fit the models to the calibration period; prints JSON",
				help:    clvHelp, flags: clvCommand("fit")},
			{name: "evaluate", synopsis: "--transactions FILE.csv --calibration-end DATE [flags]",
				summary: "fit to the calibration period and forecast the holdout period up to --observation-end; prints JSON",
				help:    clvHelp, flags: clvCommand("evaluate")},
			{name: "score", synopsis: "--transactions FILE.csv [flags]",
				summary: "score every customer as of --calibration-end; prints CSV",
				help:    clvHelp + clvScoreHelp, flags: clvCommand("score")},
		}},
		{name: "customers", summary: "the shop's scored customers", subs: []*command{
			{name: "export", synopsis: "--shop SHOP_ID [--segment S] [--band B]",
				summary: "write every scored customer as CSV to stdout (the columns are the API's score fields)",
				flags:   customersExportCommand},
		}},
		{name: "nightly", synopsis: "[--shop SHOP_ID] [--as-of YYYY-MM-DD] [--force] [flags]",
			summary: "run the nightly scoring job on the local stack (planner, work queue, workers); prints a summary per shop",
			help:    nightlyHelp, flags: nightlyCommand},
		{name: "campaign", summary: "win-back campaigns on the local stack", subs: []*command{
			{name: "run", synopsis: "[--shop SHOP_ID] [--as-of YYYY-MM-DD] [--dry-run] [flags]",
				summary: "select, record, queue and send the campaign through the SQS and SES emulators until the queue is drained",
				help:    campaignRunHelp, flags: campaignRunCommand},
			{name: "preview", synopsis: "--shop SHOP_ID [--as-of YYYY-MM-DD] [--limit N] [--out DIR]",
				summary: "render the first e-mails of a campaign to files, without sending",
				help:    campaignPreviewHelp, flags: campaignPreviewCommand},
			{name: "report", synopsis: "--shop SHOP_ID [--campaign ID]",
				summary: "measure campaigns (attribution, holdout, uplift) and print their reports as JSON",
				flags:   campaignReportCommand},
			{name: "coupons", synopsis: "--shop SHOP_ID --campaign ID [--format csv|json]",
				summary: "list a campaign's coupon codes, to load into the shop",
				flags:   campaignCouponsCommand},
		}},
		{name: "demo", synopsis: "[--customers N] [--out DIR] [flags]",
			summary: "the whole retention loop on the local stack, ending in the shop's report (make demo starts the stack first)",
			help:    demoHelp, flags: demoCommand},
	},
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "winback:", err)
		os.Exit(1)
	}
}

// run runs the command line args; usage asked for with -h goes to stdout,
// usage after a mistake to stderr.
func run(args []string, stdout, stderr io.Writer) error {
	return commands.exec(context.Background(), nil, args, stdout, stderr)
}
