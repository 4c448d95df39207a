// Package shop describes a tenant of winback: its settings and the
// credentials it authenticates with (API keys, the Shopify webhook secret).
//
// API keys look like "wbk_<key id>_<secret>". Only the key id and a SHA-256
// hash of the secret are stored; a presented key is checked by recomputing
// the hash and comparing in constant time.
package shop

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"
)

// DefaultShards is how many partitions a shop's customer summaries are spread over.
const DefaultShards = 16

// Errors about shops and their credentials.
var (
	// ErrBadKey means a presented API key is malformed or does not match.
	ErrBadKey = errors.New("invalid API key")
	// ErrNotFound means there is no such shop or API key.
	ErrNotFound = errors.New("not found")
	// ErrExists means a shop (or API key) with that id is already stored.
	ErrExists = errors.New("already exists")
)

// Shop is one tenant's settings.
type Shop struct {
	ID   string
	Name string
	// Currency is the ISO 4217 code all the shop's orders are in.
	Currency string
	// Timezone is the IANA zone that decides which calendar day a purchase falls on.
	Timezone string
	// Shards is how many partitions hold the shop's customer summaries;
	// fixed at creation (changing it means re-keying the summaries).
	Shards int
	// WebhookSecret signs the shop's Shopify webhooks (HMAC-SHA256).
	WebhookSecret string
	// ShopifyDomain is the shop's "<name>.myshopify.com" domain, the one
	// Shopify sends in X-Shopify-Shop-Domain ("" when not connected).
	ShopifyDomain string
	CreatedAt     time.Time
}

// Location is the shop's time zone (UTC if unset or unknown). Zones are
// loaded once per process. Lambda's provided.al2023 has no zone database:
// the functions ship Go's zoneinfo.zip beside their binary and point
// ZONEINFO at it (CheckZones fails their start if it is missing), which
// keeps the 450 KB time/tzdata package out of every binary.
func (s Shop) Location() *time.Location {
	if s.Timezone == "" {
		return time.UTC
	}
	if loc, ok := zones.Load(s.Timezone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return time.UTC
	}
	zones.Store(s.Timezone, loc)
	return loc
}

var zones sync.Map // zone name → *time.Location

// CheckZones reports whether the time zone database can be read, so that
// a function without one fails at start instead of scoring shops in UTC.
func CheckZones() error {
	if _, err := time.LoadLocation("Europe/Berlin"); err != nil {
		return fmt.Errorf("no time zone database (set ZONEINFO to Go's lib/time/zoneinfo.zip, or install tzdata): %w", err)
	}
	return nil
}

// Shard is the partition number, in [0, Shards), that holds a customer's summary.
func (s Shop) Shard(customerID string) int {
	n := s.Shards
	if n <= 0 {
		n = DefaultShards
	}
	h := fnv.New32a()
	h.Write([]byte(customerID))
	return int(h.Sum32() % uint32(n))
}

// Credentials are a new shop's secrets, shown once at creation.
type Credentials struct {
	APIKey        string
	KeyID         string
	KeyHash       string // hex SHA-256 of the key's secret part, what is stored
	WebhookSecret string
}

var lowerBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // documented never to fail (Go 1.24+)
	return strings.ToLower(lowerBase32.EncodeToString(b))
}

// NewID returns a fresh shop id such as "shop_k3j5x7q2m9ab".
func NewID() string { return "shop_" + randomToken(8)[:12] }

// NewCredentials generates an API key and a webhook secret.
func NewCredentials() Credentials {
	keyID := randomToken(10)[:16]
	secret := randomToken(32)
	return Credentials{
		APIKey:        "wbk_" + keyID + "_" + secret,
		KeyID:         keyID,
		KeyHash:       HashSecret(secret),
		WebhookSecret: randomToken(32),
	}
}

// HashSecret is the stored form of an API key's secret part.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SplitKey parses "wbk_<key id>_<secret>" into its id and secret.
func SplitKey(key string) (keyID, secret string, err error) {
	rest, ok := strings.CutPrefix(key, "wbk_")
	if !ok {
		return "", "", ErrBadKey
	}
	keyID, secret, ok = strings.Cut(rest, "_")
	if !ok || len(keyID) != 16 || len(secret) < 32 || len(secret) > 128 {
		return "", "", ErrBadKey
	}
	return keyID, secret, nil
}

// VerifySecret reports whether secret hashes to storedHash, in constant time.
func VerifySecret(secret, storedHash string) bool {
	got := HashSecret(secret)
	return subtle.ConstantTimeCompare([]byte(got), []byte(storedHash)) == 1
}
