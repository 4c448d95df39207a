package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/winback/winback/shared/shop"
)

// CreateAPIKey makes a new API key for a shop, labelled label, as
// store.Store.CreateAPIKey does: the full key is returned once; a missing
// shop is shop.ErrNotFound, an invalid label shop.ErrBadLabel.
func (m *Store) CreateAPIKey(ctx context.Context, shopID, label string) (string, shop.KeyInfo, error) {
	if err := shop.CheckLabel(label); err != nil {
		return "", shop.KeyInfo{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.shops[shopID]; !ok {
		return "", shop.KeyInfo{}, fmt.Errorf("create api key: shop %s: %w", shopID, shop.ErrNotFound)
	}
	cred := shop.NewCredentials()
	if _, ok := m.keys[cred.KeyID]; ok {
		return "", shop.KeyInfo{}, fmt.Errorf("create api key %s: %w", cred.KeyID, shop.ErrExists)
	}
	info := shop.KeyInfo{KeyID: cred.KeyID, Label: label, CreatedAt: time.Now().UTC()}
	m.keys[cred.KeyID] = apiKey{shopID: shopID, hash: cred.KeyHash}
	if m.keyInfo == nil {
		m.keyInfo = map[string]shop.KeyInfo{}
	}
	m.keyInfo[cred.KeyID] = info
	return cred.APIKey, info, nil
}

// ListAPIKeys lists a shop's API keys, oldest first, without their
// secrets; a missing shop is shop.ErrNotFound. A shop's first key, which
// CreateShop stored, is labelled shop.FirstKeyLabel and dated with the shop.
func (m *Store) ListAPIKeys(ctx context.Context, shopID string) ([]shop.KeyInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sh, ok := m.shops[shopID]
	if !ok {
		return nil, fmt.Errorf("shop %s: %w", shopID, shop.ErrNotFound)
	}
	var keys []shop.KeyInfo
	for id, k := range m.keys {
		if k.shopID != shopID {
			continue
		}
		info, ok := m.keyInfo[id]
		if !ok {
			info = shop.KeyInfo{KeyID: id, Label: shop.FirstKeyLabel, CreatedAt: sh.CreatedAt}
		}
		keys = append(keys, info)
	}
	slices.SortFunc(keys, func(a, b shop.KeyInfo) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		switch {
		case a.KeyID < b.KeyID:
			return -1
		case a.KeyID > b.KeyID:
			return 1
		}
		return 0
	})
	return keys, nil
}

// RevokeAPIKey deletes a shop's API key; a key id that is unknown or
// another shop's is shop.ErrNotFound, and nothing changes.
func (m *Store) RevokeAPIKey(ctx context.Context, shopID, keyID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.keys[keyID]; !ok || k.shopID != shopID {
		return fmt.Errorf("api key %s of shop %s: %w", keyID, shopID, shop.ErrNotFound)
	}
	delete(m.keys, keyID)
	delete(m.keyInfo, keyID)
	return nil
}
