// Package order is winback's order model: the validated, normalised form of
// an order whichever way it arrived (the JSON API or a Shopify webhook), with
// money in integer minor units.
package order

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Status is where an order stands; only paid orders count as purchases.
type Status string

// The order statuses.
const (
	StatusPaid      Status = "paid"
	StatusPending   Status = "pending"
	StatusRefunded  Status = "refunded"
	StatusCancelled Status = "cancelled"
)

// Source names the channel an order arrived through.
type Source string

// The order sources.
const (
	SourceAPI     Source = "api"
	SourceShopify Source = "shopify"
)

// Order is one validated order. Amounts are integer minor units of Currency.
type Order struct {
	ID        string     `json:"order_id"`
	Customer  Customer   `json:"customer"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"` // zero when the sender gave none
	Currency  string     `json:"currency"`
	Total     int64      `json:"total"`
	Refunded  int64      `json:"refunded"` // 0 <= Refunded <= Total
	Status    Status     `json:"status"`
	LineItems []LineItem `json:"line_items"`
	Source    Source     `json:"source"`
	// DiscountCodes are the codes redeemed on the order, upper case, each
	// once, in the order first given; nil when none.
	DiscountCodes []DiscountCode `json:"discount_codes,omitempty"`
}

// DiscountCode is one discount code redeemed on an order and the amount
// it took off, in minor units (0 when the sender did not say).
type DiscountCode struct {
	Code   string `json:"code"`
	Amount int64  `json:"amount,omitempty"`
}

// Customer is who placed an order, as the order describes them.
type Customer struct {
	ID               string `json:"id"`
	Email            string `json:"email,omitempty"`
	FirstName        string `json:"first_name,omitempty"`
	AcceptsMarketing bool   `json:"accepts_marketing"`
}

// LineItem is one product line of an order; Price is per unit, in minor units.
type LineItem struct {
	SKU      string `json:"sku,omitempty"`
	Title    string `json:"title"`
	Quantity int64  `json:"quantity"`
	Price    int64  `json:"price"`
}

// Counted reports whether the order counts as a purchase (it is paid, possibly partly refunded).
func (o Order) Counted() bool { return o.Status == StatusPaid }

// Net is what the order contributes to the customer's spend: total less
// refunds for a counted order, zero otherwise.
func (o Order) Net() int64 {
	if !o.Counted() {
		return 0
	}
	return o.Total - o.Refunded
}

// Discount is the sum of the amounts of the order's discount codes.
func (o Order) Discount() int64 {
	var sum int64
	for _, d := range o.DiscountCodes {
		sum += d.Amount
	}
	return sum
}

// Codes lists the order's discount codes (nil when none).
func (o Order) Codes() []string {
	if len(o.DiscountCodes) == 0 {
		return nil
	}
	codes := make([]string, len(o.DiscountCodes))
	for i, d := range o.DiscountCodes {
		codes[i] = d.Code
	}
	return codes
}

// Hash identifies the order's content: equal hashes mean an identical
// re-send. UpdatedAt and Source are left out, so a re-delivery that only
// bumps the sender's timestamp is still recognised as the same order;
// discount codes are in (an order without any hashes as it did before
// they existed), so a re-send with other codes is an update.
func (o Order) Hash() string {
	c := o
	c.UpdatedAt = time.Time{}
	c.Source = ""
	c.CreatedAt = c.CreatedAt.UTC()
	b, _ := json.Marshal(c) // a struct of strings, ints, bools and times always marshals
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
