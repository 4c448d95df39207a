package httpapi

import (
	"context"
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

// Cache times of Auth. A key id's stored record (its shop and secret hash)
// and a shop are remembered for KeyTTL, so a revoked key, or a deleted
// shop, may still be accepted by a warm instance for up to KeyTTL after
// the change (plus DynamoDB's eventually consistent read, usually well
// under a second): the revocation window. An unknown key id or shop id is
// remembered for MissTTL, so that a flood of forged requests does not cost
// a database read each; a key created meanwhile with that id (80 random
// bits: never in practice) would wait as long. A wrong secret for a known
// key id costs no read at all: it is checked against the cached hash.
const (
	KeyTTL  = time.Minute
	MissTTL = 10 * time.Second
	// maxCached bounds each cache; past it, expired entries are dropped and,
	// if that is not enough, the cache starts over.
	maxCached = 10_000
)

// Auth authenticates API keys and resolves shop ids, remembering answers
// (found or not) in the warm Lambda, and enforces the request limits
// (Limit) of the routes behind RequireKey.
type Auth struct {
	shops Shops
	now   func() time.Time

	mu     sync.Mutex
	keys   map[string]keyEntry // by key id
	byShop map[string]entry

	limits  Limits
	perShop *limiter // by shop id
	unauth  *limiter // by client address
}

// keyEntry is a key id's stored record, or its absence.
type keyEntry struct {
	shopID, hash string
	found        bool
	expires      time.Time
}

type entry struct {
	shop    shop.Shop
	found   bool
	expires time.Time
}

// NewAuth returns an authenticator over shops, without request limits.
func NewAuth(shops Shops) *Auth {
	return &Auth{shops: shops, now: time.Now, keys: map[string]keyEntry{}, byShop: map[string]entry{}}
}

// Limit makes RequireKey enforce l and returns a. Call it before serving.
func (a *Auth) Limit(l Limits) *Auth {
	a.limits = l
	a.perShop = newLimiter(l.ShopRate, l.ShopBurst)
	a.unauth = newLimiter(l.UnauthRate, l.UnauthBurst)
	return a
}

// SetClock replaces the authenticator's clock (tests).
func (a *Auth) SetClock(now func() time.Time) { a.now = now }

// ShopForKey returns the shop an API key belongs to, or shop.ErrBadKey.
func (a *Auth) ShopForKey(ctx context.Context, key string) (shop.Shop, error) {
	keyID, secret, err := shop.SplitKey(key)
	if err != nil {
		return shop.Shop{}, err
	}
	now := a.now()
	k, ok := a.cachedKey(keyID, now)
	if !ok {
		if k, err = a.lookupKey(ctx, keyID, now); err != nil {
			return shop.Shop{}, err
		}
	}
	return a.shopOf(ctx, k, secret)
}

// cachedKey is the remembered record of a key id, if it has not expired.
func (a *Auth) cachedKey(keyID string, now time.Time) (keyEntry, bool) {
	a.mu.Lock()
	k, ok := a.keys[keyID]
	a.mu.Unlock()
	return k, ok && now.Before(k.expires)
}

// lookupKey reads a key id's record from the store and remembers it (or
// its absence).
func (a *Auth) lookupKey(ctx context.Context, keyID string, now time.Time) (keyEntry, error) {
	shopID, hash, err := a.shops.APIKey(ctx, keyID)
	k := keyEntry{shopID: shopID, hash: hash, found: true, expires: now.Add(KeyTTL)}
	switch {
	case errors.Is(err, shop.ErrNotFound):
		k = keyEntry{expires: now.Add(MissTTL)}
	case err != nil:
		return keyEntry{}, fmt.Errorf("look up api key: %w", err)
	}
	a.mu.Lock()
	prune(a.keys, now, func(e keyEntry) time.Time { return e.expires })
	a.keys[keyID] = k
	a.mu.Unlock()
	return k, nil
}

// shopOf checks secret against a key's record and returns the key's shop;
// shop.ErrBadKey if the key is unknown, the secret wrong or the shop gone.
func (a *Auth) shopOf(ctx context.Context, k keyEntry, secret string) (shop.Shop, error) {
	if !k.found || !shop.VerifySecret(secret, k.hash) {
		return shop.Shop{}, shop.ErrBadKey
	}
	sh, err := a.Shop(ctx, k.shopID)
	if errors.Is(err, shop.ErrNotFound) {
		return shop.Shop{}, shop.ErrBadKey
	}
	return sh, err
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
//
// With limits (Limit), a shop over its rate is answered 429 with
// Retry-After, and so is a client address over its rate of requests
// without a valid key: such a request is refused before the store is read,
// and each one refused 401 spends the address's allowance. A key this
// instance verified within KeyTTL is checked against the cached hash and
// never waits for its address's allowance.
func (a *Auth) RequireKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		now := a.now()
		client := clientAddress(r)
		token, ok := BearerToken(r)
		if !ok {
			a.refuse(w, client, now, Unauthorized("send your API key as 'Authorization: Bearer <key>'"))
			return
		}
		keyID, secret, err := shop.SplitKey(token)
		if err != nil {
			a.refuse(w, client, now, ProblemFor(err))
			return
		}
		k, cached := a.cachedKey(keyID, now)
		if !cached {
			if wait := a.unauth.wait(client, now); wait > 0 {
				unauthLimited(wait).Write(w)
				return
			}
			if k, err = a.lookupKey(ctx, keyID, now); err != nil {
				WriteError(w, r, fmt.Errorf("authenticate: %w", err))
				return
			}
		}
		sh, err := a.shopOf(ctx, k, secret)
		if errors.Is(err, shop.ErrBadKey) {
			a.refuse(w, client, now, ProblemFor(err))
			return
		}
		if err != nil {
			WriteError(w, r, fmt.Errorf("authenticate: %w", err))
			return
		}
		if wait, first := a.perShop.take(sh.ID, now); wait > 0 {
			if first {
				Log(ctx).WarnContext(ctx, "shop over its request limit: answering 429 until it slows down",
					"shop_id", sh.ID, "rate", a.limits.ShopRate, "burst", a.limits.ShopBurst)
			}
			TooManyRequests(fmt.Sprintf("this shop sent more than %g requests per second (%d at once); retry after the seconds in Retry-After",
				a.limits.ShopRate, a.limits.ShopBurst), wait).Write(w)
			return
		}
		ctx = context.WithValue(ctx, shopKey{}, sh)
		next.ServeHTTP(w, r.WithContext(WithLogAttrs(ctx, "shop_id", sh.ID)))
	})
}

// refuse answers a request without a valid key: with p, or with a 429 when
// the client address has no allowance left for such requests.
func (a *Auth) refuse(w http.ResponseWriter, client string, now time.Time, p *Problem) {
	if wait, _ := a.unauth.take(client, now); wait > 0 {
		p = unauthLimited(wait)
	}
	p.Write(w)
}

// unauthLimited is the 429 of an address over its rate of requests without
// a valid key.
func unauthLimited(wait time.Duration) *Problem {
	return TooManyRequests("too many requests without a valid API key from your address; "+
		"retry after the seconds in Retry-After with a valid key", wait)
}
