package campaign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
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
