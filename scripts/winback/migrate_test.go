package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/secrets"
)

// TestMigrateCommand upgrades a table as the previous release left it: the
// campaign settings in the shop's partition, a contact beside the
// summaries, the webhook secret in clear.
func TestMigrateCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("the CLI on DynamoDB Local")
	}
	ctx := context.Background()
	db, table := secretsTable(t)
	shopID := runJSON(t, "shop", "create", "--name", "Before", "--webhook-secret", "shpss_old")["shop_id"].(string)
	st, err := localenv.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := st.Shop(ctx, shopID)
	if err != nil {
		t.Fatal(err)
	}
	cfg := campaign.DefaultConfig()
	cfg.Settings.From = "Before <news@before.example>"
	data, _ := json.Marshal(cfg)
	contactedAt := time.Date(2026, 3, 1, 2, 30, 0, 0, time.UTC)
	shopItem := rawItem(t, db, table, "SHOP#"+shopID, "META")
	delete(shopItem, "webhook_secret_sealed")
	shopItem["webhook_secret"] = &types.AttributeValueMemberS{Value: "shpss_old"}
	oldContactPK := fmt.Sprintf("SHOP#%s#CUSTOMERS#%02d", shopID, sh.Shard("cust-7"))
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	for _, it := range []map[string]types.AttributeValue{
		shopItem,
		{"pk": str("SHOP#" + shopID), "sk": str("CAMPAIGN_CONFIG"), "type": str("campaign_config"), "data": str(string(data))},
		{"pk": str(oldContactPK), "sk": str("CONTACT#cust-7"), "type": str("contact"), "customer_id": str("cust-7"),
			"campaign_id": str("2026-03-01"), "last_contacted_at": str("2026-03-01T02:30:00.000000000Z")},
	} {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, out map[string]any, want map[string]any) {
		t.Helper()
		for k, v := range want {
			if out[k] != v {
				t.Errorf("%s: %s = %v, want %v (%v)", what, k, out[k], v, out)
			}
		}
	}

	out := runJSON(t, "migrate", "--dry-run")
	check("dry run", out, map[string]any{"shops": 1.0, "configs_moved": 1.0, "contacts_moved": 1.0,
		"webhook_secrets_resealed": 1.0, "token_key_resealed": false, "dry_run": true})
	if note, _ := out["note"].(string); !strings.Contains(note, "nothing was written") {
		t.Errorf("dry run's note %q", note)
	}
	if rawItem(t, db, table, "SHOP#"+shopID, "CAMPAIGN_CONFIG") == nil || rawItem(t, db, table, oldContactPK, "CONTACT#cust-7") == nil {
		t.Fatal("the dry run deleted an old item")
	}
	if got, _ := st.CampaignConfig(ctx, shopID); got.Settings.From != "" {
		t.Fatalf("the dry run moved the config: %+v", got.Settings)
	}

	out = runJSON(t, "migrate")
	check("migrate", out, map[string]any{"shops": 1.0, "configs_moved": 1.0, "configs_superseded": 0.0, "contacts_moved": 1.0,
		"contacts_superseded": 0.0, "webhook_secrets_resealed": 1.0, "dry_run": false})
	if note, _ := out["note"].(string); !strings.Contains(note, "running it again does nothing") {
		t.Errorf("note %q", note)
	}
	if got, err := st.CampaignConfig(ctx, shopID); err != nil || got.Settings.From != cfg.Settings.From {
		t.Fatalf("config after migrate: %+v, %v", got.Settings, err)
	}
	var contacts []string
	err = st.Contacts(ctx, sh, sh.Shard("cust-7"), func(id string, at time.Time) error {
		contacts = append(contacts, id+" "+at.Format(time.RFC3339))
		return nil
	})
	if err != nil || len(contacts) != 1 || contacts[0] != "cust-7 "+contactedAt.Format(time.RFC3339) {
		t.Fatalf("contacts after migrate: %v, %v", contacts, err)
	}
	if rawItem(t, db, table, "SHOP#"+shopID, "CAMPAIGN_CONFIG") != nil || rawItem(t, db, table, oldContactPK, "CONTACT#cust-7") != nil {
		t.Fatal("an old item is still stored")
	}
	item := rawItem(t, db, table, "SHOP#"+shopID, "META")
	if _, clear := item["webhook_secret"]; clear || sealedKind(t, item, "webhook_secret_sealed") != secrets.KindDev {
		t.Fatalf("shop item after migrate: %v", item)
	}

	out = runJSON(t, "migrate")
	check("again", out, map[string]any{"shops": 1.0, "configs_moved": 0.0, "configs_superseded": 0.0, "contacts_moved": 0.0,
		"contacts_superseded": 0.0, "webhook_secrets_resealed": 0.0, "token_key_resealed": false})
	if out := runJSON(t, "secrets", "reseal"); out["webhook_secrets_resealed"] != 0.0 {
		t.Errorf("secrets reseal after migrate: %v", out)
	}
}

// TestMigrateNeedsTheKMSKeyAgainstAWS: against a table in AWS, migrate
// seals secrets, so it stops before writing anything without the key; a
// dry run needs none.
func TestMigrateNeedsTheKMSKeyAgainstAWS(t *testing.T) {
	t.Setenv("DYNAMODB_ENDPOINT", "")
	t.Setenv(secrets.KeyIDEnv, "")
	err := runErr("migrate")
	if err == nil || !strings.Contains(err.Error(), secrets.KeyIDEnv) || !strings.Contains(err.Error(), "nothing written") {
		t.Fatalf("migrate against AWS without %s: %v", secrets.KeyIDEnv, err)
	}
}
