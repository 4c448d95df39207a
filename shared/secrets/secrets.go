// Package secrets seals the few secrets winback keeps in its table (a
// shop's Shopify webhook secret, the unsubscribe-token keys) with envelope
// encryption: every sealed value has its own 256-bit data key, which
// encrypts it with AES-256-GCM here, and is itself stored encrypted by a
// key-encryption key that never leaves its keeper: the stack's AWS KMS key
// in the functions (package awskms), or a development key whose value is in
// this file for the local tools and tests (Dev).
//
// A sealed value is bound to its purpose and its shop: the data key is
// generated under the encryption context {"purpose": …, "shop": …}, and
// both are authenticated with the ciphertext, so a value copied into
// another shop's item, or used for another purpose, does not open.
//
// The format, version 1, all integers big-endian:
//
//	byte 0       format version (1)
//	byte 1       kind of key-encryption key: 1 AWS KMS, 2 development
//	bytes 2-3    n, the length of the encrypted data key
//	n bytes      the encrypted data key (for KMS, its CiphertextBlob)
//	12 bytes     the AES-GCM nonce
//	the rest     the AES-256-GCM ciphertext and its 16-byte tag
//
// The GCM additional data is the header (bytes 0 to 3+n) followed by the
// encryption context (see contextBytes).
package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Purposes of sealed values: each is part of the encryption context, and
// IAM policies can grant kms:Decrypt for one purpose only
// (kms:EncryptionContext:purpose).
const (
	// PurposeWebhookSecret is a shop's Shopify webhook secret.
	PurposeWebhookSecret = "webhook_secret"
	// PurposeTokenKey is a version of the unsubscribe-token signing key
	// (not bound to a shop).
	PurposeTokenKey = "unsubscribe_token_key"
)

// KeyIDEnv names the environment variable that holds the KMS key (its id,
// ARN or alias) the functions seal and open secrets with.
const KeyIDEnv = "WINBACK_KMS_KEY_ID"

// DataKeyTTL is how long an opened data key is kept in memory: opening a
// value again within it costs no call to the key's keeper (a webhook does
// not cost a KMS request each). It is also how long a warm function can
// still open what it opened before, after the key was disabled or its
// permission revoked.
const DataKeyTTL = 10 * time.Minute

// maxCachedKeys bounds the data-key cache: past it, expired keys are
// dropped and, if that is not enough, the cache starts over.
const maxCachedKeys = 1024

// Errors.
var (
	// ErrOpen means a sealed value cannot be opened: it is malformed,
	// altered, bound to another purpose or shop, or sealed by another kind
	// of key. Its message says which of these it can tell.
	ErrOpen = errors.New("sealed secret cannot be opened")
	// ErrNoSealer means secrets can neither be sealed nor opened here:
	// the tool was given no key to seal with.
	ErrNoSealer = errors.New("no key to seal secrets with")
)

// Sealer seals secrets for storage and opens them again. Sealing the same
// plaintext twice gives different values.
type Sealer interface {
	// Seal encrypts plaintext for purpose and shopID ("" for values of the
	// whole deployment).
	Seal(ctx context.Context, plaintext []byte, purpose, shopID string) ([]byte, error)
	// Open decrypts what Seal returned for the same purpose and shop;
	// anything else is an error matching ErrOpen (or the keeper's own error,
	// e.g. a permission it does not have).
	Open(ctx context.Context, sealed []byte, purpose, shopID string) ([]byte, error)
}

// Kind is the kind of key-encryption key a value is sealed with (byte 1).
type Kind byte

// The kinds.
const (
	KindKMS Kind = 1
	KindDev Kind = 2
)

func (k Kind) String() string {
	switch k {
	case KindKMS:
		return "AWS KMS"
	case KindDev:
		return "the development key"
	}
	return fmt.Sprintf("unknown key kind %d", byte(k))
}

// KindOf is the kind of key a sealed value names, or false when it is not
// a sealed value of a known format version.
func KindOf(sealed []byte) (Kind, bool) {
	if len(sealed) < headerLen || sealed[0] != formatVersion {
		return 0, false
	}
	return Kind(sealed[1]), true
}

// DataKeys makes and decrypts an Envelope's data keys: AWS KMS
// (awskms.DataKeys) or the development key.
type DataKeys interface {
	// GenerateDataKey returns a new 256-bit data key and its encrypted
	// form, bound to the encryption context.
	GenerateDataKey(ctx context.Context, encryptionContext map[string]string) (plaintext, encrypted []byte, err error)
	// DecryptDataKey decrypts an encrypted data key under the same
	// encryption context; a key that is not one, or was bound to another
	// context, is an error matching ErrOpen.
	DecryptDataKey(ctx context.Context, encrypted []byte, encryptionContext map[string]string) ([]byte, error)
}

const (
	formatVersion = 1
	headerLen     = 4
	nonceLen      = 12
	tagLen        = 16
	dataKeyLen    = 32
	// maxEncryptedKey bounds the encrypted data key (KMS blobs are under 200 bytes).
	maxEncryptedKey = 1024
	// MaxPlaintext bounds what is sealed: secrets, not documents.
	MaxPlaintext = 4096
)

// Envelope is the Sealer: one data key per sealed value, encrypted by
// DataKeys. Opened data keys are cached for DataKeyTTL. It is safe for
// concurrent use.
type Envelope struct {
	kind Kind
	keys DataKeys
	now  func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cachedKey
}

type cachedKey struct {
	key     []byte
	expires time.Time
}

var _ Sealer = (*Envelope)(nil)

// NewEnvelope returns a Sealer over keys, which are of the given kind.
func NewEnvelope(kind Kind, keys DataKeys) *Envelope {
	return &Envelope{kind: kind, keys: keys, now: time.Now, cache: map[[32]byte]cachedKey{}}
}

// SetClock replaces the envelope's clock, which expires cached data keys (tests).
func (e *Envelope) SetClock(now func() time.Time) { e.now = now }

// Seal encrypts plaintext under a new data key bound to purpose and shopID.
func (e *Envelope) Seal(ctx context.Context, plaintext []byte, purpose, shopID string) ([]byte, error) {
	if purpose == "" {
		return nil, fmt.Errorf("seal: no purpose")
	}
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("seal %s: %d bytes, at most %d", purpose, len(plaintext), MaxPlaintext)
	}
	ec := EncryptionContext(purpose, shopID)
	key, wrapped, err := e.keys.GenerateDataKey(ctx, ec)
	if err != nil {
		return nil, fmt.Errorf("seal %s: data key: %w", purpose, err)
	}
	if len(key) != dataKeyLen || len(wrapped) == 0 || len(wrapped) > maxEncryptedKey {
		return nil, fmt.Errorf("seal %s: data key of %d bytes, encrypted in %d", purpose, len(key), len(wrapped))
	}
	out := make([]byte, headerLen, headerLen+len(wrapped)+nonceLen+len(plaintext)+tagLen)
	out[0], out[1] = formatVersion, byte(e.kind)
	binary.BigEndian.PutUint16(out[2:], uint16(len(wrapped)))
	out = append(out, wrapped...)
	aad := append(out[:len(out):len(out)], contextBytes(ec)...)
	nonce := make([]byte, nonceLen)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal %s: %w", purpose, err)
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	out = gcm.Seal(out, nonce, plaintext, aad)
	e.remember(cacheKey(ec, wrapped), key)
	return out, nil
}

// Open decrypts a value Seal returned for the same purpose and shop.
func (e *Envelope) Open(ctx context.Context, sealed []byte, purpose, shopID string) ([]byte, error) {
	if len(sealed) < headerLen {
		return nil, fmt.Errorf("open %s: %d bytes: %w", purpose, len(sealed), ErrOpen)
	}
	if sealed[0] != formatVersion {
		return nil, fmt.Errorf("open %s: format version %d: %w", purpose, sealed[0], ErrOpen)
	}
	if k := Kind(sealed[1]); k != e.kind {
		return nil, fmt.Errorf("open %s: sealed with %v, this sealer uses %v: %w", purpose, k, e.kind, ErrOpen)
	}
	n := int(binary.BigEndian.Uint16(sealed[2:]))
	if n == 0 || len(sealed) < headerLen+n+nonceLen+tagLen {
		return nil, fmt.Errorf("open %s: truncated: %w", purpose, ErrOpen)
	}
	wrapped := sealed[headerLen : headerLen+n]
	nonce := sealed[headerLen+n : headerLen+n+nonceLen]
	ct := sealed[headerLen+n+nonceLen:]
	ec := EncryptionContext(purpose, shopID)
	ck := cacheKey(ec, wrapped)
	key, ok := e.cached(ck)
	if !ok {
		var err error
		if key, err = e.keys.DecryptDataKey(ctx, wrapped, ec); err != nil {
			return nil, fmt.Errorf("open %s: data key: %w", purpose, err)
		}
		if len(key) != dataKeyLen {
			return nil, fmt.Errorf("open %s: data key of %d bytes: %w", purpose, len(key), ErrOpen)
		}
		e.remember(ck, key)
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	aad := append(sealed[:headerLen+n:headerLen+n], contextBytes(ec)...)
	plain, err := gcm.Open(nil, nonce, ct, aad)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", purpose, ErrOpen)
	}
	return plain, nil
}

// EncryptionContext is the KMS encryption context of a value:
// {"purpose": purpose, "shop": shopID}, without "shop" when shopID is "".
func EncryptionContext(purpose, shopID string) map[string]string {
	ec := map[string]string{"purpose": purpose}
	if shopID != "" {
		ec["shop"] = shopID
	}
	return ec
}

// contextBytes encodes an encryption context made by EncryptionContext
// unambiguously: each of purpose and shop as a 2-byte length and its bytes.
func contextBytes(ec map[string]string) []byte {
	var b []byte
	for _, k := range []string{"purpose", "shop"} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(ec[k])))
		b = append(b, ec[k]...)
	}
	return b
}

// cacheKey names an opened data key by its encryption context and its
// encrypted form: a value copied to another shop finds no key opened for
// this one.
func cacheKey(ec map[string]string, wrapped []byte) [32]byte {
	h := sha256.New()
	h.Write(contextBytes(ec))
	h.Write(wrapped)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (e *Envelope) cached(k [32]byte) ([]byte, bool) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.cache[k]
	if !ok || !now.Before(c.expires) {
		return nil, false
	}
	return c.key, true
}

func (e *Envelope) remember(k [32]byte, key []byte) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.cache) >= maxCachedKeys {
		for ck, c := range e.cache {
			if !now.Before(c.expires) {
				delete(e.cache, ck)
			}
		}
		if len(e.cache) >= maxCachedKeys {
			clear(e.cache)
		}
	}
	e.cache[k] = cachedKey{key: key, expires: now.Add(DataKeyTTL)}
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	return cipher.NewGCM(block)
}
