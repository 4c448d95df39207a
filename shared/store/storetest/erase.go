package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/shop"
)

// EraseStore is the erasure and suppression part of the contract.
type EraseStore interface {
	Store
	EraseCustomer(ctx context.Context, sh shop.Shop, customerID string) error
	Suppress(ctx context.Context, sh shop.Shop, email, reason string) error
	Suppressed(ctx context.Context, sh shop.Shop, email string) (string, error)
}

// RunErase checks erasure (right to be forgotten) and suppression.
func RunErase(t *testing.T, open func(t *testing.T) EraseStore) {
	t.Run("EraseRemovesPersonalDataAndSuppresses", func(t *testing.T) {
		s := open(t)
		ctx := context.Background()
		sh := NewShop(t, s, "UTC")
		other := NewShop(t, s, "UTC")
		for i, id := range []string{"E-1", "E-2", "E-3"} {
			mustPut(t, s, sh, Order(id, "gone", T0.Add(time.Duration(i)*48*time.Hour), 1000), "", customer.Created)
		}
		mustPut(t, s, sh, Order("K-1", "kept", T0, 500), "", customer.Created)
		mustPut(t, s, sh, Order("U-1", "unsub", T0, 500), "", customer.Created)
		if err := s.Suppress(ctx, sh, "unsub@example.com", "unsubscribe"); err != nil {
			t.Fatal(err)
		}
		if err := s.EraseCustomer(ctx, sh, "unsub"); err != nil {
			t.Fatal(err)
		}
		if reason, _ := s.Suppressed(ctx, sh, "unsub@example.com"); reason != "unsubscribe" {
			t.Errorf("erasure replaced the earlier suppression reason: %q", reason)
		}
		mustPut(t, s, other, Order("E-1", "gone", T0, 700), "", customer.Created) // same ids, another shop

		if err := s.EraseCustomer(ctx, sh, "gone"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Customer(ctx, sh, "gone"); !errors.Is(err, customer.ErrNotFound) {
			t.Errorf("summary after erasure: %v", err)
		}
		for _, id := range []string{"E-1", "E-2", "E-3"} {
			if _, err := s.Order(ctx, sh.ID, id); !errors.Is(err, customer.ErrNotFound) {
				t.Errorf("order %s after erasure: %v", id, err)
			}
		}
		if reason, err := s.Suppressed(ctx, sh, " Gone@Example.com "); err != nil || reason == "" {
			t.Errorf("the erased address is not suppressed: %q %v", reason, err)
		}
		if err := s.EraseCustomer(ctx, sh, "gone"); err != nil {
			t.Errorf("erasing again: %v", err)
		}
		// Nothing else moved: the other customer, the other shop.
		if c, err := s.Customer(ctx, sh, "kept"); err != nil || c.PaidOrders != 1 {
			t.Errorf("another customer: %+v %v", c, err)
		}
		if _, err := s.Order(ctx, other.ID, "E-1"); err != nil {
			t.Errorf("another shop's order: %v", err)
		}
		if reason, _ := s.Suppressed(ctx, other, "gone@example.com"); reason != "" {
			t.Errorf("suppression leaked into another shop: %q", reason)
		}
		if err := s.EraseCustomer(ctx, sh, "never-was"); !errors.Is(err, customer.ErrNotFound) {
			t.Errorf("erasing an unknown customer: %v", err)
		}
		// The same order sent again after the erasure starts a new history
		// (its transaction must not be mistaken for the first one's).
		mustPut(t, s, sh, Order("E-1", "gone", T0, 1000), "", customer.Created)
		if c, err := s.Customer(ctx, sh, "gone"); err != nil || c.PaidOrders != 1 {
			t.Errorf("a new history after erasure: %+v %v", c, err)
		}
	})
	t.Run("SuppressKeepsTheFirstReason", func(t *testing.T) {
		s := open(t)
		ctx := context.Background()
		sh := NewShop(t, s, "UTC")
		if reason, err := s.Suppressed(ctx, sh, "a@example.com"); err != nil || reason != "" {
			t.Fatalf("fresh address: %q %v", reason, err)
		}
		for _, r := range []string{"unsubscribe", "bounce"} {
			if err := s.Suppress(ctx, sh, "A@example.com", r); err != nil {
				t.Fatal(err)
			}
		}
		if reason, _ := s.Suppressed(ctx, sh, "a@example.com"); reason != "unsubscribe" {
			t.Errorf("reason %q, want the first one", reason)
		}
	})
}
