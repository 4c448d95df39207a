package order

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// Reasons ParseShopify gives for orders winback deliberately skips.
const (
	IgnoredTest       = "test order"
	IgnoredNoCustomer = "order has no customer"
)

// GuestCustomerID is the customer id given to a Shopify order that has an
// e-mail address but no customer object (a guest checkout): "email:"
// followed by the first 16 hex digits of the SHA-256 of the trimmed,
// lower-cased address. It is deterministic, so a guest's orders still form
// one purchase history, and it does not reveal the address.
func GuestCustomerID(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return "email:" + hex.EncodeToString(sum[:8])
}

// ParseShopify maps the body of a Shopify order webhook (topics
// orders/create, orders/updated, orders/paid and orders/cancelled, which all
// carry the order object) to an Order with Source SourceShopify.
//
// ignored is non-empty, with a nil error, for orders winback deliberately
// skips: IgnoredTest ("test": true) and IgnoredNoCustomer (no customer
// object and no e-mail address, e.g. an anonymous point-of-sale sale). err
// wraps ErrMalformed when the body is not a JSON object and is a
// *ValidationError, with pointers into the Shopify body, when a value we
// need breaks the rules; o then holds what was valid, for logging only.
//
// The mapping:
//
//	ID                 "id", a 64-bit integer kept as its exact decimal text (not "name")
//	Customer.ID        "customer.id" likewise; without a customer object (or id),
//	                   GuestCustomerID of the e-mail address
//	Customer.Email     "customer.email", else "email", else "contact_email"; trimmed and
//	                   lower-cased; left empty when it is not an address we can mail
//	Customer.FirstName "customer.first_name", else "billing_address.first_name"; control
//	                   characters removed, cut to 100 characters
//	AcceptsMarketing   "customer.email_marketing_consent.state" == "subscribed" when that
//	                   object exists, else "customer.accepts_marketing", else
//	                   "buyer_accepts_marketing"
//	CreatedAt, UpdatedAt "created_at", "updated_at", with the API's date rules
//	Currency           "currency" (the shop currency), which must be Rules.Currency when set
//	Total              "total_price" (else "total_price_set.shop_money.amount")
//	Status             "cancelled_at" set → cancelled; else by "financial_status":
//	                   paid, partially_refunded → paid; refunded → refunded;
//	                   voided → cancelled; anything else (pending, authorized,
//	                   partially_paid, unpaid, expired, missing) → pending
//	Refunded           the successful ("status": "success") transactions of kind "refund"
//	                   in "refunds[].transactions[]", capped at Total; a refunded order's
//	                   refund is its total, and a paid order refunded in full becomes
//	                   refunded. Refunds in the order's presentment currency (multi-currency
//	                   shops) are converted at the order's own rate,
//	                   total_price_set.shop_money / total_price_set.presentment_money.
//	LineItems          "line_items[]": title (else name; cut to 255 characters), sku (cut
//	                   to 128), quantity (1..1000000), price (else price_set.shop_money.amount);
//	                   only the first 250 lines are kept
//	DiscountCodes      "discount_codes[]": code trimmed and upper-cased, amount (what it took
//	                   off, in the shop currency like total_price; optional); a code that
//	                   breaks the API's rules for codes (empty, over 64 characters,
//	                   unprintable) is skipped, a code given twice is listed once with the
//	                   amounts added up, and only the first 20 codes are kept. "type"
//	                   (percentage, fixed_amount, shipping) is ignored: amount is already
//	                   what the discount took.
//
// Amounts follow the API's rules (exact decimals, no more decimals than the
// currency has, 0..10^12 minor units), and ids the API's rules too. Every
// other Shopify field is ignored, as is a nested member of the wrong JSON type
// (an object where a string belongs, say), except the customer and line
// items, which must be objects. The body is signed by Shopify, so it is
// decoded with encoding/json into structs, whose member names match case
// insensitively and where a repeated member overwrites the earlier one.
func ParseShopify(body []byte, r Rules) (o Order, ignored string, err error) {
	var s shopifyOrder
	err = json.Unmarshal(body, &s)
	if wrongTypesAsAbsent(err) != nil {
		return Order{}, "", syntaxError(body, err)
	}
	if start := bytes.TrimLeft(body, " \t\r\n"); start[0] != '{' {
		return Order{}, "", malformed(body, len(body)-len(start), "a Shopify order must be a JSON object, not "+kindOf(start[0]).String())
	}
	if s.Test.kind == jsonBool && s.Test.boolean {
		return Order{}, IgnoredTest, nil
	}
	o.Source = SourceShopify
	var p problems

	// Who: the customer, or a guest identified by e-mail.
	cust := &s.Customer.v
	if s.Customer.kind != jsonObject {
		if s.Customer.kind != 0 && s.Customer.kind != jsonNull {
			p.addAt("/customer", "must be an object, not "+s.Customer.kind.String())
		}
		cust = &shopifyCustomer{}
	}
	rawEmail := firstString(&cust.Email, &s.Email, &s.ContactEmail)
	if cust.ID.present() {
		var d string
		if o.Customer.ID, d = checkCustomerID(&cust.ID); d != "" {
			p.addAt("/customer/id", d)
		}
	} else if rawEmail != "" {
		o.Customer.ID = GuestCustomerID(rawEmail)
	} else {
		return Order{}, IgnoredNoCustomer, nil
	}
	if email, d := normalizeEmail(rawEmail); d == "" {
		o.Customer.Email = email
	}
	o.Customer.FirstName = sanitizeText(firstString(&cust.FirstName, &s.BillingAddress.v.FirstName), MaxFirstNameLength)
	switch {
	case cust.Consent.kind == jsonObject:
		o.Customer.AcceptsMarketing = stringOf(&cust.Consent.v.State) == "subscribed"
	case cust.AcceptsMarketing.kind == jsonBool:
		o.Customer.AcceptsMarketing = cust.AcceptsMarketing.boolean
	case s.BuyerAcceptsMarketing.kind == jsonBool:
		o.Customer.AcceptsMarketing = s.BuyerAcceptsMarketing.boolean
	}

	// What and when.
	required := func(v *jvalue, ptr string, check func(*jvalue) string) {
		if !v.present() {
			p.addAt(ptr, "is required")
		} else if d := check(v); d != "" {
			p.addAt(ptr, d)
		}
	}
	required(&s.ID, "/id", func(v *jvalue) (d string) { o.ID, d = checkID(v); return d })
	now := r.now()
	required(&s.CreatedAt, "/created_at", func(v *jvalue) (d string) { o.CreatedAt, d = checkTime(v, now); return d })
	if s.UpdatedAt.present() {
		var d string
		if o.UpdatedAt, d = checkTime(&s.UpdatedAt, now); d != "" {
			p.addAt("/updated_at", d)
		}
	}
	exp, curName := -1, ""
	required(&s.Currency, "/currency", func(v *jvalue) (d string) {
		if v.kind != jsonString {
			return "must be an ISO 4217 currency code string, not " + v.kind.String()
		}
		curName = v.text
		o.Currency, exp, d = currencyRule(v.text, r)
		return d
	})
	totalOK := false
	total, ptr := shopifyMoney(&s.TotalPrice, &s.TotalPriceSet.v, "/total_price", "/total_price_set")
	required(total, ptr, func(v *jvalue) (d string) {
		o.Total, d = checkAmount(v, curName, exp)
		totalOK = d == "" && exp >= 0
		return d
	})

	// Status and refunds.
	o.Status = StatusPending
	switch stringOf(&s.FinancialStatus) {
	case "paid", "partially_refunded":
		o.Status = StatusPaid
	case "refunded":
		o.Status = StatusRefunded
	case "voided":
		o.Status = StatusCancelled
	}
	if s.CancelledAt.present() {
		o.Status = StatusCancelled
	}
	refunded := shopifyRefunds(&s, curName, exp, o.Total, totalOK, &p)
	switch {
	case o.Status == StatusRefunded:
		o.Refunded = o.Total
	case refunded >= o.Total:
		o.Refunded = o.Total
		if o.Status == StatusPaid && o.Total > 0 {
			o.Status = StatusRefunded
		}
	default:
		o.Refunded = refunded
	}

	o.LineItems = shopifyLineItems(s.LineItems, curName, exp, &p)
	o.DiscountCodes = shopifyDiscountCodes(s.DiscountCodes, curName, exp, &p)
	return o, "", p.err()
}

// shopifyOrder is the part of a Shopify order webhook that ParseShopify
// reads. Every scalar is a jvalue, so that numbers keep their exact text and
// a value of an unexpected type is reported rather than failing the decode.
type shopifyOrder struct {
	ID                    jvalue                   `json:"id"`
	Test                  jvalue                   `json:"test"`
	Email                 jvalue                   `json:"email"`
	ContactEmail          jvalue                   `json:"contact_email"`
	BuyerAcceptsMarketing jvalue                   `json:"buyer_accepts_marketing"`
	Customer              jobject[shopifyCustomer] `json:"customer"`
	BillingAddress        jobject[struct {
		FirstName jvalue `json:"first_name"`
	}] `json:"billing_address"`
	CreatedAt           jvalue                   `json:"created_at"`
	UpdatedAt           jvalue                   `json:"updated_at"`
	CancelledAt         jvalue                   `json:"cancelled_at"`
	Currency            jvalue                   `json:"currency"`
	PresentmentCurrency jvalue                   `json:"presentment_currency"`
	FinancialStatus     jvalue                   `json:"financial_status"`
	TotalPrice          jvalue                   `json:"total_price"`
	TotalPriceSet       jobject[shopifyPriceSet] `json:"total_price_set"`
	Refunds             jarray[struct {
		Transactions jarray[jobject[shopifyTransaction]] `json:"transactions"`
	}] `json:"refunds"`
	LineItems     shopifyLines                         `json:"line_items"`
	DiscountCodes jarray[jobject[shopifyDiscountCode]] `json:"discount_codes"`
}

// shopifyDiscountCode is one element of an order's discount_codes.
type shopifyDiscountCode struct {
	Code   jvalue `json:"code"`
	Amount jvalue `json:"amount"`
}

type shopifyCustomer struct {
	ID               jvalue `json:"id"`
	Email            jvalue `json:"email"`
	FirstName        jvalue `json:"first_name"`
	AcceptsMarketing jvalue `json:"accepts_marketing"`
	Consent          jobject[struct {
		State jvalue `json:"state"`
	}] `json:"email_marketing_consent"`
}

// shopifyPriceSet is an amount in the shop and the presentment currency.
type shopifyPriceSet struct {
	ShopMoney        jobject[shopifyMoneyValue] `json:"shop_money"`
	PresentmentMoney jobject[shopifyMoneyValue] `json:"presentment_money"`
}

type shopifyMoneyValue struct {
	Amount       jvalue `json:"amount"`
	CurrencyCode jvalue `json:"currency_code"`
}

type shopifyTransaction struct {
	Kind     jvalue `json:"kind"`
	Status   jvalue `json:"status"`
	Amount   jvalue `json:"amount"`
	Currency jvalue `json:"currency"`
}

type shopifyLine struct {
	Title    jvalue                   `json:"title"`
	Name     jvalue                   `json:"name"`
	SKU      jvalue                   `json:"sku"`
	Quantity jvalue                   `json:"quantity"`
	Price    jvalue                   `json:"price"`
	PriceSet jobject[shopifyPriceSet] `json:"price_set"`
}

// jobject is a member that should be an object: its kind as sent, and its
// members in v when it is one.
type jobject[T any] struct {
	kind jsonKind
	v    T
}

// UnmarshalJSON decodes an object into o.v; a value of another type only
// sets the kind. Nested members of the wrong type are left zero.
func (o *jobject[T]) UnmarshalJSON(b []byte) error {
	*o = jobject[T]{kind: kindOf(b[0])}
	if o.kind != jsonObject {
		return nil
	}
	return wrongTypesAsAbsent(json.Unmarshal(b, &o.v))
}

// jarray is a member that should be an array: its elements when it is one.
type jarray[T any] []T

// UnmarshalJSON decodes an array; a value of another type is left as an
// empty list, and so is an element of the wrong type.
func (a *jarray[T]) UnmarshalJSON(b []byte) error {
	*a = nil
	if kindOf(b[0]) != jsonArray {
		return nil
	}
	return wrongTypesAsAbsent(json.Unmarshal(b, (*[]T)(a)))
}

// shopifyLines are the first MaxLineItems line items of an order (the ones
// ParseShopify keeps: decoding no more bounds the memory a body can take).
type shopifyLines []jobject[shopifyLine]

// UnmarshalJSON decodes the first MaxLineItems elements of an array; a value
// of another type is left as an empty list.
func (a *shopifyLines) UnmarshalJSON(b []byte) error {
	*a = nil
	if kindOf(b[0]) != jsonArray {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // '['
		return err
	}
	for dec.More() && len(*a) < MaxLineItems {
		var e jobject[shopifyLine]
		if err := dec.Decode(&e); err != nil {
			return err
		}
		*a = append(*a, e)
	}
	return nil
}

// wrongTypesAsAbsent drops the error of a value of the wrong type, which
// encoding/json leaves zero while decoding the rest.
func wrongTypesAsAbsent(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return nil
	}
	return err
}

// shopifyMoney picks a money field: the legacy string member (pointer ptr),
// else set.shop_money.amount. It returns the value (nil when neither is
// present) and its pointer.
func shopifyMoney(legacy *jvalue, set *shopifyPriceSet, ptr, setPtr string) (*jvalue, string) {
	if legacy.present() {
		return legacy, ptr
	}
	if m := &set.ShopMoney.v.Amount; m.present() {
		return m, setPtr + "/shop_money/amount"
	}
	return nil, ptr
}

// shopifyRefunds sums the successful refund transactions in minor units of
// the shop currency, converting those in the presentment currency at the
// order's rate. The result is capped at total.
func shopifyRefunds(s *shopifyOrder, currency string, exp int, total int64, totalOK bool, p *problems) int64 {
	presCur := stringOf(&s.PresentmentCurrency)
	presExp, presKnown := Exponent(presCur)
	var shop, pres int64
	for i, refund := range s.Refunds {
		for j, t := range refund.Transactions {
			tx := &t.v
			if t.kind != jsonObject || stringOf(&tx.Kind) != "refund" || stringOf(&tx.Status) != "success" {
				continue
			}
			at := "/refunds/" + strconv.Itoa(i) + "/transactions/" + strconv.Itoa(j)
			if !tx.Amount.present() {
				p.addAt(at+"/amount", "is required")
				continue
			}
			txCur := stringOf(&tx.Currency)
			switch {
			case txCur == "" || txCur == currency:
				n, d := checkAmount(&tx.Amount, currency, exp)
				if d != "" {
					p.addAt(at+"/amount", d)
					continue
				}
				shop = min(shop+n, MaxAmount)
			case txCur == presCur && presKnown:
				n, d := checkAmount(&tx.Amount, presCur, presExp)
				if d != "" {
					p.addAt(at+"/amount", d)
					continue
				}
				pres = min(pres+n, MaxAmount)
			default:
				p.addAt(at+"/currency", "refund in "+txCur+" is neither the shop currency "+currency+" nor the order's presentment currency")
			}
		}
	}
	if pres > 0 && totalOK {
		const at = "/total_price_set/presentment_money"
		money := &s.TotalPriceSet.v.PresentmentMoney.v
		if !money.Amount.present() || stringOf(&money.CurrencyCode) != presCur {
			p.addAt(at, "must give the order total in "+presCur+" to convert its refunds to "+currency)
			return 0
		}
		totalPres, d := checkAmount(&money.Amount, presCur, presExp)
		switch {
		case d != "":
			p.addAt(at+"/amount", d)
			return 0
		case totalPres == 0:
			p.addAt(at+"/amount", "must not be zero when there are refunds in "+presCur)
			return 0
		case pres >= totalPres:
			shop += total
		default:
			shop += convert(pres, total, totalPres)
		}
	}
	return min(shop, total)
}

// convert returns round(amount × num / den) for 0 <= amount < den, num >= 0,
// rounding halves up, without overflow.
func convert(amount, num, den int64) int64 {
	hi, lo := bits.Mul64(uint64(amount), uint64(num))
	lo, carry := bits.Add64(lo, uint64(den)/2, 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, uint64(den)) // hi < den because amount < den
	return int64(q)
}

// shopifyLineItems maps Shopify's line items (at most MaxLineItems, the
// decoder keeps no more).
func shopifyLineItems(lines shopifyLines, currency string, exp int, p *problems) []LineItem {
	if len(lines) == 0 {
		return nil
	}
	items := make([]LineItem, 0, len(lines))
	for i := range lines {
		e := &lines[i].v
		at := "/line_items/" + strconv.Itoa(i)
		if lines[i].kind != jsonObject {
			p.addAt(at, "must be an object, not "+lines[i].kind.String())
			continue
		}
		li := LineItem{
			Title: sanitizeText(firstString(&e.Title, &e.Name), MaxTitleLength),
			SKU:   sanitizeText(stringOf(&e.SKU), MaxSKULength),
		}
		if li.Title == "" {
			p.addAt(at+"/title", "must not be empty")
		}
		if !e.Quantity.present() {
			p.addAt(at+"/quantity", "is required")
		} else {
			var d string
			if li.Quantity, d = checkQuantity(&e.Quantity); d != "" {
				p.addAt(at+"/quantity", d)
			}
		}
		if price, ptr := shopifyMoney(&e.Price, &e.PriceSet.v, "/price", "/price_set"); price == nil {
			p.addAt(at+"/price", "is required")
		} else {
			var d string
			if li.Price, d = checkAmount(price, currency, exp); d != "" {
				p.addAt(at+ptr, d)
			}
		}
		items = append(items, li)
	}
	return items
}

// shopifyDiscountCodes maps Shopify's discount codes: the first
// MaxDiscountCodes valid ones, each once. Codes that are not valid codes
// for us are skipped (the order still counts); an amount that is not a
// valid amount of the shop currency is a problem, like any money field.
func shopifyDiscountCodes(codes jarray[jobject[shopifyDiscountCode]], currency string, exp int, p *problems) []DiscountCode {
	var out []DiscountCode
	for i := range codes {
		e := &codes[i].v
		if codes[i].kind != jsonObject || e.Code.kind != jsonString {
			continue
		}
		code, d := normalizeCode(e.Code.text, e.Code.badUTF8)
		if d != "" {
			continue
		}
		dc := DiscountCode{Code: code}
		if e.Amount.present() {
			if dc.Amount, d = checkAmount(&e.Amount, currency, exp); d != "" {
				p.addAt("/discount_codes/"+strconv.Itoa(i)+"/amount", d)
				continue
			}
		}
		if len(out) == MaxDiscountCodes && !slices.ContainsFunc(out, func(c DiscountCode) bool { return c.Code == code }) {
			continue
		}
		out = addCode(out, dc)
	}
	return out
}

// stringOf returns v's text when it is a string, else "".
func stringOf(v *jvalue) string {
	if v.kind == jsonString {
		return v.text
	}
	return ""
}

// firstString returns the first of vs that is a string with more than white
// space.
func firstString(vs ...*jvalue) string {
	for _, v := range vs {
		if s := stringOf(v); strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
