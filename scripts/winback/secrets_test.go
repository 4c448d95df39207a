package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/secrets"
)

// runJSON runs the CLI and decodes what it printed into a map.
func runJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var m map[string]any
	winback(t, &m, args...)
	return m
}

// runErr runs the CLI and returns its error.
func runErr(args ...string) error {
	var out, errOut bytes.Buffer
	return run(args, &out, &errOut)
}

// secretsTable points the CLI at a table of its own on DynamoDB Local.
func secretsTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	t.Setenv("DYNAMODB_ENDPOINT", emulator.DynamoDBEndpoint(t))
	table := fmt.Sprintf("secrets-cli-%d", time.Now().UnixNano())
	t.Setenv("WINBACK_TABLE", table)
	t.Setenv(secrets.KeyIDEnv, "")
	t.Setenv(localenv.KMSEndpointVar, "")
	runJSON(t, "table", "create")
	return emulator.DynamoDB(t), table
}

func rawItem(t *testing.T, db *dynamodb.Client, table, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func sealedKind(t *testing.T, item map[string]types.AttributeValue, attr string) secrets.Kind {
	t.Helper()
	b, ok := item[attr].(*types.AttributeValueMemberB)
	if !ok {
		t.Fatalf("no binary %s in %v", attr, item)
	}
	k, _ := secrets.KindOf(b.Value)
	return k
}

// checkUntil checks that a printed time is d after the command ran (at
// the second, rounded up).
func checkUntil(t *testing.T, what string, v any, before, after time.Time, d time.Duration) {
	t.Helper()
	s, _ := v.(string)
	got, err := time.Parse(time.RFC3339, s)
	if err != nil || got.Before(before.Add(d).Truncate(time.Second)) || got.After(after.Add(d+time.Second)) {
		t.Errorf("%s = %q, want about %s after the command", what, s, d)
	}
}

func TestRotateWebhookSecretCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("the CLI on DynamoDB Local")
	}
	ctx := context.Background()
	db, table := secretsTable(t)
	created := runJSON(t, "shop", "create", "--name", "Acme")
	shopID, oldSecret := created["shop_id"].(string), created["webhook_secret"].(string)

	before := time.Now()
	out := runJSON(t, "shop", "rotate-webhook-secret", "--shop", shopID)
	after := time.Now()
	fresh, _ := out["webhook_secret"].(string)
	if len(fresh) < 32 || fresh == oldSecret || out["shop_id"] != shopID {
		t.Fatalf("rotate printed %v", out)
	}
	checkUntil(t, "old_secret_accepted_until", out["old_secret_accepted_until"], before, after, httpapi.KeyTTL)
	if note, _ := out["note"].(string); !strings.Contains(note, "1 minute") || !strings.Contains(note, "old secret") {
		t.Errorf("note %q does not state the window", note)
	}
	if sealed, _ := out["sealed_with"].(string); !strings.Contains(sealed, "development key") {
		t.Errorf("sealed_with %q", sealed)
	}
	st, err := localenv.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sh, err := st.Shop(ctx, shopID); err != nil || sh.WebhookSecret != fresh {
		t.Fatalf("stored secret %q, %v; want the printed one", sh.WebhookSecret, err)
	}
	item := rawItem(t, db, table, "SHOP#"+shopID, "META")
	if _, clear := item["webhook_secret"]; clear || sealedKind(t, item, "webhook_secret_sealed") != secrets.KindDev {
		t.Fatalf("item %v", item)
	}

	out = runJSON(t, "shop", "rotate-webhook-secret", "--shop", shopID, "--secret", "shpss_from_shopify")
	if out["webhook_secret"] != "updated" {
		t.Errorf("a given secret is printed back: %v", out)
	}
	if sh, _ := st.Shop(ctx, shopID); sh.WebhookSecret != "shpss_from_shopify" {
		t.Fatalf("stored secret %q", sh.WebhookSecret)
	}
	if err := runErr("shop", "rotate-webhook-secret", "--shop", "shop_missing"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("a missing shop: %v", err)
	}
	if err := runErr("shop", "rotate-webhook-secret"); err == nil || !strings.Contains(err.Error(), "--shop is required") {
		t.Errorf("without --shop: %v", err)
	}
}

func TestTokenKeyCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("the CLI on DynamoDB Local")
	}
	ctx := context.Background()
	db, table := secretsTable(t)
	if out := runJSON(t, "secrets", "token-keys"); len(out["keys"].([]any)) != 0 || !strings.Contains(out["note"].(string), "no key yet") {
		t.Fatalf("before first use: %v", out)
	}
	st, err := localenv.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, err := st.TokenKeys(ctx) // the first e-mail makes key 1
	if err != nil {
		t.Fatal(err)
	}
	link, _ := first.Sign(campaign.Token{ShopID: "shop_a", CustomerID: "c1", CampaignID: "2026-11-01", Issued: "2026-11-01"})

	out := runJSON(t, "secrets", "rotate-token-key")
	if out["version"] != 2.0 || len(out["keys"].([]any)) != 2 {
		t.Fatalf("rotate printed %v", out)
	}
	created, _ := time.Parse(time.RFC3339, out["keys"].([]any)[0].(map[string]any)["created_at"].(string))
	checkUntil(t, "signs_new_links_by", out["signs_new_links_by"], created, created.Add(time.Second), campaign.TokenKeyTTL)
	if note := out["note"].(string); !strings.Contains(note, "5 minutes") || !strings.Contains(note, "keep working") {
		t.Errorf("rotate's note %q", note)
	}
	if sealedKind(t, rawItem(t, db, table, "CONFIG", "UNSUBSCRIBE_KEY#000002"), "sealed") != secrets.KindDev {
		t.Fatal("key 2 is not sealed")
	}
	list := runJSON(t, "secrets", "token-keys")["keys"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["version"] != 2.0 || list[0].(map[string]any)["signs_new_links"] != true ||
		list[1].(map[string]any)["signs_new_links"] != false {
		t.Fatalf("token-keys %v", list)
	}
	keys, _ := st.TokenKeys(ctx)
	if _, v, err := keys.Verify(link); err != nil || v != 1 {
		t.Fatalf("a link of key 1 after the rotation: key %d, %v", v, err)
	}

	for _, tc := range []struct {
		args []string
		want error
	}{
		{[]string{"--version", "2", "--force"}, campaign.ErrSigningKey},
		{[]string{"--version", "1"}, campaign.ErrKeyInUse},
		{[]string{"--version", "9"}, campaign.ErrNoTokenKey},
	} {
		if err := runErr(append([]string{"secrets", "retire-token-key"}, tc.args...)...); !errors.Is(err, tc.want) {
			t.Errorf("retire-token-key %v: %v, want %v", tc.args, err, tc.want)
		}
	}
	if err := runErr("secrets", "retire-token-key"); err == nil || !strings.Contains(err.Error(), "--version is required") {
		t.Errorf("retire without --version: %v", err)
	}
	before := time.Now()
	out = runJSON(t, "secrets", "retire-token-key", "--version", "1", "--force")
	checkUntil(t, "links_refused_by", out["links_refused_by"], before, time.Now(), campaign.TokenKeyTTL)
	if out["retired_version"] != 1.0 || len(out["keys"].([]any)) != 1 || !strings.Contains(out["note"].(string), "refused") {
		t.Fatalf("retire printed %v", out)
	}
	keys, _ = st.TokenKeys(ctx)
	if _, _, err := keys.Verify(link); !errors.Is(err, campaign.ErrBadToken) {
		t.Fatalf("a link of the retired key: %v", err)
	}
}

func TestResealCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("the CLI on DynamoDB Local")
	}
	ctx := context.Background()
	db, table := secretsTable(t)
	created := runJSON(t, "shop", "create", "--name", "Old shop", "--webhook-secret", "shpss_old")
	shopID := created["shop_id"].(string)
	// Make the items look as they were written before secrets were sealed.
	item := rawItem(t, db, table, "SHOP#"+shopID, "META")
	delete(item, "webhook_secret_sealed")
	item["webhook_secret"] = &types.AttributeValueMemberS{Value: "shpss_old"}
	clearKey := bytes.Repeat([]byte{9}, 32)
	for _, it := range []map[string]types.AttributeValue{item, {
		"pk": &types.AttributeValueMemberS{Value: "CONFIG"}, "sk": &types.AttributeValueMemberS{Value: "UNSUBSCRIBE_KEY"},
		"type": &types.AttributeValueMemberS{Value: "token_key"}, "key": &types.AttributeValueMemberB{Value: clearKey},
		"created_at": &types.AttributeValueMemberS{Value: "2026-01-01T00:00:00Z"},
	}} {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	if list := runJSON(t, "secrets", "token-keys"); !strings.Contains(list["note"].(string), "winback secrets reseal") {
		t.Errorf("token-keys does not tell to reseal a clear key: %v", list)
	}

	out := runJSON(t, "secrets", "reseal")
	if out["shops"] != 1.0 || out["webhook_secrets_resealed"] != 1.0 || out["token_key_resealed"] != true {
		t.Fatalf("reseal printed %v", out)
	}
	item = rawItem(t, db, table, "SHOP#"+shopID, "META")
	if _, clear := item["webhook_secret"]; clear || sealedKind(t, item, "webhook_secret_sealed") != secrets.KindDev {
		t.Fatalf("shop item after reseal: %v", item)
	}
	if rawItem(t, db, table, "CONFIG", "UNSUBSCRIBE_KEY") != nil {
		t.Fatal("the clear token key is still stored")
	}
	st, err := localenv.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sh, _ := st.Shop(ctx, shopID); sh.WebhookSecret != "shpss_old" {
		t.Fatalf("secret after reseal %q", sh.WebhookSecret)
	}
	if keys, _ := st.TokenKeys(ctx); len(keys) != 1 || keys[0].Version != 0 || !bytes.Equal(keys[0].Key, clearKey) {
		t.Fatalf("token keys after reseal: %+v", keys)
	}
	again := runJSON(t, "secrets", "reseal")
	if again["webhook_secrets_resealed"] != 0.0 || again["token_key_resealed"] != false {
		t.Fatalf("a second reseal: %v", again)
	}
}

// TestSecretCommandsWithKMS: with WINBACK_KMS_KEY_ID (here a key of the
// KMS emulator, at KMS_ENDPOINT) the CLI seals with KMS, as against AWS.
func TestSecretCommandsWithKMS(t *testing.T) {
	if testing.Short() {
		t.Skip("the CLI on DynamoDB Local and the KMS emulator")
	}
	db, table := secretsTable(t)
	_, keyARN := emulator.KMS(t)
	t.Setenv(localenv.KMSEndpointVar, emulator.KMSEndpoint(t))
	t.Setenv(secrets.KeyIDEnv, keyARN)
	shopID := runJSON(t, "shop", "create", "--name", "KMS shop")["shop_id"].(string)
	if sealedKind(t, rawItem(t, db, table, "SHOP#"+shopID, "META"), "webhook_secret_sealed") != secrets.KindKMS {
		t.Fatal("the shop's secret is not sealed with KMS")
	}
	out := runJSON(t, "shop", "rotate-webhook-secret", "--shop", shopID)
	if !strings.Contains(out["sealed_with"].(string), keyARN) {
		t.Errorf("sealed_with %v", out["sealed_with"])
	}
	runJSON(t, "secrets", "rotate-token-key")
	if sealedKind(t, rawItem(t, db, table, "CONFIG", "UNSUBSCRIBE_KEY#000001"), "sealed") != secrets.KindKMS {
		t.Fatal("the token key is not sealed with KMS")
	}
	ctx := context.Background()
	st, err := localenv.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sh, err := st.Shop(ctx, shopID); err != nil || sh.WebhookSecret != out["webhook_secret"] {
		t.Fatalf("the rotated secret read back: %q, %v", sh.WebhookSecret, err)
	}
}

// TestCommandSummariesStateTheWindows keeps the summaries' numbers true.
func TestCommandSummariesStateTheWindows(t *testing.T) {
	for _, tc := range []struct {
		path []string
		ttl  time.Duration
	}{
		{[]string{"shop", "rotate-webhook-secret"}, httpapi.KeyTTL},
		{[]string{"secrets", "rotate-token-key"}, campaign.TokenKeyTTL},
		{[]string{"secrets", "retire-token-key"}, campaign.TokenKeyTTL},
	} {
		found := false
		commands.walk(nil, func(p []string, leaf *command) {
			if strings.Join(p, " ") == strings.Join(tc.path, " ") {
				found = true
				if !strings.Contains(leaf.summary, ttlText(tc.ttl)) {
					t.Errorf("%v: summary %q does not say %s", tc.path, leaf.summary, ttlText(tc.ttl))
				}
			}
		})
		if !found {
			t.Errorf("no command %v", tc.path)
		}
	}
}
