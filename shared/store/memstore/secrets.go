package memstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"time"

	"github.com/winback/winback/shared/campaign"
)

// Secrets are kept in memory in clear (nothing is at rest); the token
// keys behave as store.Store's (tokenkeys.go there).

// TokenKeys returns the kept unsubscribe-token keys, newest first, making
// the first (version 1) on first use.
func (m *Store) TokenKeys(ctx context.Context) (campaign.TokenKeys, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.tokenKeys) == 0 {
		k, err := newTokenKey(1)
		if err != nil {
			return nil, err
		}
		m.tokenKeys = []campaign.TokenKey{k}
	}
	out := make(campaign.TokenKeys, len(m.tokenKeys))
	for i, k := range m.tokenKeys {
		k.Key = slices.Clone(k.Key)
		out[i] = k
	}
	return out, nil
}

// TokenKeyVersions describes the kept keys, newest first.
func (m *Store) TokenKeyVersions(ctx context.Context) ([]campaign.TokenKeyInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tokenKeyInfos(), nil
}

func (m *Store) tokenKeyInfos() []campaign.TokenKeyInfo {
	out := make([]campaign.TokenKeyInfo, len(m.tokenKeys))
	for i, k := range m.tokenKeys {
		out[i] = campaign.TokenKeyInfo{Version: k.Version, CreatedAt: k.CreatedAt}
	}
	return out
}

// RotateTokenKey makes a new key, one version above the newest.
func (m *Store) RotateTokenKey(ctx context.Context) (campaign.TokenKeyInfo, error) {
	if err := ctx.Err(); err != nil {
		return campaign.TokenKeyInfo{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	next := 1
	if len(m.tokenKeys) > 0 {
		next = m.tokenKeys[0].Version + 1
	}
	k, err := newTokenKey(next)
	if err != nil {
		return campaign.TokenKeyInfo{}, err
	}
	m.tokenKeys = append([]campaign.TokenKey{k}, m.tokenKeys...)
	return campaign.TokenKeyInfo{Version: k.Version, CreatedAt: k.CreatedAt}, nil
}

// RetireTokenKey forgets the key of a version, when campaign.CheckRetire
// allows it.
func (m *Store) RetireTokenKey(ctx context.Context, version int, force bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := campaign.CheckRetire(m.tokenKeyInfos(), version, time.Now(), force); err != nil {
		return err
	}
	m.tokenKeys = slices.DeleteFunc(m.tokenKeys, func(k campaign.TokenKey) bool { return k.Version == version })
	return nil
}

// ResealTokenKey has nothing to seal: the in-memory store never held a
// key in clear at rest.
func (m *Store) ResealTokenKey(ctx context.Context) (bool, error) { return false, ctx.Err() }

func newTokenKey(version int) (campaign.TokenKey, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return campaign.TokenKey{}, fmt.Errorf("token key: %w", err)
	}
	return campaign.TokenKey{Version: version, Key: k, CreatedAt: time.Now().UTC()}, nil
}

// ResealWebhookSecrets has nothing to seal (webhook secrets are kept in
// memory, as shops are): it counts the shops.
func (m *Store) ResealWebhookSecrets(ctx context.Context) (shops, resealed int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.shops), 0, nil
}
