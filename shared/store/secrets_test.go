package store_test

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/secrets"
	"github.com/winback/winback/shared/secrets/awskms"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
	"github.com/winback/winback/shared/store/storetest"
)

var _ storetest.SecretsStore = (*store.Store)(nil)

func TestSecretsContract(t *testing.T) {
	storetest.RunSecrets(t, func(t *testing.T) storetest.SecretsStore {
		s, _, _ := newStore(t)
		return s
	})
}

// rawItem reads an item as stored.
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

func putRaw(t *testing.T, db *dynamodb.Client, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func sealedAttr(t *testing.T, item map[string]types.AttributeValue, name string) []byte {
	t.Helper()
	b, ok := item[name].(*types.AttributeValueMemberB)
	if !ok {
		t.Fatalf("item has no binary %s: %v", name, item)
	}
	return b.Value
}

// TestWebhookSecretIsStoredSealed: the shop item holds the secret sealed,
// bound to its shop: copied into another shop's item it does not open.
func TestWebhookSecretIsStoredSealed(t *testing.T) {
	ctx := context.Background()
	s, db, table := newStore(t)
	a := storetest.NewShop(t, s, "UTC")
	b := storetest.NewShop(t, s, "UTC")
	item := rawItem(t, db, table, "SHOP#"+a.ID, "META")
	if _, clear := item["webhook_secret"]; clear {
		t.Fatal("the item holds webhook_secret in clear")
	}
	sealed := sealedAttr(t, item, "webhook_secret_sealed")
	if bytes.Contains(sealed, []byte(a.WebhookSecret)) {
		t.Fatal("the sealed secret holds the secret")
	}
	if k, ok := secrets.KindOf(sealed); !ok || k != secrets.KindDev {
		t.Fatalf("sealed with %v, %v; want the development key (no WithSealer)", k, ok)
	}

	other := rawItem(t, db, table, "SHOP#"+b.ID, "META")
	other["webhook_secret_sealed"] = &types.AttributeValueMemberB{Value: sealed}
	putRaw(t, db, table, other)
	if _, err := s.Shop(ctx, b.ID); !errors.Is(err, secrets.ErrOpen) {
		t.Fatalf("shop %s with shop %s's sealed secret: %v, want ErrOpen", b.ID, a.ID, err)
	}
	// Without webhook secrets, the store does not even try to open it.
	noSecrets := store.New(db, table, store.WithSealer(secrets.Unavailable("none here")), store.WithoutWebhookSecrets())
	got, err := noSecrets.Shop(ctx, b.ID)
	if err != nil || got.WebhookSecret != "" || got.Name != b.Name {
		t.Fatalf("WithoutWebhookSecrets: %+v, %v", got, err)
	}
}

// TestClearWebhookSecretsAreReadAndResealed: an item written before
// secrets were sealed still verifies webhooks, and ResealWebhookSecrets
// seals it in place.
func TestClearWebhookSecretsAreReadAndResealed(t *testing.T) {
	ctx := context.Background()
	s, db, table := newStore(t)
	old := storetest.NewShop(t, s, "UTC")
	sealedShop := storetest.NewShop(t, s, "UTC")
	item := rawItem(t, db, table, "SHOP#"+old.ID, "META")
	delete(item, "webhook_secret_sealed")
	item["webhook_secret"] = &types.AttributeValueMemberS{Value: "shpss_written_in_clear"}
	putRaw(t, db, table, item)
	if got, err := s.Shop(ctx, old.ID); err != nil || got.WebhookSecret != "shpss_written_in_clear" {
		t.Fatalf("a clear secret: %q, %v", got.WebhookSecret, err)
	}

	shops, resealed, err := s.ResealWebhookSecrets(ctx)
	if err != nil || shops != 2 || resealed != 1 {
		t.Fatalf("reseal: %d shops, %d resealed, %v; want 2 and 1", shops, resealed, err)
	}
	item = rawItem(t, db, table, "SHOP#"+old.ID, "META")
	if _, clear := item["webhook_secret"]; clear {
		t.Fatal("the clear secret is still there")
	}
	sealedAttr(t, item, "webhook_secret_sealed")
	for id, want := range map[string]string{old.ID: "shpss_written_in_clear", sealedShop.ID: sealedShop.WebhookSecret} {
		if got, err := s.Shop(ctx, id); err != nil || got.WebhookSecret != want {
			t.Fatalf("shop %s after reseal: %q, %v; want %q", id, got.WebhookSecret, err, want)
		}
	}
	if _, resealed, _ := s.ResealWebhookSecrets(ctx); resealed != 0 {
		t.Fatalf("a second reseal resealed %d", resealed)
	}

	// Setting a secret also removes a clear one.
	putRaw(t, db, table, func() map[string]types.AttributeValue {
		it := rawItem(t, db, table, "SHOP#"+old.ID, "META")
		it["webhook_secret"] = &types.AttributeValueMemberS{Value: "stale"}
		return it
	}())
	if err := s.SetWebhookSecret(ctx, old.ID, "shpss_new", ""); err != nil {
		t.Fatal(err)
	}
	if _, clear := rawItem(t, db, table, "SHOP#"+old.ID, "META")["webhook_secret"]; clear {
		t.Fatal("SetWebhookSecret left a clear secret")
	}
}

// TestClearTokenKeyIsKeptAndResealed: the token key written in clear
// before keys had versions (sk UNSUBSCRIBE_KEY) is version 0: its links
// keep verifying after rotations and after it is resealed.
func TestClearTokenKeyIsKeptAndResealed(t *testing.T) {
	ctx := context.Background()
	s, db, table := newStore(t)
	clearKey := bytes.Repeat([]byte{7}, 32)
	putRaw(t, db, table, map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "CONFIG"}, "sk": &types.AttributeValueMemberS{Value: "UNSUBSCRIBE_KEY"},
		"type": &types.AttributeValueMemberS{Value: "token_key"}, "key": &types.AttributeValueMemberB{Value: clearKey},
		"created_at": &types.AttributeValueMemberS{Value: "2026-01-01T00:00:00Z"},
	})
	tok := campaign.Token{ShopID: "shop_a", CustomerID: "c1", CampaignID: "2026-01-02", Issued: "2026-01-02"}
	oldLink, err := campaign.SignToken(clearKey, tok)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s.TokenKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Version != 0 || !bytes.Equal(keys[0].Key, clearKey) {
		t.Fatalf("the clear key: %+v, %v", keys, err)
	}
	vs, _ := s.TokenKeyVersions(ctx)
	if len(vs) != 1 || !vs[0].InClear {
		t.Fatalf("versions: %+v", vs)
	}
	if info, err := s.RotateTokenKey(ctx); err != nil || info.Version != 1 {
		t.Fatalf("rotate: %+v, %v", info, err)
	}
	if ok, err := s.ResealTokenKey(ctx); err != nil || !ok {
		t.Fatalf("reseal: %v, %v", ok, err)
	}
	if item := rawItem(t, db, table, "CONFIG", "UNSUBSCRIBE_KEY"); item != nil {
		t.Fatalf("the clear key is still stored: %v", item)
	}
	sealed := sealedAttr(t, rawItem(t, db, table, "CONFIG", "UNSUBSCRIBE_KEY#000000"), "sealed")
	if bytes.Contains(sealed, clearKey) {
		t.Fatal("the sealed key holds the key")
	}
	keys, err = s.TokenKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].Version != 1 || keys[1].Version != 0 || !bytes.Equal(keys[1].Key, clearKey) {
		t.Fatalf("after reseal: %+v, %v", keys, err)
	}
	if _, v, err := keys.Verify(oldLink); err != nil || v != 0 {
		t.Fatalf("an old link after rotation and reseal: key %d, %v", v, err)
	}
	if again, err := s.ResealTokenKey(ctx); err != nil || again {
		t.Fatalf("a second reseal: %v, %v", again, err)
	}
	if vs, _ := s.TokenKeyVersions(ctx); len(vs) != 2 || vs[1].InClear || !vs[1].CreatedAt.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("versions after reseal: %+v", vs)
	}
	if err := s.RetireTokenKey(ctx, 0, true); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.TokenKeys(ctx); len(keys) != 1 || keys[0].Version != 1 {
		t.Fatalf("after retiring 0: %+v", keys)
	}
}

// countingKMS counts the KMS calls of a client.
type countingKMS struct {
	awskms.Client
	calls atomic.Int64
}

func (c *countingKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.calls.Add(1)
	return c.Client.Decrypt(ctx, in, opts...)
}

// TestSecretsSealedWithKMS runs the store with the functions' sealer
// against the KMS emulator: what it writes is sealed by KMS, a store with
// the development sealer cannot read it, and reading a shop again costs
// no KMS call while the data key is cached.
func TestSecretsSealedWithKMS(t *testing.T) {
	ctx := context.Background()
	client, keyARN := emulator.KMS(t)
	counting := &countingKMS{Client: client}
	sealer := awskms.New(counting, keyARN)
	db, table := newTable(t)
	s := store.New(db, table, store.WithSealer(sealer))
	sh := storetest.NewShop(t, s, "UTC")
	sealed := sealedAttr(t, rawItem(t, db, table, "SHOP#"+sh.ID, "META"), "webhook_secret_sealed")
	if k, _ := secrets.KindOf(sealed); k != secrets.KindKMS {
		t.Fatalf("sealed with %v", k)
	}
	// A cold function: the first read decrypts the data key, the next 20 do not.
	cold := awskms.New(counting, keyARN)
	coldStore := store.New(db, table, store.WithSealer(cold))
	for range 21 {
		got, err := coldStore.Shop(ctx, sh.ID)
		if err != nil || got.WebhookSecret != sh.WebhookSecret {
			t.Fatalf("Shop() secret %q, %v", got.WebhookSecret, err)
		}
	}
	if n := counting.calls.Load(); n != 1 {
		t.Fatalf("21 reads of a shop: %d KMS Decrypt calls, want 1", n)
	}
	keys, err := s.TokenKeys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("token keys: %+v, %v", keys, err)
	}
	if k, _ := secrets.KindOf(sealedAttr(t, rawItem(t, db, table, "CONFIG", "UNSUBSCRIBE_KEY#000001"), "sealed")); k != secrets.KindKMS {
		t.Fatalf("token key sealed with %v", k)
	}
	dev := store.New(db, table)
	if _, err := dev.Shop(ctx, sh.ID); !errors.Is(err, secrets.ErrOpen) {
		t.Fatalf("the development sealer read a KMS-sealed secret: %v", err)
	}
	if _, err := dev.TokenKeys(ctx); !errors.Is(err, secrets.ErrOpen) {
		t.Fatalf("the development sealer read a KMS-sealed token key: %v", err)
	}
	if got, err := s.Shop(ctx, "shop_missing"); !errors.Is(err, shop.ErrNotFound) {
		t.Fatalf("missing shop: %+v, %v", got, err)
	}
}
