package demoshop

import (
	"encoding/json"
	"time"

	"github.com/winback/winback/shared/order"
)

// Order is one version of an order as the shop sends it. Amounts are in
// minor units of Currency; json.Marshal writes exactly the POST /v1/orders
// schema (see MarshalJSON), ShopifyPayload the Shopify webhook body.
type Order struct {
	ID       string
	Customer Buyer
	// CreatedAt and UpdatedAt are in the shop's time zone, to the second;
	// UpdatedAt is the version (CreatedAt for the first one).
	CreatedAt time.Time
	UpdatedAt time.Time
	Currency  string
	// Total is what the customer paid: the lines less the discounts.
	Total int64
	// Refunded is what was refunded of it, 0..Total.
	Refunded  int64
	Status    order.Status
	LineItems []order.LineItem
	// DiscountCodes are the codes redeemed, with what each took off the lines.
	DiscountCodes []order.DiscountCode
}

// Buyer is the customer as an order describes them.
type Buyer struct {
	ID               string
	Email            string
	FirstName        string
	AcceptsMarketing bool
	// LastName and Since (when the customer first ordered) appear only in
	// Shopify bodies: the API has no field for them.
	LastName string
	Since    time.Time
}

// Subtotal is the sum of the line items, before discounts.
func (o Order) Subtotal() int64 { return linesTotal(o.LineItems) }

// Discount is what the discount codes took off.
func (o Order) Discount() int64 {
	var sum int64
	for _, d := range o.DiscountCodes {
		sum += d.Amount
	}
	return sum
}

// apiOrder is the POST /v1/orders schema.
type apiOrder struct {
	OrderID       string            `json:"order_id"`
	Customer      apiCustomer       `json:"customer"`
	CreatedAt     string            `json:"created_at"`
	UpdatedAt     string            `json:"updated_at,omitempty"`
	Currency      string            `json:"currency"`
	Total         string            `json:"total"`
	RefundedTotal string            `json:"refunded_total,omitempty"`
	Status        order.Status      `json:"status"`
	LineItems     []apiLineItem     `json:"line_items,omitempty"`
	DiscountCodes []apiDiscountCode `json:"discount_codes,omitempty"`
}

type apiCustomer struct {
	ID               string `json:"id"`
	Email            string `json:"email,omitempty"`
	FirstName        string `json:"first_name,omitempty"`
	AcceptsMarketing bool   `json:"accepts_marketing"`
}

type apiLineItem struct {
	SKU      string `json:"sku,omitempty"`
	Title    string `json:"title"`
	Quantity int64  `json:"quantity"`
	Price    string `json:"price"`
}

type apiDiscountCode struct {
	Code   string `json:"code"`
	Amount string `json:"amount"`
}

// MarshalJSON writes the order in the POST /v1/orders schema: order_id,
// customer {id, email, first_name, accepts_marketing}, created_at and
// updated_at (RFC 3339 with the shop's offset), currency, total and
// refunded_total (decimal strings, refunded_total left out when 0), status,
// line_items [{sku, title, quantity, price}] and discount_codes
// [{code, amount}] (left out when none).
func (o Order) MarshalJSON() ([]byte, error) {
	return json.Marshal(o.api())
}

func (o Order) api() apiOrder {
	exp, _ := order.Exponent(o.Currency)
	a := apiOrder{
		OrderID: o.ID,
		Customer: apiCustomer{
			ID: o.Customer.ID, Email: o.Customer.Email, FirstName: o.Customer.FirstName,
			AcceptsMarketing: o.Customer.AcceptsMarketing,
		},
		CreatedAt: o.CreatedAt.Format(time.RFC3339),
		Currency:  o.Currency,
		Total:     order.FormatAmount(o.Total, exp),
		Status:    o.Status,
	}
	if !o.UpdatedAt.IsZero() {
		a.UpdatedAt = o.UpdatedAt.Format(time.RFC3339)
	}
	if o.Refunded > 0 {
		a.RefundedTotal = order.FormatAmount(o.Refunded, exp)
	}
	for _, l := range o.LineItems {
		a.LineItems = append(a.LineItems, apiLineItem{SKU: l.SKU, Title: l.Title, Quantity: l.Quantity, Price: order.FormatAmount(l.Price, exp)})
	}
	for _, d := range o.DiscountCodes {
		a.DiscountCodes = append(a.DiscountCodes, apiDiscountCode{Code: d.Code, Amount: order.FormatAmount(d.Amount, exp)})
	}
	return a
}

// BatchBody is a POST /v1/orders body with the orders: {"orders":[...]}.
// The API takes at most order.MaxBatch of them.
func BatchBody(orders []Order) ([]byte, error) {
	return json.Marshal(struct {
		Orders []Order `json:"orders"`
	}{orders})
}

// Domain is the order as winback validates and stores it when it arrives
// through source: times in UTC, the API's field set.
func (o Order) Domain(source order.Source) order.Order {
	d := order.Order{
		ID: o.ID,
		Customer: order.Customer{
			ID: o.Customer.ID, Email: o.Customer.Email, FirstName: o.Customer.FirstName,
			AcceptsMarketing: o.Customer.AcceptsMarketing,
		},
		CreatedAt: o.CreatedAt.UTC(),
		Currency:  o.Currency,
		Total:     o.Total,
		Refunded:  o.Refunded,
		Status:    o.Status,
		Source:    source,
	}
	if !o.UpdatedAt.IsZero() {
		d.UpdatedAt = o.UpdatedAt.UTC()
	}
	if len(o.LineItems) > 0 {
		d.LineItems = append([]order.LineItem(nil), o.LineItems...)
	}
	if len(o.DiscountCodes) > 0 {
		d.DiscountCodes = append([]order.DiscountCode(nil), o.DiscountCodes...)
	}
	return d
}
