package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/shared/shop"
)

// APIKeyStore is the API key part of the contract: a shop's keys are
// listed, created and revoked per shop.
type APIKeyStore interface {
	Store
	CreateAPIKey(ctx context.Context, shopID, label string) (apiKey string, info shop.KeyInfo, err error)
	ListAPIKeys(ctx context.Context, shopID string) ([]shop.KeyInfo, error)
	RevokeAPIKey(ctx context.Context, shopID, keyID string) error
}

// RunAPIKeys checks listing, creating and revoking a shop's API keys.
func RunAPIKeys(t *testing.T, open func(t *testing.T) APIKeyStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s APIKeyStore)
	}{
		{"FirstKeyIsListed", testFirstKeyListed},
		{"CreateListRevoke", testCreateListRevoke},
		{"AnotherShopsKeyCannotBeRevoked", testRevokeOtherShopsKey},
		{"UnknownShop", testAPIKeysUnknownShop},
		{"BadLabel", testBadLabel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// keyIDs is the key ids of a listing, in its order.
func keyIDs(keys []shop.KeyInfo) []string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.KeyID
	}
	return ids
}

// mustList lists a shop's keys.
func mustList(t *testing.T, s APIKeyStore, shopID string) []shop.KeyInfo {
	t.Helper()
	keys, err := s.ListAPIKeys(context.Background(), shopID)
	if err != nil {
		t.Fatalf("ListAPIKeys(%s): %v", shopID, err)
	}
	return keys
}

// authenticates reports whether key is stored for shopID with its secret.
func authenticates(t *testing.T, s APIKeyStore, shopID, key string) bool {
	t.Helper()
	keyID, secret, err := shop.SplitKey(key)
	if err != nil {
		t.Fatalf("SplitKey(%q): %v", key, err)
	}
	owner, hash, err := s.APIKey(context.Background(), keyID)
	if errors.Is(err, shop.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("APIKey(%s): %v", keyID, err)
	}
	return owner == shopID && shop.VerifySecret(secret, hash)
}

func testFirstKeyListed(t *testing.T, s APIKeyStore) {
	sh := shop.Shop{ID: shop.NewID(), Name: "Keys", Currency: "EUR", Timezone: "UTC", Shards: 4, CreatedAt: T0}
	cred := shop.NewCredentials()
	if err := s.CreateShop(context.Background(), sh, cred); err != nil {
		t.Fatal(err)
	}
	keys := mustList(t, s, sh.ID)
	want := shop.KeyInfo{KeyID: cred.KeyID, Label: shop.FirstKeyLabel, CreatedAt: T0}
	if len(keys) != 1 || keys[0].KeyID != want.KeyID || keys[0].Label != want.Label || !keys[0].CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("a new shop's keys: %+v; want [%+v]", keys, want)
	}
}

func testCreateListRevoke(t *testing.T, s APIKeyStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	first := mustList(t, s, sh.ID)[0]

	before := time.Now().Add(-time.Second)
	key, info, err := s.CreateAPIKey(ctx, sh.ID, "shopify app – production")
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(time.Second)
	if keyID, _, err := shop.SplitKey(key); err != nil || keyID != info.KeyID {
		t.Fatalf("CreateAPIKey returned key %q (id %q, %v) for info %+v", key, keyID, err, info)
	}
	if info.Label != "shopify app – production" || info.CreatedAt.Before(before) || info.CreatedAt.After(after) {
		t.Errorf("new key's info %+v: want the label and a creation time between %s and %s", info, before, after)
	}
	if !authenticates(t, s, sh.ID, key) {
		t.Fatal("a new key does not authenticate its shop")
	}
	second, secondInfo, err := s.CreateAPIKey(ctx, sh.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	secondID := secondInfo.KeyID

	// Listed oldest first (then by id), with labels and times, never with
	// secrets.
	keys := mustList(t, s, sh.ID)
	want := []shop.KeyInfo{first, info, secondInfo}
	slices.SortFunc(want, func(a, b shop.KeyInfo) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.KeyID, b.KeyID)
	})
	if got := keyIDs(keys); !slices.Equal(got, keyIDs(want)) {
		t.Fatalf("listed %v; want %v (oldest first)", got, keyIDs(want))
	}
	for i, k := range keys {
		if k.Label != want[i].Label || !k.CreatedAt.Equal(want[i].CreatedAt) {
			t.Errorf("listed %+v; want %+v", k, want[i])
		}
	}
	_, secret, _ := shop.SplitKey(key)
	for _, k := range keys {
		if strings.Contains(k.KeyID+k.Label, secret) {
			t.Errorf("a listed key %+v shows a secret", k)
		}
	}

	// Revoked: gone from authentication and from the list; a second revoke
	// finds nothing.
	if err := s.RevokeAPIKey(ctx, sh.ID, info.KeyID); err != nil {
		t.Fatal(err)
	}
	if authenticates(t, s, sh.ID, key) {
		t.Error("a revoked key still authenticates")
	}
	left := slices.DeleteFunc(keyIDs(want), func(id string) bool { return id == info.KeyID })
	if got := keyIDs(mustList(t, s, sh.ID)); !slices.Equal(got, left) {
		t.Errorf("after revoking %s: listed %v, want %v", info.KeyID, got, left)
	}
	if err := s.RevokeAPIKey(ctx, sh.ID, info.KeyID); !errors.Is(err, shop.ErrNotFound) {
		t.Errorf("revoking a revoked key: %v, want shop.ErrNotFound", err)
	}
	if !authenticates(t, s, sh.ID, second) {
		t.Error("revoking one key revoked another")
	}

	// The last key can go too: the shop then has none until one is created.
	for _, id := range []string{first.KeyID, secondID} {
		if err := s.RevokeAPIKey(ctx, sh.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	if keys := mustList(t, s, sh.ID); len(keys) != 0 {
		t.Errorf("after revoking every key: %+v", keys)
	}
}

func testRevokeOtherShopsKey(t *testing.T, s APIKeyStore) {
	ctx := context.Background()
	mine, theirs := NewShop(t, s, "UTC"), NewShop(t, s, "UTC")
	theirKey, theirInfo, err := s.CreateAPIKey(ctx, theirs.ID, "theirs")
	if err != nil {
		t.Fatal(err)
	}
	mineBefore, theirsBefore := mustList(t, s, mine.ID), mustList(t, s, theirs.ID)

	if err := s.RevokeAPIKey(ctx, mine.ID, theirInfo.KeyID); !errors.Is(err, shop.ErrNotFound) {
		t.Fatalf("revoking another shop's key: %v, want shop.ErrNotFound", err)
	}
	if err := s.RevokeAPIKey(ctx, mine.ID, "nosuchkeynosuchk"); !errors.Is(err, shop.ErrNotFound) {
		t.Errorf("revoking an unknown key id: %v, want shop.ErrNotFound", err)
	}
	// Nothing changed, for either shop.
	if !authenticates(t, s, theirs.ID, theirKey) {
		t.Error("the other shop's key stopped working")
	}
	if got := keyIDs(mustList(t, s, theirs.ID)); !slices.Equal(got, keyIDs(theirsBefore)) {
		t.Errorf("the other shop's keys: %v, want %v", got, keyIDs(theirsBefore))
	}
	if got := keyIDs(mustList(t, s, mine.ID)); !slices.Equal(got, keyIDs(mineBefore)) {
		t.Errorf("my keys: %v, want %v", got, keyIDs(mineBefore))
	}
}

func testAPIKeysUnknownShop(t *testing.T, s APIKeyStore) {
	ctx := context.Background()
	if _, _, err := s.CreateAPIKey(ctx, "shop_nosuch", "x"); !errors.Is(err, shop.ErrNotFound) {
		t.Errorf("CreateAPIKey for an unknown shop: %v, want shop.ErrNotFound", err)
	}
	if _, err := s.ListAPIKeys(ctx, "shop_nosuch"); !errors.Is(err, shop.ErrNotFound) {
		t.Errorf("ListAPIKeys of an unknown shop: %v, want shop.ErrNotFound", err)
	}
	if err := s.RevokeAPIKey(ctx, "shop_nosuch", "nosuchkeynosuchk"); !errors.Is(err, shop.ErrNotFound) {
		t.Errorf("RevokeAPIKey of an unknown shop: %v, want shop.ErrNotFound", err)
	}
	// A shop's key list is not another shop's.
	a, b := NewShop(t, s, "UTC"), NewShop(t, s, "UTC")
	if _, _, err := s.CreateAPIKey(ctx, a.ID, "a"); err != nil {
		t.Fatal(err)
	}
	if keys := mustList(t, s, b.ID); len(keys) != 1 {
		t.Errorf("shop b lists %d keys, want its own 1", len(keys))
	}
}

func testBadLabel(t *testing.T, s APIKeyStore) {
	sh := NewShop(t, s, "UTC")
	for _, label := range []string{strings.Repeat("x", shop.MaxLabel+1), "tab\there", "zero\u200bwidth", "\xff"} {
		if _, _, err := s.CreateAPIKey(context.Background(), sh.ID, label); !errors.Is(err, shop.ErrBadLabel) {
			t.Errorf("label %q: %v, want shop.ErrBadLabel", label, err)
		}
	}
	if keys := mustList(t, s, sh.ID); len(keys) != 1 {
		t.Errorf("refused labels stored keys: %+v", keys)
	}
	if _, _, err := s.CreateAPIKey(context.Background(), sh.ID, strings.Repeat("é", shop.MaxLabel)); err != nil {
		t.Errorf("a label of %d characters: %v", shop.MaxLabel, err)
	}
}
