package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/secrets"
)

// migrateHelp is the -h text of "winback migrate".
const migrateHelp = `Upgrades the table of a deployment made with the previous release, once
the new release is deployed and before its next nightly run:

  - every shop's campaign settings move from the shop's partition to their
    own (SHOP#<shop>#CAMPAIGN_CONFIG); until they do, the new functions see
    no settings, so no campaign has a sender address and none is sent;
  - the frequency-cap contacts move from the customers' shard partitions to
    the contacts partitions (SHOP#<shop>#CONTACTS#<shard>); until they do,
    a campaign would mail customers contacted within the cap again;
  - every secret still stored in clear is sealed, as 'winback secrets
    reseal' does.

Settings or a contact written since the upgrade win over those of before
(a contact: the later one). Running it again does nothing; an interrupted
run is finished by the next. Old webhook delivery ids are not moved: they
expire within 7 days, and a delivery seen again meanwhile stores nothing
twice (orders are kept by order id).

Environment: WINBACK_TABLE, DYNAMODB_ENDPOINT (default http://127.0.0.1:8000;
empty for the table of a deployed stack, with the usual AWS credentials and
region), WINBACK_KMS_KEY_ID (the stack's KmsKeyArn output; required against
AWS, except with --dry-run).
`

// migrateJSON is what "winback migrate" prints.
type migrateJSON struct {
	Shops              int    `json:"shops"`
	ConfigsMoved       int    `json:"configs_moved"`
	ConfigsSuperseded  int    `json:"configs_superseded"`
	ContactsMoved      int    `json:"contacts_moved"`
	ContactsSuperseded int    `json:"contacts_superseded"`
	WebhookResealed    int    `json:"webhook_secrets_resealed"`
	TokenKeyResealed   bool   `json:"token_key_resealed"`
	SealedWith         string `json:"sealed_with"`
	DryRun             bool   `json:"dry_run"`
	Note               string `json:"note"`
}

// migrateCommand is "winback migrate".
func migrateCommand(fs *flag.FlagSet) action {
	dryRun := fs.Bool("dry-run", false, "print what would be moved and sealed, without writing anything")
	return func(ctx context.Context, stdout io.Writer) error {
		if !*dryRun && localenv.KMSKeyID() == "" && !localenv.Local(localenv.DynamoDBEndpoint()) {
			return fmt.Errorf("nothing written: migrate also seals the secrets stored in clear; set %s to the stack's KmsKeyArn output (or pass --dry-run)", secrets.KeyIDEnv)
		}
		st, err := localenv.Store(ctx)
		if err != nil {
			return err
		}
		m, err := st.MigrateLayout(ctx, *dryRun)
		if err != nil {
			return fmt.Errorf("%w (what was moved stays moved: run it again to finish)", err)
		}
		out := migrateJSON{
			Shops: m.Shops, ConfigsMoved: m.ConfigsMoved, ConfigsSuperseded: m.ConfigsSuperseded,
			ContactsMoved: m.ContactsMoved, ContactsSuperseded: m.ContactsSuperseded,
			SealedWith: localenv.Sealing(), DryRun: *dryRun,
		}
		if *dryRun {
			if out.WebhookResealed, out.TokenKeyResealed, err = st.ClearSecrets(ctx); err != nil {
				return err
			}
			out.Note = "dry run: nothing was written; the counts are what 'winback migrate' would move and seal now"
			return writeJSON(stdout, out)
		}
		if _, out.WebhookResealed, err = st.ResealWebhookSecrets(ctx); err == nil {
			out.TokenKeyResealed, err = st.ResealTokenKey(ctx)
		}
		if err != nil {
			return fmt.Errorf("campaign settings and contacts moved (%d configs, %d contacts); sealing the secrets stored in clear failed "+
				"(run 'winback secrets reseal' or 'winback migrate' again): %w", m.ConfigsMoved, m.ContactsMoved, err)
		}
		out.Note = "the campaign settings and frequency-cap contacts of the previous release are in their new partitions and " +
			"their old items deleted; every secret stored in clear is sealed (as 'winback secrets reseal' does); running it again does nothing"
		if m.ConfigsSuperseded > 0 {
			out.Note += fmt.Sprintf("; %d shop(s) configured again since the upgrade kept their new settings; those of before are kept beside them as CAMPAIGN_CONFIG_SUPERSEDED (configs_superseded)", m.ConfigsSuperseded)
		}
		return writeJSON(stdout, out)
	}
}
