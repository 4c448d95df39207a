package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/winback/winback/shared/secrets"
	"github.com/winback/winback/shared/store"
	"github.com/winback/winback/shared/store/storetest"
)

// TestWithoutSecrets: on DynamoDB Local, a store of a function that holds
// no KMS key reads shops without their webhook secret and refuses to make
// or read a token key, rather than fall back to the development key.
func TestWithoutSecrets(t *testing.T) {
	ctx := context.Background()
	full, db, table := newStore(t)
	sh := storetest.NewShop(t, full, "UTC")
	if got, err := full.Shop(ctx, sh.ID); err != nil || got.WebhookSecret == "" {
		t.Fatalf("the full store reads the shop without its secret: %v", err)
	}
	bare := store.New(db, table, store.WithoutSecrets())
	got, err := bare.Shop(ctx, sh.ID)
	if err != nil || got.WebhookSecret != "" || got.ID != sh.ID {
		t.Errorf("Shop without secrets = %+v, %v; want the shop, no secret", got, err)
	}
	if _, err := bare.TokenKeys(ctx); !errors.Is(err, secrets.ErrNoSealer) {
		t.Errorf("TokenKeys without secrets: %v, want secrets.ErrNoSealer", err)
	}
}
