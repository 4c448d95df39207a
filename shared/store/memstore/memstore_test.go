package memstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"

	"github.com/winback/winback/shared/store/memstore"
	"github.com/winback/winback/shared/store/storetest"
)

var _ storetest.Store = (*memstore.Store)(nil)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return memstore.New() })
}

func TestLimitOrders(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	s.LimitOrders(2)
	sh := storetest.NewShop(t, s, "UTC")
	for i, id := range []string{"1", "2"} {
		if outs, _, err := s.PutOrders(ctx, sh, []order.Order{storetest.Order(id, "c", storetest.T0.Add(time.Duration(i)*time.Hour), 1)}, ""); err != nil || outs[0].Change != customer.Created {
			t.Fatalf("order %s: %+v, %v", id, outs, err)
		}
	}
	if _, _, err := s.PutOrders(ctx, sh, []order.Order{storetest.Order("3", "c", storetest.T0, 1)}, "wh"); !errors.Is(err, customer.ErrTooLarge) {
		t.Fatalf("third order: %v, want ErrTooLarge", err)
	}
	if _, err := s.Order(ctx, sh.ID, "3"); !errors.Is(err, customer.ErrNotFound) {
		t.Fatalf("the refused order was stored: %v", err)
	}
	if sum, _ := s.Customer(ctx, sh, "c"); len(sum.Orders) != 2 {
		t.Fatalf("summary of %d orders", len(sum.Orders))
	}
}

var _ storetest.NightlyStore = (*memstore.Store)(nil)

func TestNightlyContract(t *testing.T) {
	storetest.RunNightly(t, func(t *testing.T) storetest.NightlyStore { return memstore.New() })
}
