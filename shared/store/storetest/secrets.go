package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/shop"
)

// SecretsStore is what the secret commands (winback secrets, winback shop
// rotate-webhook-secret) and the functions' token keyrings consume.
type SecretsStore interface {
	Store
	TokenKeys(ctx context.Context) (campaign.TokenKeys, error)
	TokenKeyVersions(ctx context.Context) ([]campaign.TokenKeyInfo, error)
	RotateTokenKey(ctx context.Context) (campaign.TokenKeyInfo, error)
	RetireTokenKey(ctx context.Context, version int, force bool) error
	ResealTokenKey(ctx context.Context) (bool, error)
	ResealWebhookSecrets(ctx context.Context) (shops, resealed int, err error)
}

// RunSecrets runs the secrets part of the contract against stores made by
// open, a new empty store for each test.
func RunSecrets(t *testing.T, open func(t *testing.T) SecretsStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s SecretsStore)
	}{
		{"TokenKeyRotationKeepsOldLinks", testTokenKeyRotation},
		{"RotateBeforeFirstUse", testRotateFirst},
		{"WebhookSecretRotation", testWebhookSecretRotation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func testTokenKeyRotation(t *testing.T, s SecretsStore) {
	ctx := context.Background()
	if vs, err := s.TokenKeyVersions(ctx); err != nil || len(vs) != 0 {
		t.Fatalf("versions before first use: %+v, %v", vs, err)
	}
	first, err := s.TokenKeys(ctx)
	if err != nil || len(first) != 1 || first[0].Version != 1 {
		t.Fatalf("first use: %+v, %v", first, err)
	}
	tok := campaign.Token{ShopID: "shop_a", CustomerID: "c1", CampaignID: "2026-11-01", Issued: "2026-11-01"}
	oldLink, err := first.Sign(tok)
	if err != nil {
		t.Fatal(err)
	}

	before := time.Now().Add(-time.Second)
	info, err := s.RotateTokenKey(ctx)
	if err != nil || info.Version != 2 || info.CreatedAt.Before(before) || info.InClear {
		t.Fatalf("rotate: %+v, %v", info, err)
	}
	keys, err := s.TokenKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].Version != 2 || !reflect.DeepEqual(keys[1], first[0]) {
		t.Fatalf("after a rotation: %+v, %v; want version 2 then the first key unchanged", keys, err)
	}
	if got, v, err := keys.Verify(oldLink); err != nil || got != tok || v != 1 {
		t.Fatalf("a link signed before the rotation: %+v, key %d, %v", got, v, err)
	}
	newLink, _ := keys.Sign(tok)
	if _, v, err := keys.Verify(newLink); err != nil || v != 2 {
		t.Fatalf("a new link is signed with key %d (%v), want 2", v, err)
	}
	vs, err := s.TokenKeyVersions(ctx)
	if err != nil || len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 || !vs[1].CreatedAt.Equal(first[0].CreatedAt) {
		t.Fatalf("versions: %+v, %v", vs, err)
	}

	for _, tc := range []struct {
		version int
		force   bool
		want    error
	}{
		{2, true, campaign.ErrSigningKey},
		{1, false, campaign.ErrKeyInUse}, // key 2 is seconds old: senders may still sign with 1
		{7, true, campaign.ErrNoTokenKey},
	} {
		if err := s.RetireTokenKey(ctx, tc.version, tc.force); !errors.Is(err, tc.want) {
			t.Fatalf("retire %d (force %v): %v, want %v", tc.version, tc.force, err, tc.want)
		}
	}
	if keys, _ := s.TokenKeys(ctx); len(keys) != 2 {
		t.Fatalf("a refused retirement removed a key: %+v", keys)
	}
	if err := s.RetireTokenKey(ctx, 1, true); err != nil {
		t.Fatal(err)
	}
	keys, err = s.TokenKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Version != 2 {
		t.Fatalf("after retiring 1: %+v, %v", keys, err)
	}
	if _, _, err := keys.Verify(oldLink); !errors.Is(err, campaign.ErrBadToken) {
		t.Fatalf("a link of the retired key: %v, want ErrBadToken", err)
	}
	if _, _, err := keys.Verify(newLink); err != nil {
		t.Fatalf("a link of the kept key: %v", err)
	}
	// Versions are never reused.
	if info, err := s.RotateTokenKey(ctx); err != nil || info.Version != 3 {
		t.Fatalf("rotate after a retirement: %+v, %v", info, err)
	}
	if again, err := s.ResealTokenKey(ctx); err != nil || again {
		t.Fatalf("reseal with no key in clear: %v, %v", again, err)
	}
}

func testRotateFirst(t *testing.T, s SecretsStore) {
	ctx := context.Background()
	info, err := s.RotateTokenKey(ctx)
	if err != nil || info.Version != 1 {
		t.Fatalf("rotate before first use: %+v, %v", info, err)
	}
	keys, err := s.TokenKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Version != 1 {
		t.Fatalf("keys: %+v, %v", keys, err)
	}
}

func testWebhookSecretRotation(t *testing.T, s SecretsStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	other := NewShop(t, s, "UTC")
	if got, err := s.Shop(ctx, sh.ID); err != nil || got.WebhookSecret != sh.WebhookSecret || got.WebhookSecret == "" {
		t.Fatalf("Shop() secret %q, %v; want %q", got.WebhookSecret, err, sh.WebhookSecret)
	}
	if err := s.SetWebhookSecret(ctx, sh.ID, "shpss_rotated", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Shop(ctx, sh.ID); got.WebhookSecret != "shpss_rotated" {
		t.Fatalf("after rotation: %q", got.WebhookSecret)
	}
	if got, _ := s.Shop(ctx, other.ID); got.WebhookSecret != other.WebhookSecret {
		t.Fatalf("the other shop's secret changed: %q", got.WebhookSecret)
	}
	if err := s.SetWebhookSecret(ctx, sh.ID, "", ""); err == nil {
		t.Fatal("an empty secret was accepted")
	}
	shops, resealed, err := s.ResealWebhookSecrets(ctx)
	if err != nil || shops != 2 || resealed != 0 {
		t.Fatalf("reseal with every secret sealed: %d shops, %d resealed, %v", shops, resealed, err)
	}
	if got, _ := s.Shop(ctx, sh.ID); got.WebhookSecret != "shpss_rotated" {
		t.Fatalf("after reseal: %q", got.WebhookSecret)
	}
	if err := s.SetWebhookSecret(ctx, "shop_missing", "x", ""); !errors.Is(err, shop.ErrNotFound) {
		t.Fatalf("rotate a missing shop's secret: %v", err)
	}
}
