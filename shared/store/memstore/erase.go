package memstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/shop"
)

// EraseCustomer removes a customer's orders, summary, scores and campaign
// trail (contact, recipients, their coupons) and keeps their e-mail
// address suppressed, as store.Store.EraseCustomer does.
func (m *Store) EraseCustomer(ctx context.Context, sh shop.Shop, customerID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sum, ok := m.summaries[sh.ID][customerID]
	if !ok {
		if m.erased[sh.ID+"\x00"+customerID] {
			return nil
		}
		return fmt.Errorf("customer %s: %w", customerID, customer.ErrNotFound)
	}
	m.erased[sh.ID+"\x00"+customerID] = true
	if sum.Email != "" {
		m.suppressLocked(sh.ID, sum.Email, "erasure")
	}
	for key := range sum.Orders {
		delete(m.orders[sh.ID], key)
	}
	delete(m.scores[sh.ID], customerID)
	m.eraseCampaignTrailLocked(sh.ID, customerID)
	delete(m.summaries[sh.ID], customerID)
	return nil
}

// Suppress records that an e-mail address must not be mailed, as
// store.Store.Suppress does (the first reason stays).
func (m *Store) Suppress(ctx context.Context, sh shop.Shop, email, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.suppressLocked(sh.ID, email, reason)
	return nil
}

// AddressKey is the key an address is suppressed under, as
// store.Store.AddressKey gives it: opaque (a hash of the normalised
// address, per shop).
func (m *Store) AddressKey(ctx context.Context, sh shop.Shop, email string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(sh.ID + "\x00" + normalEmail(email)))
	key := "EMAIL#" + hex.EncodeToString(sum[:16])
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addressKeys[key] = normalEmail(email)
	return key, nil
}

// SuppressKey is Suppress for an address known by its AddressKey.
func (m *Store) SuppressKey(ctx context.Context, sh shop.Shop, key, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	email, ok := m.addressKeys[key]
	if !ok {
		return fmt.Errorf("suppress: %q is not an address key", key)
	}
	m.suppressLocked(sh.ID, email, reason)
	return nil
}

// Suppressed reports why an e-mail address must not be mailed ("" if it may).
func (m *Store) Suppressed(ctx context.Context, sh shop.Shop, email string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.suppressed[sh.ID+"\x00"+normalEmail(email)], nil
}

func (m *Store) suppressLocked(shopID, email, reason string) {
	k := shopID + "\x00" + normalEmail(email)
	if _, ok := m.suppressed[k]; !ok {
		m.suppressed[k] = reason
	}
}

func normalEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }
