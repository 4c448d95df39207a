package order

import (
	"strconv"
	"strings"
	"time"
)

// MaxBatch is the most orders one {"orders":[...]} body may carry.
const MaxBatch = 100

// Rules are the shop-specific checks applied while parsing.
type Rules struct {
	// Currency is the shop's currency: orders in another currency are
	// invalid ("" accepts any active ISO 4217 code).
	Currency string
	// Now is the reference for "created_at at most one day in the future";
	// the zero time means time.Now().
	Now time.Time
}

// now returns the reference time of the rules.
func (r Rules) now() time.Time {
	if r.Now.IsZero() {
		return time.Now()
	}
	return r.Now
}

// Batch is a parsed POST /v1/orders body.
type Batch struct {
	// Single is true when the body was one order object rather than
	// {"orders":[...]}; Items then has exactly one element and the pointers of
	// its errors start at the order ("/customer/email").
	Single bool
	// Items are the orders in body order.
	Items []Item
}

// Item is one order of a batch and what was wrong with it.
type Item struct {
	// Order is the validated order when Err is nil. When Err is set it holds
	// whatever was valid (at least the ID, if that was), for reporting only:
	// it must not be stored.
	Order Order
	// Err is a *ValidationError for this order, nil when it is valid.
	Err error
}

// ParseBatch parses and validates a POST /v1/orders body: one order object,
// or {"orders":[...]} with 1 to MaxBatch orders. A body is a batch exactly
// when its top-level object has an "orders" member; "{}" is a single order
// lacking every required field.
//
// The error is ErrMalformed (wrapped with the position) when the body is not
// JSON or its top level is not an object, and a *ValidationError for
// problems of the batch itself (orders not an array, empty, more than
// MaxBatch, unknown members next to "orders"). Problems of one order go in
// its Item.Err, so one bad order does not sink the others; a single order's
// problems too are in Items[0].Err.
//
// The native order schema:
//
//	order_id        required  string of 1..128 characters without control characters
//	                          or surrounding spaces, or a non-negative JSON integer
//	                          (kept as its exact decimal text)
//	customer        required  object:
//	  id            required  like order_id
//	  email         optional  bare address, trimmed and lower-cased, at most 254 bytes
//	  first_name    optional  trimmed, at most 100 characters, no control characters
//	  accepts_marketing optional boolean, default false
//	created_at      required  RFC 3339 with offset, from 1995-01-01 to a day after Rules.Now; stored in UTC
//	updated_at      optional  the sender's version timestamp, same format and limits
//	currency        required  active ISO 4217 code in upper case; the shop's when Rules.Currency is set
//	total           required  decimal as a string ("19.99") or number (19.99), read from its
//	                          exact text; 0..10^12 minor units; no more decimals than the currency has
//	refunded_total  optional  like total, at most total; defaults to total when status is
//	                          "refunded", else to 0
//	status          required  "paid", "pending", "refunded" or "cancelled"; a paid order whose
//	                          refunded_total equals its non-zero total becomes "refunded"
//	line_items      optional  array of at most 250 objects:
//	  title         required  1..255 characters after trimming
//	  sku           optional  at most 128 characters
//	  quantity      required  integer 1..1000000
//	  price         required  unit price, like total
//
// Member names are case-sensitive; unknown and duplicate members are field
// errors, as are values of the wrong JSON type. An optional member that is
// null counts as absent; a required one that is null is missing. Every
// problem of an order is reported, ordered by pointer.
func ParseBatch(body []byte, r Rules) (Batch, error) {
	root, err := parseJSON(body)
	if err != nil {
		return Batch{}, err
	}
	if root.kind != jsonObject {
		return Batch{}, malformed(string(body), root.off, "the top-level value must be an object (one order, or {\"orders\": [...]}), not "+root.kind.String())
	}
	now := r.now()
	orders := root.get("orders")
	if orders == nil {
		var p problems
		o := decodeOrder(&root, r, now, &p)
		return Batch{Single: true, Items: []Item{{Order: o, Err: p.err()}}}, nil
	}

	var p problems
	seen := false
	for i := range root.fields {
		f := &root.fields[i]
		switch {
		case f.name != "orders":
			p.add("unknown field (a batch has only \"orders\")", f.name)
		case seen:
			p.add("duplicate field", f.name)
		default:
			seen = true
		}
	}
	switch {
	case orders.kind != jsonArray:
		p.add("must be an array of orders, not "+orders.kind.String(), "orders")
	case len(orders.elems) == 0:
		p.add("must contain at least one order", "orders")
	case len(orders.elems) > MaxBatch:
		p.add("must contain at most "+strconv.Itoa(MaxBatch)+" orders, not "+strconv.Itoa(len(orders.elems)), "orders")
	}
	if err := p.err(); err != nil {
		return Batch{}, err
	}
	b := Batch{Items: make([]Item, len(orders.elems))}
	for i := range orders.elems {
		p := problems{inBatch: true, order: i}
		b.Items[i].Order = decodeOrder(&orders.elems[i], r, now, &p)
		b.Items[i].Err = p.err()
	}
	return b, nil
}

// The members of a native order, as bits for duplicate detection.
const (
	fOrderID = 1 << iota
	fCustomer
	fCreatedAt
	fUpdatedAt
	fCurrency
	fTotal
	fRefunded
	fStatus
	fLineItems
)

// decodeOrder validates one native order object, recording every problem in
// p (whose pointers start at the order).
func decodeOrder(v *jvalue, r Rules, now time.Time, p *problems) Order {
	o := Order{Source: SourceAPI}
	if v.kind != jsonObject {
		p.add("must be an order object, not " + v.kind.String())
		return o
	}
	var seen, have int // members met, and those with a non-null value
	var total, refunded, items *jvalue
	var status string
	exp, curName := -1, "" // the currency's exponent and code, even when it is not the shop's
	for i := range v.fields {
		f := &v.fields[i]
		bit := 0
		switch f.name {
		case "order_id":
			bit = fOrderID
		case "customer":
			bit = fCustomer
		case "created_at":
			bit = fCreatedAt
		case "updated_at":
			bit = fUpdatedAt
		case "currency":
			bit = fCurrency
		case "total":
			bit = fTotal
		case "refunded_total":
			bit = fRefunded
		case "status":
			bit = fStatus
		case "line_items":
			bit = fLineItems
		default:
			p.add("unknown field", f.name)
			continue
		}
		if seen&bit != 0 {
			p.add("duplicate field", f.name)
			continue
		}
		seen |= bit
		val := &f.value
		if val.kind == jsonNull {
			continue // absent; required members are reported below
		}
		have |= bit
		switch bit {
		case fOrderID:
			id, d := checkID(val)
			if d != "" {
				p.add(d, f.name)
			}
			o.ID = id
		case fCustomer:
			o.Customer = decodeCustomer(val, p)
		case fCreatedAt:
			t, d := checkTime(val, now)
			if d != "" {
				p.add(d, f.name)
			}
			o.CreatedAt = t
		case fUpdatedAt:
			t, d := checkTime(val, now)
			if d != "" {
				p.add(d, f.name)
			}
			o.UpdatedAt = t
		case fCurrency:
			o.Currency, exp = checkCurrency(val, r, p)
			curName = val.text
		case fTotal:
			total = val
		case fRefunded:
			refunded = val
		case fStatus:
			status = checkStatus(val, p)
		case fLineItems:
			items = val
		}
	}
	for _, req := range [...]struct {
		bit  int
		name string
	}{{fOrderID, "order_id"}, {fCustomer, "customer"}, {fCreatedAt, "created_at"}, {fCurrency, "currency"}, {fTotal, "total"}, {fStatus, "status"}} {
		if have&req.bit == 0 {
			p.add("is required", req.name)
		}
	}

	totalOK := false
	if total.present() {
		n, d := checkAmount(total, curName, exp)
		if d != "" {
			p.add(d, "total")
		} else {
			o.Total, totalOK = n, exp >= 0
		}
	}
	if refunded.present() {
		n, d := checkAmount(refunded, curName, exp)
		switch {
		case d != "":
			p.add(d, "refunded_total")
		case totalOK && n > o.Total:
			p.add("must not exceed total ("+FormatAmount(o.Total, exp)+")", "refunded_total")
		default:
			o.Refunded = n
		}
	} else if status == string(StatusRefunded) {
		o.Refunded = o.Total
	}
	o.Status = Status(status)
	if o.Status == StatusPaid && o.Total > 0 && o.Refunded == o.Total {
		o.Status = StatusRefunded
	}
	if items.present() {
		o.LineItems = decodeLineItems(items, curName, exp, p)
	}
	return o
}

// decodeCustomer validates the customer object of an order.
func decodeCustomer(v *jvalue, p *problems) Customer {
	var c Customer
	if v.kind != jsonObject {
		p.add("must be an object, not "+v.kind.String(), "customer")
		return c
	}
	var seen int
	hasID := false
	for i := range v.fields {
		f := &v.fields[i]
		bit := 0
		switch f.name {
		case "id":
			bit = 1
		case "email":
			bit = 2
		case "first_name":
			bit = 4
		case "accepts_marketing":
			bit = 8
		default:
			p.add("unknown field", "customer", f.name)
			continue
		}
		if seen&bit != 0 {
			p.add("duplicate field", "customer", f.name)
			continue
		}
		seen |= bit
		val := &f.value
		if val.kind == jsonNull {
			continue
		}
		switch f.name {
		case "id":
			hasID = true
			id, d := checkID(val)
			if d != "" {
				p.add(d, "customer", f.name)
			}
			c.ID = id
		case "email":
			if val.kind != jsonString {
				p.add("must be a string, not "+val.kind.String(), "customer", f.name)
				continue
			}
			if strings.TrimSpace(val.text) == "" {
				continue // an empty e-mail is no e-mail
			}
			e, d := normalizeEmail(val.text)
			if d != "" {
				p.add(d, "customer", f.name)
			}
			c.Email = e
		case "first_name":
			s, d := checkText(val, MaxFirstNameLength)
			if d != "" {
				p.add(d, "customer", f.name)
			}
			c.FirstName = s
		case "accepts_marketing":
			if val.kind != jsonBool {
				p.add("must be true or false, not "+val.kind.String(), "customer", f.name)
				continue
			}
			c.AcceptsMarketing = val.boolean
		}
	}
	if !hasID {
		p.add("is required", "customer", "id")
	}
	return c
}

// checkCurrency validates a currency code against the table and the rules.
// It returns the code ("" when invalid) and its exponent (-1 when unknown;
// known even when the code is not the shop's, so amounts are still checked).
func checkCurrency(v *jvalue, r Rules, p *problems) (string, int) {
	if v.kind != jsonString {
		p.add("must be an ISO 4217 currency code string like \"EUR\", not "+v.kind.String(), "currency")
		return "", -1
	}
	return currencyRule(v.text, r, p)
}

// currencyRule checks code against the table and the rules (see checkCurrency).
func currencyRule(code string, r Rules, p *problems) (string, int) {
	exp, ok := Exponent(code)
	if !ok {
		if _, ok := Exponent(strings.ToUpper(code)); ok {
			p.add("must be in upper case ("+strings.ToUpper(code)+")", "currency")
		} else {
			p.add("unknown currency: must be an active ISO 4217 code like \"EUR\"", "currency")
		}
		return "", -1
	}
	if r.Currency != "" && code != r.Currency {
		p.add("must be the shop's currency "+r.Currency, "currency")
		return "", exp
	}
	return code, exp
}

// checkStatus validates a native status.
func checkStatus(v *jvalue, p *problems) string {
	const want = `must be one of "paid", "pending", "refunded", "cancelled"`
	if v.kind != jsonString {
		p.add(want+", not "+v.kind.String(), "status")
		return ""
	}
	switch s := Status(v.text); s {
	case StatusPaid, StatusPending, StatusRefunded, StatusCancelled:
		return v.text
	}
	p.add(want, "status")
	return ""
}

// decodeLineItems validates the line_items array of an order.
func decodeLineItems(v *jvalue, currency string, exp int, p *problems) []LineItem {
	if v.kind != jsonArray {
		p.add("must be an array of line items, not "+v.kind.String(), "line_items")
		return nil
	}
	if len(v.elems) > MaxLineItems {
		p.add("must have at most "+strconv.Itoa(MaxLineItems)+" line items, not "+strconv.Itoa(len(v.elems)), "line_items")
		return nil
	}
	if len(v.elems) == 0 {
		return nil
	}
	items := make([]LineItem, 0, len(v.elems))
	for i := range v.elems {
		e := &v.elems[i]
		if e.kind != jsonObject {
			p.add("must be a line item object, not "+e.kind.String(), "line_items", strconv.Itoa(i))
			continue
		}
		var li LineItem
		var seen int
		var hasTitle, hasQuantity, hasPrice bool
		for j := range e.fields {
			f := &e.fields[j]
			bit := 0
			switch f.name {
			case "title":
				bit = 1
			case "sku":
				bit = 2
			case "quantity":
				bit = 4
			case "price":
				bit = 8
			default:
				p.add("unknown field", "line_items", strconv.Itoa(i), f.name)
				continue
			}
			if seen&bit != 0 {
				p.add("duplicate field", "line_items", strconv.Itoa(i), f.name)
				continue
			}
			seen |= bit
			val := &f.value
			if val.kind == jsonNull {
				continue
			}
			var d string
			switch f.name {
			case "title":
				hasTitle = true
				li.Title, d = checkText(val, MaxTitleLength)
				if d == "" && li.Title == "" {
					d = "must not be empty"
				}
			case "sku":
				li.SKU, d = checkText(val, MaxSKULength)
			case "quantity":
				hasQuantity = true
				li.Quantity, d = checkQuantity(val)
			case "price":
				hasPrice = true
				li.Price, d = checkAmount(val, currency, exp)
			}
			if d != "" {
				p.add(d, "line_items", strconv.Itoa(i), f.name)
			}
		}
		if !hasTitle {
			p.add("is required", "line_items", strconv.Itoa(i), "title")
		}
		if !hasQuantity {
			p.add("is required", "line_items", strconv.Itoa(i), "quantity")
		}
		if !hasPrice {
			p.add("is required", "line_items", strconv.Itoa(i), "price")
		}
		items = append(items, li)
	}
	return items
}
