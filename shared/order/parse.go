package order

import (
	"bytes"
	"slices"
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
// lacking every required field. Within a batch, the first valid order with a
// given order_id decides its customer: a later one with the same order_id and
// another customer is invalid (the same order for the same customer may
// appear again; they apply in sequence).
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
//	order_id        required  string of 1..128 characters without control characters,
//	                          invisible format characters (zero-width, bidi controls, ...)
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
//	                          "refunded", else to 0; must not be 0 when status is "refunded"
//	                          and total is not
//	status          required  "paid", "pending", "refunded" or "cancelled"; a paid order whose
//	                          refunded_total equals its non-zero total becomes "refunded"
//	line_items      optional  array of at most 250 objects:
//	  title         required  1..255 characters after trimming
//	  sku           optional  at most 128 characters, no invisible format characters
//	  quantity      required  integer 1..1000000
//	  price         required  unit price, like total
//	discount_codes  optional  array of at most 20 codes redeemed on the order, each either a
//	                          string (the code) or an object:
//	  code          required  1..64 characters after trimming, all printable (no control or
//	                          invisible characters, no spaces but the ASCII one); upper-cased
//	  amount        optional  what the code took off, like total (default 0)
//	                          A code given twice is listed once, with the amounts added up.
//
// Member names are case-sensitive; unknown and duplicate members are field
// errors, as are values of the wrong JSON type. An optional member that is
// null counts as absent; a required one that is null is missing. Every
// problem of an order is reported, ordered by pointer (the first
// MaxFieldErrors listed, the others counted in ValidationError.More).
// Limits are enforced while reading: nesting deeper than 1000 levels is
// malformed, and an orders or line_items array that is too long is refused
// without reading its elements.
func ParseBatch(body []byte, r Rules) (Batch, error) {
	root, err := parseJSON(body, batchShape)
	if err != nil {
		return Batch{}, err
	}
	if root.kind != jsonObject {
		start := len(body) - len(bytes.TrimLeft(body, " \t\r\n"))
		return Batch{}, malformed(body, start, "the top-level value must be an object (one order, or {\"orders\": [...]}), not "+root.kind.String())
	}
	now := r.now()
	orders := root.get("orders")
	if orders == nil {
		var p problems
		o := decodeOrder(&root, r, now, &p)
		return Batch{Single: true, Items: []Item{{Order: o, Err: p.err()}}}, nil
	}

	var p problems
	for _, name := range slices.Concat(root.others, fieldNames(root.fields)) {
		if name == "orders" {
			p.add("duplicate field", name)
		} else {
			p.add("unknown field (a batch has only \"orders\")", name)
		}
	}
	switch {
	case orders.kind != jsonArray:
		p.add("must be an array of orders, not "+orders.kind.String(), "orders")
	case orders.count == 0:
		p.add("must contain at least one order", "orders")
	case orders.count > MaxBatch:
		p.add("must contain at most "+strconv.Itoa(MaxBatch)+" orders, not "+strconv.Itoa(orders.count), "orders")
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
	rejectReassigned(b.Items)
	return b, nil
}

// rejectReassigned makes every valid order invalid whose order_id an earlier
// valid order of the batch has with another customer: the first one wins.
func rejectReassigned(items []Item) {
	first := make(map[string]int, len(items)) // order id -> index of its first valid order
	for i := range items {
		it := &items[i]
		if it.Err != nil {
			continue
		}
		j, seen := first[it.Order.ID]
		switch {
		case !seen:
			first[it.Order.ID] = i
		case items[j].Order.Customer.ID != it.Order.Customer.ID:
			p := problems{inBatch: true, order: i}
			p.add("order_id "+strconv.Quote(it.Order.ID)+" already appears at /orders/"+strconv.Itoa(j)+" for another customer", "order_id")
			it.Err = p.err()
		}
	}
}

// fieldNames returns the names of fields other than "orders".
func fieldNames(fields []jfield) []string {
	var names []string
	for _, f := range fields {
		if f.name != "orders" {
			names = append(names, f.name)
		}
	}
	return names
}

// A field is one member of an object of the native schema, checked into a T.
type field[T any] struct {
	name     string
	required bool
	// keep is what the parser keeps of the value; nil for a scalar.
	keep *shape
	// check reads the non-null value v into dst and returns what is wrong
	// with it ("" when nothing is). Members holding objects record their own
	// problems in p; at are the pointer tokens of the object holding v.
	check func(dst *T, v *jvalue, p *problems, at []string) string
}

// decodeObject checks the object v against its fields into dst: unknown and
// repeated members, missing required ones, then each member's check in the
// order of fields, so that a check may rely on those listed before it. at
// are the pointer tokens of v.
func decodeObject[T any](fields []field[T], v *jvalue, dst *T, p *problems, at ...string) {
	index := func(name string) int {
		return slices.IndexFunc(fields, func(fd field[T]) bool { return fd.name == name })
	}
	for _, name := range v.others {
		if index(name) < 0 {
			p.add("unknown field", under(at, name)...)
		} else {
			p.add("duplicate field", under(at, name)...)
		}
	}
	var slots [16]*jvalue // by index in fields
	for i := range v.fields {
		if j := index(v.fields[i].name); j >= 0 { // always: the shape comes from fields
			slots[j] = &v.fields[i].value
		}
	}
	for j, fd := range fields {
		switch v := slots[j]; {
		case !v.present():
			if fd.required {
				p.add("is required", under(at, fd.name)...)
			}
		default:
			if d := fd.check(dst, v, p, at); d != "" {
				p.add(d, under(at, fd.name)...)
			}
		}
	}
}

// under returns the pointer tokens at followed by name, in a new slice.
func under(at []string, name string) []string {
	return append(at[:len(at):len(at)], name)
}

// shapeOf is what the parser must keep of an object with these fields.
func shapeOf[T any](fields []field[T]) *shape {
	s := &shape{members: make(map[string]*shape, len(fields)+1)}
	for _, f := range fields {
		s.members[f.name] = f.keep
	}
	return s
}

// The shapes of a body: an order (or a batch, which is an object with
// "orders"), its customer and its line items.
var (
	orderShape = shapeOf(orderFields)
	batchShape = func() *shape {
		s := shapeOf(orderFields)
		s.members["orders"] = &shape{elem: orderShape, max: MaxBatch}
		return s
	}()
)

// draft is an order being checked, with what its later fields need to know.
type draft struct {
	Order
	rules Rules
	now   time.Time
	// exp is the exponent of the currency, -1 when unknown (known even when
	// the code is not the shop's, so amounts are still checked); currency
	// is the code as sent, for messages.
	exp      int
	currency string
	// totalOK is set when Total is valid in a known currency.
	totalOK bool
	// refundGiven is set when refunded_total was sent.
	refundGiven bool
}

// orderFields are the members of a native order, in the order they are
// checked: currency and status before the amounts that depend on them.
var orderFields = []field[draft]{
	{name: "order_id", required: true, check: func(d *draft, v *jvalue, _ *problems, _ []string) (s string) {
		d.ID, s = checkID(v)
		return s
	}},
	{name: "customer", required: true, keep: shapeOf(customerFields), check: func(d *draft, v *jvalue, p *problems, at []string) string {
		if v.kind != jsonObject {
			return "must be an object, not " + v.kind.String()
		}
		decodeObject(customerFields, v, &d.Customer, p, under(at, "customer")...)
		return ""
	}},
	{name: "created_at", required: true, check: func(d *draft, v *jvalue, _ *problems, _ []string) (s string) {
		d.CreatedAt, s = checkTime(v, d.now)
		return s
	}},
	{name: "updated_at", check: func(d *draft, v *jvalue, _ *problems, _ []string) (s string) {
		d.UpdatedAt, s = checkTime(v, d.now)
		return s
	}},
	{name: "currency", required: true, check: func(d *draft, v *jvalue, _ *problems, _ []string) (s string) {
		d.currency = v.text
		if v.kind != jsonString {
			return "must be an ISO 4217 currency code string like \"EUR\", not " + v.kind.String()
		}
		d.Currency, d.exp, s = currencyRule(v.text, d.rules)
		return s
	}},
	{name: "status", required: true, check: func(d *draft, v *jvalue, _ *problems, _ []string) string {
		const want = `must be one of "paid", "pending", "refunded", "cancelled"`
		if v.kind != jsonString {
			return want + ", not " + v.kind.String()
		}
		switch s := Status(v.text); s {
		case StatusPaid, StatusPending, StatusRefunded, StatusCancelled:
			d.Status = s
			return ""
		}
		return want
	}},
	{name: "total", required: true, check: func(d *draft, v *jvalue, _ *problems, _ []string) string {
		n, s := checkAmount(v, d.currency, d.exp)
		if s == "" {
			d.Total, d.totalOK = n, d.exp >= 0
		}
		return s
	}},
	{name: "refunded_total", check: func(d *draft, v *jvalue, _ *problems, _ []string) string {
		d.refundGiven = true
		n, s := checkAmount(v, d.currency, d.exp)
		switch {
		case s != "":
			return s
		case d.totalOK && n > d.Total:
			return "must not exceed total (" + FormatAmount(d.Total, d.exp) + ")"
		case d.totalOK && n == 0 && d.Total > 0 && d.Status == StatusRefunded:
			return `must not be 0 when status is "refunded": give the amount refunded, or leave refunded_total out when the whole total was refunded`
		}
		d.Refunded = n
		return ""
	}},
	{name: "line_items", keep: &shape{elem: shapeOf(lineItemFields), max: MaxLineItems}, check: func(d *draft, v *jvalue, p *problems, at []string) string {
		switch {
		case v.kind != jsonArray:
			return "must be an array of line items, not " + v.kind.String()
		case v.count > MaxLineItems:
			return "must have at most " + strconv.Itoa(MaxLineItems) + " line items, not " + strconv.Itoa(v.count)
		case v.count == 0:
			return ""
		}
		d.LineItems = make([]LineItem, 0, len(v.elems))
		for i := range v.elems {
			e, at := &v.elems[i], append(under(at, "line_items"), strconv.Itoa(i))
			if e.kind != jsonObject {
				p.add("must be a line item object, not "+e.kind.String(), at...)
				continue
			}
			li := lineItemDraft{currency: d.currency, exp: d.exp}
			decodeObject(lineItemFields, e, &li, p, at...)
			d.LineItems = append(d.LineItems, li.LineItem)
		}
		return ""
	}},
	{name: "discount_codes", keep: &shape{elem: shapeOf(discountFields), max: MaxDiscountCodes}, check: func(d *draft, v *jvalue, p *problems, at []string) string {
		switch {
		case v.kind != jsonArray:
			return "must be an array of discount codes, not " + v.kind.String()
		case v.count > MaxDiscountCodes:
			return "must have at most " + strconv.Itoa(MaxDiscountCodes) + " discount codes, not " + strconv.Itoa(v.count)
		}
		for i := range v.elems {
			e, at := &v.elems[i], append(under(at, "discount_codes"), strconv.Itoa(i))
			dc := discountDraft{currency: d.currency, exp: d.exp}
			switch e.kind {
			case jsonString:
				var s string
				if dc.Code, s = checkCode(e); s != "" {
					p.add(s, at...)
				}
			case jsonObject:
				decodeObject(discountFields, e, &dc, p, at...)
			default:
				p.add("must be a discount code string or object, not "+e.kind.String(), at...)
			}
			if dc.Code != "" {
				d.DiscountCodes = addCode(d.DiscountCodes, dc.DiscountCode)
			}
		}
		return ""
	}},
}

// decodeOrder validates one native order object, recording every problem in
// p (whose pointers start at the order).
func decodeOrder(v *jvalue, r Rules, now time.Time, p *problems) Order {
	if v.kind != jsonObject {
		p.add("must be an order object, not " + v.kind.String())
		return Order{Source: SourceAPI}
	}
	d := draft{Order: Order{Source: SourceAPI}, rules: r, now: now, exp: -1}
	decodeObject(orderFields, v, &d, p)
	if !d.refundGiven && d.Status == StatusRefunded {
		d.Refunded = d.Total
	}
	if d.Status == StatusPaid && d.Total > 0 && d.Refunded == d.Total {
		d.Status = StatusRefunded
	}
	return d.Order
}

// customerFields are the members of an order's customer.
var customerFields = []field[Customer]{
	{name: "id", required: true, check: func(c *Customer, v *jvalue, _ *problems, _ []string) (s string) {
		c.ID, s = checkCustomerID(v)
		return s
	}},
	{name: "email", check: func(c *Customer, v *jvalue, _ *problems, _ []string) (s string) {
		if v.kind != jsonString {
			return "must be a string, not " + v.kind.String()
		}
		if strings.TrimSpace(v.text) == "" {
			return "" // an empty e-mail is no e-mail
		}
		c.Email, s = normalizeEmail(v.text)
		return s
	}},
	{name: "first_name", check: func(c *Customer, v *jvalue, _ *problems, _ []string) (s string) {
		c.FirstName, s = checkText(v, MaxFirstNameLength)
		return s
	}},
	{name: "accepts_marketing", check: func(c *Customer, v *jvalue, _ *problems, _ []string) string {
		if v.kind != jsonBool {
			return "must be true or false, not " + v.kind.String()
		}
		c.AcceptsMarketing = v.boolean
		return ""
	}},
}

// lineItemDraft is a line item being checked, with its order's currency.
type lineItemDraft struct {
	LineItem
	currency string
	exp      int
}

// lineItemFields are the members of a line item.
var lineItemFields = []field[lineItemDraft]{
	{name: "title", required: true, check: func(li *lineItemDraft, v *jvalue, _ *problems, _ []string) (s string) {
		if li.Title, s = checkText(v, MaxTitleLength); s == "" && li.Title == "" {
			s = "must not be empty"
		}
		return s
	}},
	{name: "sku", check: func(li *lineItemDraft, v *jvalue, _ *problems, _ []string) (s string) {
		if li.SKU, s = checkText(v, MaxSKULength); s == "" && hasInvisible(li.SKU) {
			li.SKU, s = "", invisibleDetail
		}
		return s
	}},
	{name: "quantity", required: true, check: func(li *lineItemDraft, v *jvalue, _ *problems, _ []string) (s string) {
		li.Quantity, s = checkQuantity(v)
		return s
	}},
	{name: "price", required: true, check: func(li *lineItemDraft, v *jvalue, _ *problems, _ []string) (s string) {
		li.Price, s = checkAmount(v, li.currency, li.exp)
		return s
	}},
}

// discountDraft is a discount code being checked, with its order's
// currency.
type discountDraft struct {
	DiscountCode
	currency string
	exp      int
}

// discountFields are the members of a discount code object.
var discountFields = []field[discountDraft]{
	{name: "code", required: true, check: func(dc *discountDraft, v *jvalue, _ *problems, _ []string) (s string) {
		dc.Code, s = checkCode(v)
		return s
	}},
	{name: "amount", check: func(dc *discountDraft, v *jvalue, _ *problems, _ []string) (s string) {
		dc.Amount, s = checkAmount(v, dc.currency, dc.exp)
		return s
	}},
}

// currencyRule checks a currency code against the table and the rules. It
// returns the code ("" when invalid), its exponent (-1 when unknown; known
// even when the code is not the shop's, so amounts are still checked) and
// what is wrong with it.
func currencyRule(code string, r Rules) (string, int, string) {
	exp, ok := Exponent(code)
	switch {
	case !ok:
		if _, ok := Exponent(strings.ToUpper(code)); ok {
			return "", -1, "must be in upper case (" + strings.ToUpper(code) + ")"
		}
		return "", -1, "unknown currency: must be an active ISO 4217 code like \"EUR\""
	case r.Currency != "" && code != r.Currency:
		return "", exp, "must be the shop's currency " + r.Currency
	}
	return code, exp, ""
}
