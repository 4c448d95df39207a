package secrets

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
)

// devKey is the development key-encryption key: its value is this
// source, so what it seals is protected from nobody. It exists so that the
// local tools and the tests (DynamoDB Local, the dev server, make demo)
// store secrets in the same sealed form as a deployment, through the same
// code, without AWS KMS.
var devKey = sha256.Sum256([]byte("winback development sealer: this key is public, never seal a real secret with it"))

// Dev returns the development Sealer, for the local tools and tests only:
// its key is in the source. Values it seals are of KindDev, which a KMS
// sealer refuses to open (and the other way round), so a value sealed
// locally can never pass for a protected one in a deployment.
func Dev() *Envelope { return NewEnvelope(KindDev, devKeys{}) }

// devKeys wraps data keys with AES-256-GCM under devKey: nonce ‖ ciphertext.
type devKeys struct{}

func (devKeys) GenerateDataKey(_ context.Context, ec map[string]string) (plaintext, encrypted []byte, err error) {
	plaintext = make([]byte, dataKeyLen)
	nonce := make([]byte, nonceLen)
	if _, err := rand.Read(plaintext); err != nil {
		return nil, nil, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	gcm, err := newGCM(devKey[:])
	if err != nil {
		return nil, nil, err
	}
	return plaintext, gcm.Seal(nonce, nonce, plaintext, contextBytes(ec)), nil
}

func (devKeys) DecryptDataKey(_ context.Context, encrypted []byte, ec map[string]string) ([]byte, error) {
	if len(encrypted) < nonceLen+tagLen {
		return nil, fmt.Errorf("development data key of %d bytes: %w", len(encrypted), ErrOpen)
	}
	gcm, err := newGCM(devKey[:])
	if err != nil {
		return nil, err
	}
	key, err := gcm.Open(nil, encrypted[:nonceLen], encrypted[nonceLen:], contextBytes(ec))
	if err != nil {
		return nil, fmt.Errorf("development data key: %w", ErrOpen)
	}
	return key, nil
}

// Unavailable returns a Sealer that seals and opens nothing: each call is
// an error matching ErrNoSealer with hint, which says how to give the tool
// a key (e.g. the CLI against AWS without WINBACK_KMS_KEY_ID).
func Unavailable(hint string) Sealer { return unavailable(hint) }

type unavailable string

func (u unavailable) Seal(context.Context, []byte, string, string) ([]byte, error) {
	return nil, fmt.Errorf("%w: %s", ErrNoSealer, string(u))
}

func (u unavailable) Open(context.Context, []byte, string, string) ([]byte, error) {
	return nil, fmt.Errorf("%w: %s", ErrNoSealer, string(u))
}
