package customer

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/winback/winback/shared/order"
)

// KeyLen is the length of an order key.
const KeyLen = 12

// OrderKey is the fixed-length name of an order inside a summary and in
// storage: the first 72 bits of the SHA-256 of the order id, in base64url
// (12 characters). It keeps a summary's size independent of how long the
// shop's order ids are. Two ids sharing a key (about one chance in 10^8
// for a shop with ten million orders) are refused as a conflict, never
// merged.
func OrderKey(orderID string) string {
	sum := sha256.Sum256([]byte(orderID))
	return base64.RawURLEncoding.EncodeToString(sum[:KeyLen*6/8])
}

// guestPrefix starts the customer ids order.GuestCustomerID gives guests.
const guestPrefix = "email:"

// IsGuest reports whether customerID names a guest checkout (an id derived
// from the e-mail address by order.GuestCustomerID) rather than an account.
func IsGuest(customerID string) bool { return strings.HasPrefix(customerID, guestPrefix) }

// Reattributed reports whether next moves an order from a guest to a
// customer account: the shop linked a guest checkout to an account
// afterwards, as Shopify does when the buyer signs up or is matched by
// e-mail. The order then leaves the guest's summary for the account's.
func Reattributed(prev, next order.Order) bool {
	return prev.Customer.ID != next.Customer.ID && IsGuest(prev.Customer.ID) && !IsGuest(next.Customer.ID)
}
