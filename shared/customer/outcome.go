package customer

import (
	"errors"
	"fmt"

	"github.com/winback/winback/shared/order"
)

// MaxGroup is the most orders of one customer stored at once: with the
// summary and a webhook id they fit one DynamoDB transaction (100 items,
// 4 MB) even when every order carries 250 long line items.
const MaxGroup = 25

// Errors a store of orders and summaries answers with, whatever its backend.
var (
	// ErrNotFound means the order or customer does not exist.
	ErrNotFound = errors.New("not found")
	// ErrTooLarge is a permanent refusal: storing the order would make the
	// customer's summary (or the order itself) larger than the store's item
	// limit (DynamoDB's 400 KB: about 16,500 orders of one customer).
	// Retrying the same request can never succeed.
	ErrTooLarge = errors.New("customer summary would exceed the storage item limit")
)

// Outcome is what storing one order of a group did: a Change, or Err (an
// ErrConflict) when the order was refused.
type Outcome struct {
	Change Change
	Err    error
}

// CheckGroup checks what every store's PutOrders takes at once: 1 to
// MaxGroup orders of one customer, and a webhook delivery id only with a
// single order.
func CheckGroup(orders []order.Order, webhookID string) error {
	if len(orders) == 0 || len(orders) > MaxGroup {
		return fmt.Errorf("%d orders, want 1 to %d", len(orders), MaxGroup)
	}
	if webhookID != "" && len(orders) != 1 {
		return fmt.Errorf("a webhook delivery of %d orders, want 1", len(orders))
	}
	for _, o := range orders[1:] {
		if o.Customer.ID != orders[0].Customer.ID {
			return fmt.Errorf("orders of customers %s and %s in one group", orders[0].Customer.ID, o.Customer.ID)
		}
	}
	return nil
}
