package campaign

import (
	"bytes"
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
