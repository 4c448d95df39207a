package customer

import (
	"errors"
	"fmt"

	"github.com/winback/winback/shared/order"
)

// Change says what storing an order did.
type Change string

// The outcomes of storing an order.
const (
	// Created: the order id was new.
	Created Change = "created"
	// Updated: a new version of a known order (refund, cancellation, changed total or items).
	Updated Change = "updated"
	// Unchanged: an identical re-send; nothing was written.
	Unchanged Change = "unchanged"
	// Stale: an older version than the one stored (by updated_at); nothing was written.
	Stale Change = "stale"
	// Duplicate: a webhook delivery already processed; nothing was written.
	Duplicate Change = "duplicate"
)

// ErrConflict means an order id was reused with content that is not a valid
// update of the stored order.
var ErrConflict = errors.New("order conflicts with the stored order")

// Classify decides what storing next means given the stored version prev
// (nil when the order id is new). It returns ErrConflict (wrapped with the
// reason) when next cannot be an update of prev: another customer, another
// creation time or currency, or a refunded or cancelled order coming back
// to life without a newer updated_at.
//
// Two changes of customer are allowed. A guest order linked to an account
// afterwards (Reattributed) is an update that moves the order. A version
// still carrying the guest id that arrives after the move is Stale when it
// is older (by updated_at) than the stored one, and a conflict otherwise:
// a guest version never takes the order back from the account.
func Classify(prev *order.Order, next order.Order) (Change, error) {
	if prev == nil {
		return Created, nil
	}
	if prev.Hash() == next.Hash() {
		return Unchanged, nil
	}
	guestAfterLink := false
	if prev.Customer.ID != next.Customer.ID {
		switch {
		case Reattributed(*prev, next):
		case IsGuest(next.Customer.ID) && !IsGuest(prev.Customer.ID):
			guestAfterLink = true
		default:
			return "", fmt.Errorf("%w: order %s belongs to another customer", ErrConflict, next.ID)
		}
	}
	switch {
	case !prev.CreatedAt.Equal(next.CreatedAt):
		return "", fmt.Errorf("%w: order %s has a different created_at", ErrConflict, next.ID)
	case prev.Currency != next.Currency:
		return "", fmt.Errorf("%w: order %s has a different currency", ErrConflict, next.ID)
	}
	bothVersioned := !prev.UpdatedAt.IsZero() && !next.UpdatedAt.IsZero()
	if bothVersioned && next.UpdatedAt.Before(prev.UpdatedAt) {
		return Stale, nil
	}
	if guestAfterLink {
		return "", fmt.Errorf("%w: order %s was linked to a customer account and cannot return to a guest", ErrConflict, next.ID)
	}
	if final(prev.Status) && !final(next.Status) && !(bothVersioned && next.UpdatedAt.After(prev.UpdatedAt)) {
		return "", fmt.Errorf("%w: order %s is %s and cannot become %s", ErrConflict, next.ID, prev.Status, next.Status)
	}
	return Updated, nil
}

// final reports whether an order in status s is closed: refunded or cancelled.
func final(s order.Status) bool {
	return s == order.StatusRefunded || s == order.StatusCancelled
}
