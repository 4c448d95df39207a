// Package customertest generates order streams that exercise the customer
// summary's arithmetic, for tests in memory and against DynamoDB Local.
package customertest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/winback/winback/shared/order"
)

// History is a shuffled stream of order versions for one customer with up
// to maxOrders orders placed within 90 days of start: originals (about a
// third with discount codes), client and Lambda retries (exact
// duplicates), refunds, partial refunds, cancellations, edits of the
// items or the codes, and — through the shuffle — late deliveries of
// older versions. Every version carries an updated_at one hour after the
// previous one.
func History(r *rand.Rand, customerID string, maxOrders int, start time.Time) []order.Order {
	var stream []order.Order
	for i := range 1 + r.IntN(maxOrders) {
		at := start.Add(time.Duration(r.IntN(90*24)) * time.Hour).Add(time.Duration(r.IntN(3600)) * time.Second)
		total := int64(1 + r.IntN(20000))
		o := order.Order{
			ID: fmt.Sprintf("%s-o%d", customerID, i), CreatedAt: at, UpdatedAt: at,
			Currency: "EUR", Total: total, Status: order.StatusPaid, Source: order.SourceAPI,
			Customer: order.Customer{
				ID: customerID, Email: fmt.Sprintf("%s.%d@example.com", customerID, i),
				FirstName: fmt.Sprintf("N%d", i), AcceptsMarketing: r.IntN(2) == 0,
			},
			LineItems: []order.LineItem{{SKU: fmt.Sprintf("SKU-%d", i), Title: fmt.Sprintf("Item %d", i), Quantity: 1, Price: total}},
		}
		if r.IntN(3) == 0 {
			o.DiscountCodes = codes(r, total)
		}
		stream = append(stream, o)
		v := o
		for k := range r.IntN(3) {
			v.UpdatedAt = v.UpdatedAt.Add(time.Hour)
			v.LineItems = append([]order.LineItem(nil), v.LineItems...)
			switch r.IntN(5) {
			case 0:
				v.Status, v.Refunded = order.StatusRefunded, v.Total
			case 1:
				v.Status = order.StatusCancelled
			case 2:
				v.Refunded = v.Total / 3
			case 3:
				v.DiscountCodes = codes(r, v.Total)
			default:
				v.LineItems = append(v.LineItems, order.LineItem{Title: fmt.Sprintf("extra %d", k), Quantity: 2, Price: 150})
			}
			stream = append(stream, v)
		}
		for range r.IntN(3) {
			stream = append(stream, o)
		}
	}
	r.Shuffle(len(stream), func(i, j int) { stream[i], stream[j] = stream[j], stream[i] })
	return stream
}

// codePool are the discount codes histories draw from: a campaign coupon,
// a shop-wide code, and one with punctuation and a space.
var codePool = []string{"WB-7KQ2-M9XD", "SUMMER25", "VIP: 10% OFF"}

// codes draws zero to two distinct discount codes, each with an amount
// below total or none.
func codes(r *rand.Rand, total int64) []order.DiscountCode {
	var out []order.DiscountCode
	for _, i := range r.Perm(len(codePool))[:r.IntN(3)] {
		dc := order.DiscountCode{Code: codePool[i]}
		if r.IntN(2) == 0 {
			dc.Amount = r.Int64N(total)
		}
		out = append(out, dc)
	}
	return out
}

// Linked rewrites a history so that some orders (about half) were guest
// checkouts under guestID, linked to the account one to three hours after
// they were placed: their earlier versions carry guestID, the later ones
// the account's id.
func Linked(stream []order.Order, guestID string) []order.Order {
	out := make([]order.Order, len(stream))
	for i, o := range stream {
		last := int(o.ID[len(o.ID)-1])
		if last%2 == 0 && o.UpdatedAt.Before(o.CreatedAt.Add(time.Duration(1+last%3)*time.Hour)) {
			o.Customer.ID = guestID
		}
		out[i] = o
	}
	return out
}
