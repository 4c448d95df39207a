package httpapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/winback/winback/shared/shop"
)

// Shops looks up shops and their API keys; both answer shop.ErrNotFound
// when there is no such shop or key.
type Shops interface {
	Shop(ctx context.Context, id string) (shop.Shop, error)
	APIKey(ctx context.Context, keyID string) (shopID, secretHash string, err error)
}

// Cache times of Auth: a revoked key or a changed secret takes effect
// within KeyTTL; an unknown shop or key id, or a wrong secret, is
// remembered for MissTTL so that a flood of forged requests does not cost
// a database read each.
const (
	KeyTTL  = time.Minute
	MissTTL = 10 * time.Second
	// maxCached bounds each cache; past it, expired entries are dropped and,
	// if that is not enough, the cache starts over.
	maxCached = 10_000
)

// Auth authenticates API keys and resolves shop ids, remembering answers
// (found or not) in the warm Lambda.
type Auth struct {
	shops Shops
	now   func() time.Time

	mu     sync.Mutex
	byKey  map[[32]byte]entry // sha256 of the whole presented key
	misses map[string]time.Time
	byShop map[string]entry
}

type entry struct {
	shop    shop.Shop
	found   bool
	expires time.Time
}

// NewAuth returns an authenticator over shops.
func NewAuth(shops Shops) *Auth {
	return &Auth{shops: shops, now: time.Now, byKey: map[[32]byte]entry{}, misses: map[string]time.Time{}, byShop: map[string]entry{}}
}

// SetClock replaces the authenticator's clock (tests).
func (a *Auth) SetClock(now func() time.Time) { a.now = now }

// ShopForKey returns the shop an API key belongs to, or shop.ErrBadKey.
func (a *Auth) ShopForKey(ctx context.Context, key string) (shop.Shop, error) {
	digest := sha256.Sum256([]byte(key))
	now := a.now()
	keyID, secret, err := shop.SplitKey(key)
	if err != nil {
		return shop.Shop{}, err
	}
	a.mu.Lock()
	c, hit := a.byKey[digest]
	missUntil, missed := a.misses[keyID]
	a.mu.Unlock()
	switch {
	case hit && now.Before(c.expires) && c.found:
		return c.shop, nil
	case hit && now.Before(c.expires):
		return shop.Shop{}, shop.ErrBadKey
	case missed && now.Before(missUntil):
		return shop.Shop{}, shop.ErrBadKey
	}
	shopID, hash, err := a.shops.APIKey(ctx, keyID)
	if errors.Is(err, shop.ErrNotFound) {
		a.mu.Lock()
		prune(a.misses, now, func(t time.Time) time.Time { return t })
		a.misses[keyID] = now.Add(MissTTL)
		a.mu.Unlock()
		return shop.Shop{}, shop.ErrBadKey
	}
	if err != nil {
		return shop.Shop{}, fmt.Errorf("look up api key: %w", err)
	}
	if !shop.VerifySecret(secret, hash) {
		a.mu.Lock()
		prune(a.byKey, now, func(e entry) time.Time { return e.expires })
		a.byKey[digest] = entry{expires: now.Add(MissTTL)}
		a.mu.Unlock()
		return shop.Shop{}, shop.ErrBadKey
	}
	sh, err := a.Shop(ctx, shopID)
	if errors.Is(err, shop.ErrNotFound) {
		return shop.Shop{}, shop.ErrBadKey
	}
	if err != nil {
		return shop.Shop{}, err
	}
	a.mu.Lock()
	prune(a.byKey, now, func(e entry) time.Time { return e.expires })
	a.byKey[digest] = entry{shop: sh, found: true, expires: now.Add(KeyTTL)}
	a.mu.Unlock()
	return sh, nil
}

// Shop returns a shop by id, or an error wrapping shop.ErrNotFound.
func (a *Auth) Shop(ctx context.Context, id string) (shop.Shop, error) {
	now := a.now()
	a.mu.Lock()
	c, ok := a.byShop[id]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		if !c.found {
			return shop.Shop{}, fmt.Errorf("shop %s: %w", id, shop.ErrNotFound)
		}
		return c.shop, nil
	}
	sh, err := a.shops.Shop(ctx, id)
	found := err == nil
	if err != nil && !errors.Is(err, shop.ErrNotFound) {
		return shop.Shop{}, err
	}
	ttl := KeyTTL
	if !found {
		ttl = MissTTL
	}
	a.mu.Lock()
	prune(a.byShop, now, func(e entry) time.Time { return e.expires })
	a.byShop[id] = entry{shop: sh, found: found, expires: now.Add(ttl)}
	a.mu.Unlock()
	return sh, err
}

// prune keeps a cache under maxCached entries: expired ones go first, and
// if the cache is still full it starts over. The caller holds the lock.
func prune[K comparable, V any](m map[K]V, now time.Time, expires func(V) time.Time) {
	if len(m) < maxCached {
		return
	}
	for k, v := range m {
		if !now.Before(expires(v)) {
			delete(m, k)
		}
	}
	if len(m) >= maxCached {
		clear(m)
	}
}

type shopKey struct{}

// ShopFrom is the authenticated shop of a request that passed RequireKey.
func ShopFrom(ctx context.Context) (shop.Shop, bool) {
	sh, ok := ctx.Value(shopKey{}).(shop.Shop)
	return sh, ok
}

// RequireKey is middleware that authenticates "Authorization: Bearer
// <API key>" and puts the shop in the request context (ShopFrom) and its id
// in the request logger; anything else is answered 401.
func (a *Auth) RequireKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := BearerToken(r)
		if !ok {
			Unauthorized("send your API key as 'Authorization: Bearer <key>'").Write(w)
			return
		}
		sh, err := a.ShopForKey(r.Context(), token)
		if err != nil {
			WriteError(w, r, fmt.Errorf("authenticate: %w", err))
			return
		}
		ctx := context.WithValue(r.Context(), shopKey{}, sh)
		next.ServeHTTP(w, r.WithContext(WithLogAttrs(ctx, "shop_id", sh.ID)))
	})
}
