package order

import (
	"crypto/sha256"
	"encoding/hex"
	"math/bits"
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
//
// Amounts follow the API's rules (exact decimals, no more decimals than the
// currency has, 0..10^12 minor units). Every other Shopify field is ignored.
func ParseShopify(body []byte, r Rules) (o Order, ignored string, err error) {
	root, err := parseJSON(body)
	if err != nil {
		return Order{}, "", err
	}
	if root.kind != jsonObject {
		return Order{}, "", malformed(string(body), root.off, "a Shopify order must be a JSON object, not "+root.kind.String())
	}
	if t := root.get("test"); t != nil && t.kind == jsonBool && t.boolean {
		return Order{}, IgnoredTest, nil
	}
	o.Source = SourceShopify
	var p problems

	// Who: the customer, or a guest identified by e-mail.
	cust := root.get("customer")
	if cust.present() && cust.kind != jsonObject {
		p.addAt("/customer", "must be an object, not "+cust.kind.String())
		cust = nil
	}
	rawEmail := firstString(cust.get("email"), root.get("email"), root.get("contact_email"))
	if id := cust.get("id"); id.present() {
		var d string
		if o.Customer.ID, d = checkID(id); d != "" {
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
	o.Customer.FirstName = sanitizeText(firstString(cust.get("first_name"), root.get("billing_address").get("first_name")), MaxFirstNameLength)
	switch consent := cust.get("email_marketing_consent"); {
	case consent.present() && consent.kind == jsonObject:
		st := consent.get("state")
		o.Customer.AcceptsMarketing = st != nil && st.kind == jsonString && st.text == "subscribed"
	case isBool(cust.get("accepts_marketing")):
		o.Customer.AcceptsMarketing = cust.get("accepts_marketing").boolean
	case isBool(root.get("buyer_accepts_marketing")):
		o.Customer.AcceptsMarketing = root.get("buyer_accepts_marketing").boolean
	}

	// What and when.
	if id := root.get("id"); !id.present() {
		p.addAt("/id", "is required")
	} else {
		var d string
		if o.ID, d = checkID(id); d != "" {
			p.addAt("/id", d)
		}
	}
	now := r.now()
	if v := root.get("created_at"); !v.present() {
		p.addAt("/created_at", "is required")
	} else {
		var d string
		if o.CreatedAt, d = checkTime(v, now); d != "" {
			p.addAt("/created_at", d)
		}
	}
	if v := root.get("updated_at"); v.present() {
		var d string
		if o.UpdatedAt, d = checkTime(v, now); d != "" {
			p.addAt("/updated_at", d)
		}
	}
	exp, curName := -1, ""
	switch v := root.get("currency"); {
	case !v.present():
		p.addAt("/currency", "is required")
	case v.kind != jsonString:
		p.addAt("/currency", "must be an ISO 4217 currency code string, not "+v.kind.String())
	default:
		curName = v.text
		o.Currency, exp = currencyRule(v.text, r, &p)
	}
	totalOK := false
	if v, ptr := shopifyMoney(&root, "total_price", "total_price_set"); v == nil {
		p.addAt("/total_price", "is required")
	} else {
		var d string
		if o.Total, d = checkAmount(v, curName, exp); d != "" {
			p.addAt(ptr, d)
		} else {
			totalOK = exp >= 0
		}
	}

	// Status and refunds.
	o.Status = StatusPending
	if fs := root.get("financial_status"); fs != nil && fs.kind == jsonString {
		switch fs.text {
		case "paid", "partially_refunded":
			o.Status = StatusPaid
		case "refunded":
			o.Status = StatusRefunded
		case "voided":
			o.Status = StatusCancelled
		}
	}
	if root.get("cancelled_at").present() {
		o.Status = StatusCancelled
	}
	refunded := shopifyRefunds(&root, curName, exp, o.Total, totalOK, &p)
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

	o.LineItems = shopifyLineItems(root.get("line_items"), curName, exp, &p)
	return o, "", p.err()
}

// shopifyMoney finds a money field: the legacy string member name, else
// set.shop_money.amount. It returns nil when neither is present.
func shopifyMoney(v *jvalue, name, set string) (*jvalue, string) {
	if m := v.get(name); m.present() {
		return m, "/" + name
	}
	if m := v.get(set).get("shop_money").get("amount"); m.present() {
		return m, "/" + set + "/shop_money/amount"
	}
	return nil, "/" + name
}

// shopifyRefunds sums the successful refund transactions in minor units of
// the shop currency, converting those in the presentment currency at the
// order's rate. The result is capped at total.
func shopifyRefunds(root *jvalue, currency string, exp int, total int64, totalOK bool, p *problems) int64 {
	refunds := root.get("refunds")
	if refunds == nil || refunds.kind != jsonArray {
		return 0
	}
	presCur := ""
	if v := root.get("presentment_currency"); v != nil && v.kind == jsonString {
		presCur = v.text
	}
	presExp, presKnown := Exponent(presCur)
	var shop, pres int64
	for i := range refunds.elems {
		txs := refunds.elems[i].get("transactions")
		if txs == nil || txs.kind != jsonArray {
			continue
		}
		for j := range txs.elems {
			tx := &txs.elems[j]
			if stringOf(tx.get("kind")) != "refund" || stringOf(tx.get("status")) != "success" {
				continue
			}
			at := "/refunds/" + strconv.Itoa(i) + "/transactions/" + strconv.Itoa(j)
			amount := tx.get("amount")
			if !amount.present() {
				p.addAt(at+"/amount", "is required")
				continue
			}
			txCur := stringOf(tx.get("currency"))
			switch {
			case txCur == "" || txCur == currency:
				n, d := checkAmount(amount, currency, exp)
				if d != "" {
					p.addAt(at+"/amount", d)
					continue
				}
				shop = min(shop+n, MaxAmount)
			case txCur == presCur && presKnown:
				n, d := checkAmount(amount, presCur, presExp)
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
		money := root.get("total_price_set").get("presentment_money")
		amount := money.get("amount")
		if !amount.present() || stringOf(money.get("currency_code")) != presCur {
			p.addAt(at, "must give the order total in "+presCur+" to convert its refunds to "+currency)
			return 0
		}
		totalPres, d := checkAmount(amount, presCur, presExp)
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

// shopifyLineItems maps Shopify's line_items, keeping the first MaxLineItems.
func shopifyLineItems(v *jvalue, currency string, exp int, p *problems) []LineItem {
	if v == nil || v.kind != jsonArray || len(v.elems) == 0 {
		return nil
	}
	n := min(len(v.elems), MaxLineItems)
	items := make([]LineItem, 0, n)
	for i := range v.elems[:n] {
		e := &v.elems[i]
		at := func() string { return "/line_items/" + strconv.Itoa(i) }
		if e.kind != jsonObject {
			p.addAt(at(), "must be an object, not "+e.kind.String())
			continue
		}
		li := LineItem{
			Title: sanitizeText(firstString(e.get("title"), e.get("name")), MaxTitleLength),
			SKU:   sanitizeText(stringOf(e.get("sku")), MaxSKULength),
		}
		if li.Title == "" {
			p.addAt(at()+"/title", "must not be empty")
		}
		if q := e.get("quantity"); !q.present() {
			p.addAt(at()+"/quantity", "is required")
		} else {
			var d string
			if li.Quantity, d = checkQuantity(q); d != "" {
				p.addAt(at()+"/quantity", d)
			}
		}
		if price, ptr := shopifyMoney(e, "price", "price_set"); price == nil {
			p.addAt(at()+"/price", "is required")
		} else {
			var d string
			if li.Price, d = checkAmount(price, currency, exp); d != "" {
				p.addAt(at()+ptr, d)
			}
		}
		items = append(items, li)
	}
	return items
}

// stringOf returns v's text when it is a string, else "".
func stringOf(v *jvalue) string {
	if v != nil && v.kind == jsonString {
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

// isBool reports whether v is a JSON boolean.
func isBool(v *jvalue) bool { return v != nil && v.kind == jsonBool }
