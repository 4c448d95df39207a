package ingest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

// authenticator turns API keys and shop ids into shops, remembering
// answers for ttl so a warm Lambda does not read the key and the shop on
// every request. A revoked key therefore stops working within ttl.
type authenticator struct {
	shops Shops
	ttl   time.Duration
	now   func() time.Time

	mu     sync.Mutex
	byKey  map[[32]byte]cached // sha256 of the whole presented key
	byShop map[string]cached
}

type cached struct {
	shop    shop.Shop
	expires time.Time
}

func newAuthenticator(shops Shops, ttl time.Duration) *authenticator {
	return &authenticator{shops: shops, ttl: ttl, now: time.Now, byKey: map[[32]byte]cached{}, byShop: map[string]cached{}}
}

// shopForKey returns the shop an API key belongs to, or shop.ErrBadKey.
func (a *authenticator) shopForKey(ctx context.Context, key string) (shop.Shop, error) {
	digest := sha256.Sum256([]byte(key))
	a.mu.Lock()
	c, ok := a.byKey[digest]
	a.mu.Unlock()
	if ok && a.now().Before(c.expires) {
		return c.shop, nil
	}
	keyID, secret, err := shop.SplitKey(key)
	if err != nil {
		return shop.Shop{}, err
	}
	shopID, hash, err := a.shops.APIKey(ctx, keyID)
	if errors.Is(err, store.ErrNotFound) {
		return shop.Shop{}, shop.ErrBadKey
	}
	if err != nil {
		return shop.Shop{}, fmt.Errorf("look up api key: %w", err)
	}
	if !shop.VerifySecret(secret, hash) {
		return shop.Shop{}, shop.ErrBadKey
	}
	sh, err := a.shop(ctx, shopID)
	if errors.Is(err, store.ErrNotFound) {
		return shop.Shop{}, shop.ErrBadKey
	}
	if err != nil {
		return shop.Shop{}, err
	}
	a.mu.Lock()
	a.byKey[digest] = cached{shop: sh, expires: a.now().Add(a.ttl)}
	a.mu.Unlock()
	return sh, nil
}

// shop returns a shop by id (store.ErrNotFound if there is none).
func (a *authenticator) shop(ctx context.Context, id string) (shop.Shop, error) {
	a.mu.Lock()
	c, ok := a.byShop[id]
	a.mu.Unlock()
	if ok && a.now().Before(c.expires) {
		return c.shop, nil
	}
	sh, err := a.shops.Shop(ctx, id)
	if err != nil {
		return shop.Shop{}, err
	}
	a.mu.Lock()
	a.byShop[id] = cached{shop: sh, expires: a.now().Add(a.ttl)}
	a.mu.Unlock()
	return sh, nil
}
