package customer

import "errors"

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
