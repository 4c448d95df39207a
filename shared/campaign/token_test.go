package campaign

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var testKey = bytes.Repeat([]byte("k"), 32)

func sampleToken() Token {
	return Token{ShopID: "shop-1", CustomerID: "cust-42", CampaignID: "cmp-2025-03", Issued: "2025-03-01"}
}

func TestTokenRoundTrip(t *testing.T) {
	for _, tok := range []Token{
		sampleToken(),
		{ShopID: "s", CustomerID: "c", CampaignID: "k", Issued: "1970-01-01"},
		{ShopID: strings.Repeat("s", 255), CustomerID: "gid://shopify/Customer/1?x=ü", CampaignID: "a/b+c", Issued: "2999-12-31"},
	} {
		s, err := SignToken(testKey, tok)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range s {
			if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", c) {
				t.Fatalf("%q is not URL-safe", s)
			}
		}
		got, err := VerifyToken(testKey, s)
		if err != nil || got != tok {
			t.Errorf("VerifyToken = %+v, %v; want %+v", got, err, tok)
		}
	}
}

func TestTokenDeterministicAndDistinct(t *testing.T) {
	a, _ := SignToken(testKey, sampleToken())
	b, _ := SignToken(testKey, sampleToken())
	if a != b {
		t.Error("the same token signs differently")
	}
	other := sampleToken()
	other.CustomerID = "cust-43"
	c, _ := SignToken(testKey, other)
	if a == c {
		t.Error("two customers share a token")
	}
	if strings.Contains(a, "cust-42") {
		t.Error("the token shows the id in clear")
	}
}

func TestSignTokenRejects(t *testing.T) {
	good := sampleToken()
	cases := []struct {
		name string
		key  []byte
		edit func(*Token)
	}{
		{"short key", testKey[:31], func(*Token) {}},
		{"no key", nil, func(*Token) {}},
		{"no shop", testKey, func(t *Token) { t.ShopID = "" }},
		{"no customer", testKey, func(t *Token) { t.CustomerID = "" }},
		{"no campaign", testKey, func(t *Token) { t.CampaignID = "" }},
		{"long id", testKey, func(t *Token) { t.CustomerID = strings.Repeat("x", 256) }},
		{"bad day", testKey, func(t *Token) { t.Issued = "2025-3-1" }},
		{"before 1970", testKey, func(t *Token) { t.Issued = "1969-12-31" }},
	}
	for _, c := range cases {
		tok := good
		c.edit(&tok)
		if s, err := SignToken(c.key, tok); err == nil || s != "" || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %q, %v", c.name, s, err)
		}
	}
}

func TestVerifyTokenRejects(t *testing.T) {
	s, _ := SignToken(testKey, sampleToken())
	raw, _ := base64.RawURLEncoding.DecodeString(s)
	otherKey := bytes.Repeat([]byte("K"), 32)
	forged, _ := SignToken(otherKey, sampleToken())
	bad := map[string]string{
		"empty":         "",
		"truncated":     s[:len(s)-1],
		"truncated mac": base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1]),
		"extended":      s + "A",
		"padded":        base64.URLEncoding.EncodeToString(raw),
		"std alphabet":  strings.NewReplacer("-", "+", "_", "/").Replace(s) + "+/",
		"other key":     forged,
		"garbage":       "not-a-token",
		"whitespace":    " " + s,
	}
	// Every single-bit flip of the decoded token fails.
	for i := range raw {
		for bit := range 8 {
			b := bytes.Clone(raw)
			b[i] ^= 1 << bit
			bad[fmt.Sprintf("flip byte %d bit %d", i, bit)] = base64.RawURLEncoding.EncodeToString(b)
		}
	}
	for name, tok := range bad {
		if got, err := VerifyToken(testKey, tok); !errors.Is(err, ErrBadToken) || got != (Token{}) {
			t.Errorf("%s: %+v, %v", name, got, err)
		}
	}
	if _, err := VerifyToken(testKey[:16], s); !errors.Is(err, ErrBadToken) {
		t.Errorf("short key verified: %v", err)
	}
	// Every change of the last character that still decodes fails too
	// (base64 strictness: no two strings for one token).
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		alt := s[:len(s)-1] + string(c)
		if alt == s {
			continue
		}
		if _, err := VerifyToken(testKey, alt); err == nil {
			t.Errorf("last character %q accepted", c)
		}
	}
}

// A MAC-valid payload that does not parse (crafted with the key, as only
// the signer could) still fails cleanly.
func TestVerifyTokenMalformedPayload(t *testing.T) {
	for name, p := range map[string][]byte{
		"version 2":      {2, 1, 's', 1, 'c', 1, 'k', 0, 0, 0, 0},
		"zero length id": {1, 0, 1, 'c', 1, 'k', 0, 0, 0, 0},
		"id overruns":    {1, 9, 's', 1, 'c'},
		"short day":      {1, 1, 's', 1, 'c', 1, 'k', 0, 0, 0},
		"trailing bytes": {1, 1, 's', 1, 'c', 1, 'k', 0, 0, 0, 0, 0},
		"only version":   {1},
	} {
		s := base64.RawURLEncoding.EncodeToString(append(bytes.Clone(p), tokenMAC(testKey, p)...))
		if _, err := VerifyToken(testKey, s); !errors.Is(err, ErrBadToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Arbitrary strings never verify and never panic; valid tokens always do.
func FuzzVerifyToken(f *testing.F) {
	good, _ := SignToken(testKey, sampleToken())
	f.Add(good)
	f.Add(good[:len(good)-2])
	f.Add("")
	f.Add("AAAA")
	f.Add(strings.Repeat("A", 2000))
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := VerifyToken(testKey, s)
		if s == good {
			if err != nil {
				t.Fatalf("the genuine token failed: %v", err)
			}
			return
		}
		if err == nil {
			t.Fatalf("%q verified as %+v", s, tok)
		}
		if tok != (Token{}) {
			t.Fatalf("a failed verification returned %+v", tok)
		}
	})
}

// Every valid token signs and verifies back to itself.
func FuzzSignToken(f *testing.F) {
	f.Add("shop", "cust", "cmp", 0)
	f.Add("s", "ü", "a/b", 20000)
	f.Fuzz(func(t *testing.T, shop, cust, cmp string, day int) {
		tok := Token{ShopID: shop, CustomerID: cust, CampaignID: cmp, Issued: "1970-01-01"}
		if day >= 0 && day < 3_000_000 {
			tok.Issued = dayString(day)
		}
		s, err := SignToken(testKey, tok)
		if err != nil {
			return // invalid ids
		}
		got, err := VerifyToken(testKey, s)
		if err != nil || got != tok {
			t.Fatalf("%+v → %q → %+v, %v", tok, s, got, err)
		}
	})
}

func dayString(days int) string {
	return time.Unix(int64(days)*86400, 0).UTC().Format(time.DateOnly)
}

func tokenKey(version int, fill byte, created time.Time) TokenKey {
	return TokenKey{Version: version, Key: bytes.Repeat([]byte{fill}, MinTokenKeyLen), CreatedAt: created}
}

func TestTokenKeysSignWithTheNewestAndVerifyWithAll(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	old := TokenKeys{tokenKey(1, 1, t0)}
	both := TokenKeys{tokenKey(2, 2, t0.Add(time.Hour)), old[0]}
	tok := Token{ShopID: "shop_a", CustomerID: "c1", CampaignID: "2026-11-01", Issued: "2026-11-01"}
	oldLink, err := old.Sign(tok)
	if err != nil {
		t.Fatal(err)
	}
	newLink, err := both.Sign(tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		keys    TokenKeys
		link    string
		version int
		ok      bool
	}{
		{both, oldLink, 1, true},
		{both, newLink, 2, true},
		{old, newLink, 0, false},
		{TokenKeys{both[0]}, oldLink, 0, false},
		{nil, oldLink, 0, false},
	} {
		got, v, err := tc.keys.Verify(tc.link)
		if tc.ok != (err == nil) || v != tc.version || (tc.ok && got != tok) || (!tc.ok && !errors.Is(err, ErrBadToken)) {
			t.Errorf("Verify with %d keys: %+v, key %d, %v", len(tc.keys), got, v, err)
		}
	}
	if _, err := TokenKeys(nil).Sign(tok); err == nil {
		t.Error("signed without a key")
	}
}

// TestTokenKeyring: the keys are read once per TokenKeyTTL, and again at
// once (at most once a second) for a link no kept key verifies, so a link
// signed with a key newer than the kept ones is never refused.
func TestTokenKeyring(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	stored := TokenKeys{tokenKey(1, 1, now)}
	loads := 0
	var failLoad error
	r := &TokenKeyring{
		Load: func(context.Context) (TokenKeys, error) {
			loads++
			return stored, failLoad
		},
		Now: func() time.Time { return now },
	}
	tok := Token{ShopID: "shop_a", CustomerID: "c1", CampaignID: "2026-11-01", Issued: "2026-11-01"}
	link1, err := r.Sign(ctx, tok)
	if err != nil || loads != 1 {
		t.Fatalf("first sign: %v, %d loads", err, loads)
	}
	for range 10 {
		if got, err := r.Verify(ctx, link1); err != nil || got != tok {
			t.Fatalf("verify: %+v, %v", got, err)
		}
	}
	if loads != 1 {
		t.Fatalf("%d loads for a sign and 10 verifications within the TTL, want 1", loads)
	}

	// A rotation elsewhere: key 2 is stored, the keyring still has key 1.
	stored = TokenKeys{tokenKey(2, 2, now), stored[0]}
	link2, _ := stored.Sign(tok)
	if keys, _ := r.Keys(ctx); keys[0].Version != 1 {
		t.Fatal("the keyring read the keys again within the TTL")
	}
	now = now.Add(2 * time.Second)
	if got, err := r.Verify(ctx, link2); err != nil || got != tok || loads != 2 {
		t.Fatalf("a link of a newer key: %+v, %v, %d loads; want it verified after one more load", got, err, loads)
	}
	// A forged link reads the keys again at most once a second.
	for range 5 {
		if _, err := r.Verify(ctx, "AAAA"+link2[4:]); !errors.Is(err, ErrBadToken) {
			t.Fatalf("forged link: %v", err)
		}
	}
	if loads != 2 {
		t.Fatalf("5 forged links within a second: %d loads, want 2", loads)
	}
	now = now.Add(time.Second)
	_, _ = r.Verify(ctx, "AAAA"+link2[4:])
	if loads != 3 {
		t.Fatalf("a forged link a second later: %d loads, want 3", loads)
	}
	// Signing switches to the newest key once the TTL is over.
	if keys, _ := r.Keys(ctx); keys[0].Version != 2 {
		t.Fatalf("signing key %d, want 2", keys[0].Version)
	}
	now = now.Add(TokenKeyTTL)
	failLoad = errors.New("table down")
	if _, err := r.Verify(ctx, link1); err == nil || errors.Is(err, ErrBadToken) {
		t.Fatalf("verify while the keys cannot be read: %v, want the read's error", err)
	}
}

func TestCheckRetire(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	keys := []TokenKeyInfo{{Version: 3, CreatedAt: t0.Add(time.Hour)}, {Version: 0, CreatedAt: t0.Add(-time.Hour)}, {Version: 1, CreatedAt: t0}}
	for _, tc := range []struct {
		version int
		now     time.Time
		force   bool
		want    error
	}{
		{3, t0.Add(48 * time.Hour), true, ErrSigningKey},
		{2, t0.Add(48 * time.Hour), true, ErrNoTokenKey},
		{0, t0.Add(TokenKeyTTL - time.Second), false, ErrKeyInUse}, // replaced by 1 at t0
		{0, t0.Add(TokenKeyTTL), false, nil},
		{1, t0.Add(time.Hour + time.Minute), false, ErrKeyInUse}, // replaced by 3
		{1, t0.Add(time.Hour + time.Minute), true, nil},
		{1, t0.Add(time.Hour + TokenKeyTTL), false, nil},
	} {
		if err := CheckRetire(keys, tc.version, tc.now, tc.force); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("CheckRetire(%d, %v, force %v) = %v, want %v", tc.version, tc.now, tc.force, err, tc.want)
		}
	}
}

// TestTokenKeyringReadsANewKeyAtOnce: a link of a key made just after the
// keyring read its keys is verified without waiting.
func TestTokenKeyringReadsANewKeyAtOnce(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	stored := TokenKeys{tokenKey(1, 1, now)}
	loads := 0
	r := &TokenKeyring{
		Load: func(context.Context) (TokenKeys, error) { loads++; return stored, nil },
		Now:  func() time.Time { return now },
	}
	if _, err := r.Keys(ctx); err != nil {
		t.Fatal(err)
	}
	stored = TokenKeys{tokenKey(2, 2, now), stored[0]}
	tok := Token{ShopID: "shop_a", CustomerID: "c1", CampaignID: "2026-11-01", Issued: "2026-11-01"}
	link, _ := stored.Sign(tok)
	if got, err := r.Verify(ctx, link); err != nil || got != tok || loads != 2 {
		t.Fatalf("a link of a key made after the read: %+v, %v, %d loads", got, err, loads)
	}
	if _, err := r.Verify(ctx, "AAAA"+link[4:]); !errors.Is(err, ErrBadToken) || loads != 2 {
		t.Fatalf("a forged link right after: %v, %d loads; want no read", err, loads)
	}
}
