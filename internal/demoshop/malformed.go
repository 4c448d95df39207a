package demoshop

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/winback/winback/shared/order"
)

// spoilKinds is the number of ways spoil breaks an order.
const spoilKinds = 10

// spoil writes the order as a single-order POST /v1/orders body broken in
// the way kind (1..spoilKinds) says, each a mistake integrations make:
// 1 a negative total, 2 an unknown currency ("EURO"), 3 another currency
// than the shop's, 4 an e-mail address without a domain, 5 an empty
// customer id, 6 created_at without an offset, 7 an unknown status
// ("shipped"), 8 refunded_total above total, 9 an unknown field
// (shipping_total), 10 JSON cut off half-way.
func spoil(o Order, kind int) []byte {
	a := o.api()
	exp, _ := order.Exponent(o.Currency)
	switch kind {
	case 1:
		a.Total = "-" + a.Total
	case 2:
		a.Currency = "EURO"
	case 3:
		a.Currency = "USD"
		if o.Currency == "USD" {
			a.Currency = "EUR"
		}
	case 4:
		a.Customer.Email = strings.SplitAfter(a.Customer.Email, "@")[0]
	case 5:
		a.Customer.ID = ""
	case 6:
		a.CreatedAt = o.CreatedAt.Format(time.DateTime)
	case 7:
		a.Status = "shipped"
	case 8:
		a.RefundedTotal = order.FormatAmount(o.Total+scaleCents(1000, exp), exp)
	}
	var v any = a
	if kind == 9 {
		v = struct {
			apiOrder
			ShippingTotal string `json:"shipping_total"`
		}{a, order.FormatAmount(scaleCents(490, exp), exp)}
	}
	b, _ := json.Marshal(v) // strings, numbers and slices of them always marshal
	if kind == 10 {
		b = b[:len(b)/2]
	}
	return b
}
