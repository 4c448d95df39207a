package localenv

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/secrets"
	"github.com/winback/winback/shared/store"
)

// shopTable serves one shop item whose webhook secret is sealed, and
// counts the updates it is asked for.
type shopTable struct {
	store.DB
	updates int
}

func (f *shopTable) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "SHOP#shop_a"}, "sk": &types.AttributeValueMemberS{Value: "META"},
		"shop_id": &types.AttributeValueMemberS{Value: "shop_a"}, "name": &types.AttributeValueMemberS{Value: "Acme"},
		"webhook_secret_sealed": &types.AttributeValueMemberB{Value: []byte{1, 1, 0, 1, 0}},
	}}, nil
}

func (f *shopTable) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	f.updates++
	return &dynamodb.UpdateItemOutput{}, nil
}

// TestSecretsAgainstAWSNeedTheKMSKey: against a table in AWS without
// WINBACK_KMS_KEY_ID, no secret is written (nothing reaches the table)
// and the error names the variable; shops are read without their secret.
func TestSecretsAgainstAWSNeedTheKMSKey(t *testing.T) {
	ctx := context.Background()
	t.Setenv("DYNAMODB_ENDPOINT", "")
	t.Setenv(secrets.KeyIDEnv, "")
	if s := Sealing(); !strings.Contains(s, secrets.KeyIDEnv) {
		t.Errorf("Sealing() = %q", s)
	}
	opts, err := storeOptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := &shopTable{}
	st := store.New(db, "winback", opts...)
	err = st.SetWebhookSecret(ctx, "shop_a", "shpss_new", "")
	if !errors.Is(err, secrets.ErrNoSealer) || !strings.Contains(err.Error(), secrets.KeyIDEnv) || db.updates != 0 {
		t.Fatalf("SetWebhookSecret: %v, %d updates", err, db.updates)
	}
	sh, err := st.Shop(ctx, "shop_a")
	if err != nil || sh.Name != "Acme" || sh.WebhookSecret != "" {
		t.Fatalf("Shop() = %+v, %v; want the shop without its secret", sh, err)
	}
}

func TestSealing(t *testing.T) {
	t.Setenv(secrets.KeyIDEnv, "")
	t.Setenv("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000")
	if s := Sealing(); !strings.Contains(s, "development key") {
		t.Errorf("local: %q", s)
	}
	t.Setenv(secrets.KeyIDEnv, "arn:aws:kms:eu-west-1:111122223333:key/k")
	if s := Sealing(); !strings.Contains(s, "arn:aws:kms:eu-west-1:111122223333:key/k") {
		t.Errorf("with a key: %q", s)
	}
}
