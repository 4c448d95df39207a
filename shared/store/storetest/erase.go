package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/shop"
)

// EraseStore is the erasure and suppression part of the contract; an
// erasure reaches into campaigns too.
type EraseStore interface {
	CampaignStore
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

		// The campaign trail: two campaigns recorded "gone" (with coupons),
		// one "kept"; another shop's campaign recorded its own "gone".
		var trail []campaign.Recipient
		for i, day := range []string{"2025-05-10", "2025-06-20"} {
			c := begin(t, s, NewCampaign(sh, day, false))
			at := T0.Add(time.Duration(i) * 2 * Cap)
			trail = append(trail, NewRecipient(sh, c.ID, "gone", fmt.Sprintf("WB-GONE-%04d", i), at))
			addRecipient(t, s, sh, trail[i])
		}
		keptR := NewRecipient(sh, trail[1].CampaignID, "kept", "WB-KEPT-0001", T0)
		addRecipient(t, s, sh, keptR)
		// A dry run gave "gone" the code "kept" holds for real: it
		// reserved nothing, so erasing "gone" leaves "kept"'s coupon.
		dryR := NewRecipient(sh, begin(t, s, NewCampaign(sh, "2025-06-20", true)).ID, "gone", keptR.Coupon, T0)
		addRecipient(t, s, sh, dryR)
		trail = append(trail, dryR)
		oc := begin(t, s, NewCampaign(other, "2025-05-10", false))
		otherR := NewRecipient(other, oc.ID, "gone", "WB-GONE-0000", T0)
		addRecipient(t, s, other, otherR)

		if err := s.EraseCustomer(ctx, sh, "gone"); err != nil {
			t.Fatal(err)
		}
		for _, r := range trail {
			if _, err := s.Recipient(ctx, sh.ID, r.CampaignID, r.SendID); !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("recipient in campaign %s after erasure: %v", r.CampaignID, err)
			}
			if _, _, err := s.CouponOwner(ctx, sh.ID, r.Coupon); r.State != campaign.StateDryRun && !errors.Is(err, campaign.ErrNotFound) {
				t.Errorf("coupon %s after erasure: %v", r.Coupon, err)
			}
		}
		if got := contacts(t, s, sh); len(got) != 1 || !got["kept"].Equal(T0) {
			t.Errorf("contacts after erasure: %v, want only kept's", got)
		}
		if got, err := s.Recipient(ctx, sh.ID, keptR.CampaignID, keptR.SendID); err != nil || !reflect.DeepEqual(got, keptR) {
			t.Errorf("another customer's recipient: %+v, %v", got, err)
		}
		if _, cust, err := s.CouponOwner(ctx, sh.ID, keptR.Coupon); err != nil || cust != "kept" {
			t.Errorf("another customer's coupon: %q, %v", cust, err)
		}
		if _, err := s.Recipient(ctx, other.ID, otherR.CampaignID, otherR.SendID); err != nil {
			t.Errorf("another shop's recipient: %v", err)
		}
		if _, ok := contacts(t, s, other)["gone"]; !ok {
			t.Error("another shop's contact was erased")
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
