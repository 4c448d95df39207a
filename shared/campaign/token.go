package campaign

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrBadToken means an unsubscribe token is malformed, altered, forged or
// signed with another key. Its message says nothing more, on purpose.
var ErrBadToken = errors.New("invalid unsubscribe token")

// MinTokenKeyLen is the shortest signing key accepted, in bytes.
const MinTokenKeyLen = 32

// maxTokenField bounds each id in a token, in bytes.
const maxTokenField = 255

// tokenVersion is the first byte of every token's payload.
const tokenVersion = 1

// tokenDomain separates unsubscribe MACs from any other use of the key.
const tokenDomain = "winback unsubscribe token v1\x00"

// Token is what an unsubscribe link carries: whose address, for which
// shop, from which campaign, issued which day (YYYY-MM-DD).
type Token struct {
	ShopID     string
	CustomerID string
	CampaignID string
	Issued     string
}

// validate checks the fields SignToken accepts.
func (t Token) validate() error {
	for _, f := range []struct{ name, v string }{{"shop id", t.ShopID}, {"customer id", t.CustomerID}, {"campaign id", t.CampaignID}} {
		if f.v == "" || len(f.v) > maxTokenField {
			return fmt.Errorf("%w: token %s must be 1 to %d bytes", ErrInvalid, f.name, maxTokenField)
		}
	}
	if d, err := time.Parse(time.DateOnly, t.Issued); err != nil || d.Unix() < 0 {
		return fmt.Errorf("%w: token issued day %q, want YYYY-MM-DD from 1970-01-01", ErrInvalid, t.Issued)
	}
	return nil
}

// SignToken encodes t as an opaque, URL-safe token: unpadded base64url of
// payload ‖ HMAC-SHA256(key, domain ‖ payload), where the payload is a
// version byte (1) then the shop, customer and campaign ids, each as a
// one-byte length and its bytes, then the issued day as a big-endian
// uint32 count of days since 1970-01-01. The token is signed, not
// encrypted: it carries ids, never an e-mail address. key must be at
// least MinTokenKeyLen bytes; each id 1 to 255 bytes.
func SignToken(key []byte, t Token) (string, error) {
	if len(key) < MinTokenKeyLen {
		return "", fmt.Errorf("%w: token key of %d bytes, want at least %d", ErrInvalid, len(key), MinTokenKeyLen)
	}
	if err := t.validate(); err != nil {
		return "", err
	}
	day, _ := time.Parse(time.DateOnly, t.Issued)
	p := []byte{tokenVersion}
	for _, f := range []string{t.ShopID, t.CustomerID, t.CampaignID} {
		p = append(p, byte(len(f)))
		p = append(p, f...)
	}
	p = binary.BigEndian.AppendUint32(p, uint32(day.Unix()/86400))
	p = append(p, tokenMAC(key, p)...)
	return base64.RawURLEncoding.EncodeToString(p), nil
}

// VerifyToken checks a token's signature in constant time and decodes it.
// Any malformed, truncated, extended, altered or foreign token gives
// ErrBadToken (and so does a key shorter than MinTokenKeyLen).
func VerifyToken(key []byte, s string) (Token, error) {
	if len(key) < MinTokenKeyLen || len(s) > 4*(1+3*(1+maxTokenField)+4+sha256.Size) {
		return Token{}, ErrBadToken
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) < 1+3+4+sha256.Size {
		return Token{}, ErrBadToken
	}
	p, mac := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if !hmac.Equal(mac, tokenMAC(key, p)) {
		return Token{}, ErrBadToken
	}
	if p[0] != tokenVersion {
		return Token{}, ErrBadToken
	}
	rest := p[1:]
	var ids [3]string
	for i := range ids {
		if len(rest) < 1 || int(rest[0]) == 0 || len(rest) < 1+int(rest[0]) {
			return Token{}, ErrBadToken
		}
		n := int(rest[0])
		ids[i], rest = string(rest[1:1+n]), rest[1+n:]
	}
	if len(rest) != 4 {
		return Token{}, ErrBadToken
	}
	day := time.Unix(int64(binary.BigEndian.Uint32(rest))*86400, 0).UTC()
	return Token{ShopID: ids[0], CustomerID: ids[1], CampaignID: ids[2], Issued: day.Format(time.DateOnly)}, nil
}

func tokenMAC(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tokenDomain))
	m.Write(payload)
	return m.Sum(nil)
}

// TokenKeyTTL is how long the functions keep the token keys they read: a
// key made by a rotation signs new links within it, and a retired key
// stops verifying within it. An unsubscribe link that no kept key
// verifies makes the keys be read again at once (for such links, at most
// once a second), so a link signed with a key newer than the ones kept is
// not refused.
const TokenKeyTTL = 5 * time.Minute

// tokenKeyRefresh is the shortest time between two reads of the keys
// caused by links that no kept key verifies (forged or retired links): a
// flood of forged links costs a warm function one read a second.
const tokenKeyRefresh = time.Second

// TokenKey is one version of the deployment's unsubscribe-token key.
type TokenKey struct {
	// Version numbers the keys in the order they were made (0 is a key
	// stored before keys had versions).
	Version   int
	Key       []byte
	CreatedAt time.Time
}

// TokenKeys are the keys kept, newest first: the newest signs new tokens,
// and every one verifies, so that the links of e-mails sent before a
// rotation keep working (tokens do not expire).
type TokenKeys []TokenKey

// Sign signs t with the newest key.
func (ks TokenKeys) Sign(t Token) (string, error) {
	if len(ks) == 0 {
		return "", fmt.Errorf("%w: no token key", ErrInvalid)
	}
	return SignToken(ks[0].Key, t)
}

// Verify checks s against every key and returns the token and the
// version of the key that signed it; a token that no key verifies is
// ErrBadToken.
func (ks TokenKeys) Verify(s string) (Token, int, error) {
	for _, k := range ks {
		if t, err := VerifyToken(k.Key, s); err == nil {
			return t, k.Version, nil
		}
	}
	return Token{}, 0, ErrBadToken
}

// TokenKeyring keeps the token keys a function read for TokenKeyTTL: the
// sender signs with it, the unsubscribe page verifies with it. It is safe
// for concurrent use.
type TokenKeyring struct {
	// Load reads the kept keys, newest first (creating the first one on
	// first use).
	Load func(ctx context.Context) (TokenKeys, error)
	// Now is the clock of the cache (nil: time.Now).
	Now func() time.Time

	mu       sync.Mutex
	keys     TokenKeys
	loadedAt time.Time
	// missedAt is when a link that no kept key verified last made the
	// keys be read.
	missedAt time.Time
}

// Keys returns the kept keys, read again when older than TokenKeyTTL.
func (r *TokenKeyring) Keys(ctx context.Context) (TokenKeys, error) {
	return r.keysSince(ctx, TokenKeyTTL)
}

// Sign signs t with the newest key kept.
func (r *TokenKeyring) Sign(ctx context.Context, t Token) (string, error) {
	ks, err := r.Keys(ctx)
	if err != nil {
		return "", err
	}
	return ks.Sign(t)
}

// Verify checks a token against the kept keys; when none verifies it, the
// keys are read again and tried, unless such a read happened less than a
// second ago. A token that no key verifies is ErrBadToken; failing to read
// the keys is another error.
func (r *TokenKeyring) Verify(ctx context.Context, s string) (Token, error) {
	ks, err := r.Keys(ctx)
	if err != nil {
		return Token{}, err
	}
	t, _, err := ks.Verify(s)
	if err == nil {
		return t, nil
	}
	now := r.now()
	r.mu.Lock()
	recent := !now.Before(r.missedAt) && now.Sub(r.missedAt) < tokenKeyRefresh
	if !recent {
		r.missedAt = now
	}
	r.mu.Unlock()
	if recent {
		return Token{}, ErrBadToken
	}
	fresh, err := r.keysSince(ctx, 0)
	if err != nil {
		return Token{}, err
	}
	t, _, err = fresh.Verify(s)
	return t, err
}

func (r *TokenKeyring) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// keysSince returns the keys kept unless they were read maxAge ago or
// earlier, in which case it reads them again.
func (r *TokenKeyring) keysSince(ctx context.Context, maxAge time.Duration) (TokenKeys, error) {
	t := r.now()
	r.mu.Lock()
	ks, at := r.keys, r.loadedAt
	r.mu.Unlock()
	if ks != nil && !t.Before(at) && t.Sub(at) < maxAge {
		return ks, nil
	}
	ks, err := r.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("token keys: %w", err)
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("token keys: none stored")
	}
	r.mu.Lock()
	r.keys, r.loadedAt = ks, t
	r.mu.Unlock()
	return ks, nil
}

// Errors of retiring a token key.
var (
	// ErrSigningKey means the key to retire is the newest, which signs
	// new links: rotate first.
	ErrSigningKey = errors.New("the newest token key signs new links")
	// ErrKeyInUse means a newer key replaced the key to retire less than
	// TokenKeyTTL ago: warm senders may still sign links with it.
	ErrKeyInUse = errors.New("the token key may still sign new links")
	// ErrNoTokenKey means no kept key has that version.
	ErrNoTokenKey = errors.New("no such token key")
)

// TokenKeyInfo describes a kept token key, without its value.
type TokenKeyInfo struct {
	Version   int
	CreatedAt time.Time
	// InClear is true for a key stored in clear before keys were sealed
	// (winback secrets reseal seals it).
	InClear bool
}

// CheckRetire says whether the key of version v may be retired now, given
// the kept keys (in any order): not the newest, which signs, and not
// before the key that replaced it is TokenKeyTTL old, so that no sender
// still signs with it. force skips the second rule. A version not kept is
// ErrNoTokenKey.
func CheckRetire(keys []TokenKeyInfo, v int, now time.Time, force bool) error {
	found, newest := false, -1
	var next *TokenKeyInfo // the oldest key newer than v
	for i, k := range keys {
		newest = max(newest, k.Version)
		switch {
		case k.Version == v:
			found = true
		case k.Version > v && (next == nil || k.Version < next.Version):
			next = &keys[i]
		}
	}
	switch {
	case !found:
		return fmt.Errorf("token key %d: %w", v, ErrNoTokenKey)
	case v == newest:
		return fmt.Errorf("token key %d: %w (run winback secrets rotate-token-key first)", v, ErrSigningKey)
	case !force && now.Before(next.CreatedAt.Add(TokenKeyTTL)):
		return fmt.Errorf("token key %d: replaced by key %d at %s, senders may sign with it until %s: %w",
			v, next.Version, next.CreatedAt.UTC().Format(time.RFC3339), next.CreatedAt.Add(TokenKeyTTL).UTC().Format(time.RFC3339), ErrKeyInUse)
	}
	return nil
}
