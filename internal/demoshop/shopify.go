package demoshop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/winback/winback/shared/order"
)

// ShopDomain is the demo shop's *.myshopify.com domain, for the
// X-Shopify-Shop-Domain header of its webhooks.
const ShopDomain = "winback-demo-tea.myshopify.com"

// vendor is the brand on the demo's line items.
const vendor = "Winback Demo Tea Co."

// ShopifyPayload writes the order as the body of a Shopify order webhook
// (orders/create, orders/updated, orders/paid, orders/cancelled all carry
// the order object), with the members Shopify sends that winback reads and
// a realistic selection of the others. shared/order.ParseShopify maps it
// back to o.Domain(order.SourceShopify):
//
//	id, name             the order id (a number), "#" and its order number
//	customer             id (a number), email, first_name, last_name,
//	                     email_marketing_consent.state subscribed / not_subscribed
//	created_at, updated_at, processed_at, cancelled_at (cancelled orders)
//	currency, total_price (paid, net of discounts), subtotal_price,
//	total_line_items_price, total_discounts, total_price_set
//	financial_status     pending, paid, partially_refunded, refunded, voided (cancelled)
//	line_items[]         title, name, sku, quantity, price, price_set, ...
//	discount_codes[]     code, amount, type "percentage"
//	refunds[]            one refund with one successful "refund" transaction
//
// Order and customer ids must be decimal integers, as Shopify's are (the
// history's Shopify orders are); another id is an error.
func ShopifyPayload(o Order) ([]byte, error) {
	id, err := strconv.ParseInt(o.ID, 10, 64)
	if err != nil || id < 0 {
		return nil, fmt.Errorf("shopify payload: order id %q is not a Shopify id (a non-negative 64-bit integer)", o.ID)
	}
	custID, err := strconv.ParseInt(o.Customer.ID, 10, 64)
	if err != nil || custID < 0 {
		return nil, fmt.Errorf("shopify payload: customer id %q is not a Shopify id (a non-negative 64-bit integer)", o.Customer.ID)
	}
	exp, ok := order.Exponent(o.Currency)
	if !ok {
		return nil, fmt.Errorf("shopify payload: unknown currency %q", o.Currency)
	}
	money := func(minor int64) string { return order.FormatAmount(minor, exp) }
	set := func(minor int64) shopifyPriceSet {
		m := shopifyMoney{Amount: money(minor), CurrencyCode: o.Currency}
		return shopifyPriceSet{ShopMoney: m, PresentmentMoney: m}
	}
	stamp := func(t time.Time) string { return t.Format(time.RFC3339) }
	number := id % 1_000_000_000 // the shop's running order number
	updated := o.UpdatedAt
	if updated.IsZero() {
		updated = o.CreatedAt
	}
	since := o.Customer.Since
	if since.IsZero() || since.After(o.CreatedAt) {
		since = o.CreatedAt
	}
	consent := "not_subscribed"
	if o.Customer.AcceptsMarketing {
		consent = "subscribed"
	}

	b := shopifyOrder{
		ID:                    id,
		AdminGraphqlAPIID:     "gid://shopify/Order/" + o.ID,
		BuyerAcceptsMarketing: o.Customer.AcceptsMarketing,
		Confirmed:             true,
		ContactEmail:          o.Customer.Email,
		CreatedAt:             stamp(o.CreatedAt),
		Currency:              o.Currency,
		CurrentTotalPrice:     money(o.Total - o.Refunded),
		CustomerLocale:        "en",
		Email:                 o.Customer.Email,
		FinancialStatus:       "paid",
		Name:                  "#" + strconv.FormatInt(1000+number, 10),
		Number:                number,
		OrderNumber:           1000 + number,
		PresentmentCurrency:   o.Currency,
		ProcessedAt:           stamp(o.CreatedAt),
		SourceName:            "web",
		SubtotalPrice:         money(o.Total),
		TaxesIncluded:         true,
		TotalDiscounts:        money(o.Subtotal() - o.Total),
		TotalLineItemsPrice:   money(o.Subtotal()),
		TotalOutstanding:      money(0),
		TotalPrice:            money(o.Total),
		TotalPriceSet:         set(o.Total),
		UpdatedAt:             stamp(updated),
		BillingAddress:        &shopifyAddress{FirstName: o.Customer.FirstName, LastName: o.Customer.LastName, Name: o.Customer.FirstName + " " + o.Customer.LastName},
		Customer: &shopifyCustomer{
			ID:                custID,
			Email:             o.Customer.Email,
			CreatedAt:         stamp(since),
			UpdatedAt:         stamp(updated),
			FirstName:         o.Customer.FirstName,
			LastName:          o.Customer.LastName,
			State:             "enabled",
			VerifiedEmail:     true,
			Currency:          o.Currency,
			AdminGraphqlAPIID: "gid://shopify/Customer/" + o.Customer.ID,
			Consent: shopifyConsent{
				State: consent, OptInLevel: "single_opt_in", ConsentUpdatedAt: stamp(since),
			},
		},
		LineItems:            []shopifyLine{},
		DiscountCodes:        []shopifyDiscountCode{},
		DiscountApplications: []shopifyDiscountApplication{},
		Refunds:              []shopifyRefund{},
	}
	if o.Customer.Email == "" {
		b.Email, b.ContactEmail, b.Customer.Email = nil, nil, nil
	}
	switch o.Status {
	case order.StatusPending:
		b.FinancialStatus = "pending"
		b.TotalOutstanding = money(o.Total)
	case order.StatusRefunded:
		b.FinancialStatus = "refunded"
	case order.StatusCancelled:
		b.FinancialStatus = "voided" // authorised, never captured
		switch {
		case o.Refunded > 0 && o.Refunded >= o.Total:
			b.FinancialStatus = "refunded"
		case o.Refunded > 0:
			b.FinancialStatus = "partially_refunded"
		}
		b.CancelledAt, b.CancelReason, b.ClosedAt = ptr(stamp(updated)), ptr("customer"), ptr(stamp(updated))
	case order.StatusPaid:
		if o.Refunded > 0 {
			b.FinancialStatus = "partially_refunded"
		}
	}
	for j, l := range o.LineItems {
		b.LineItems = append(b.LineItems, shopifyLine{
			ID:                  lineID(id, j),
			AdminGraphqlAPIID:   "gid://shopify/LineItem/" + strconv.FormatInt(lineID(id, j), 10),
			FulfillableQuantity: l.Quantity,
			FulfillmentService:  "manual",
			Grams:               250,
			Name:                l.Title,
			Price:               money(l.Price),
			PriceSet:            set(l.Price),
			ProductExists:       true,
			Quantity:            l.Quantity,
			RequiresShipping:    true,
			SKU:                 l.SKU,
			Taxable:             true,
			Title:               l.Title,
			TotalDiscount:       money(0),
			Vendor:              vendor,
		})
	}
	for _, d := range o.DiscountCodes {
		b.DiscountCodes = append(b.DiscountCodes, shopifyDiscountCode{Code: d.Code, Amount: money(d.Amount), Type: "percentage"})
		b.DiscountApplications = append(b.DiscountApplications, shopifyDiscountApplication{
			TargetType: "line_item", Type: "discount_code", Value: money(d.Amount), ValueType: "fixed_amount",
			AllocationMethod: "across", TargetSelection: "all", Code: d.Code,
		})
	}
	if o.Refunded > 0 {
		at := stamp(updated)
		refundID := lineID(id, 90)
		b.Refunds = append(b.Refunds, shopifyRefund{
			ID: refundID, AdminGraphqlAPIID: "gid://shopify/Refund/" + strconv.FormatInt(refundID, 10),
			CreatedAt: at, ProcessedAt: at, OrderID: id, Note: "returned", Restock: true,
			Transactions: []shopifyTransaction{{
				ID: refundID + 1, AdminGraphqlAPIID: "gid://shopify/OrderTransaction/" + strconv.FormatInt(refundID+1, 10),
				Amount: money(o.Refunded), CreatedAt: at, ProcessedAt: at, Currency: o.Currency,
				Gateway: "shopify_payments", Kind: "refund", OrderID: id, Status: "success",
			}},
		})
	}
	return json.Marshal(b)
}

// Sign is the X-Shopify-Hmac-Sha256 of a webhook body: the base64
// HMAC-SHA256 of the raw body under the shop's webhook secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// lineID is a stable id for the j-th line (or refund) of an order.
func lineID(orderID int64, j int) int64 {
	return 10_000_000_000_000 + (orderID%1_000_000_000)*100 + int64(j)
}

func ptr[T any](v T) *T { return &v }

// The Shopify order webhook body, members in Shopify's (alphabetical) order.
type shopifyOrder struct {
	ID                    int64                        `json:"id"`
	AdminGraphqlAPIID     string                       `json:"admin_graphql_api_id"`
	BuyerAcceptsMarketing bool                         `json:"buyer_accepts_marketing"`
	CancelReason          *string                      `json:"cancel_reason"`
	CancelledAt           *string                      `json:"cancelled_at"`
	ClosedAt              *string                      `json:"closed_at"`
	Confirmed             bool                         `json:"confirmed"`
	ContactEmail          any                          `json:"contact_email"`
	CreatedAt             string                       `json:"created_at"`
	Currency              string                       `json:"currency"`
	CurrentTotalPrice     string                       `json:"current_total_price"`
	CustomerLocale        string                       `json:"customer_locale"`
	DiscountCodes         []shopifyDiscountCode        `json:"discount_codes"`
	Email                 any                          `json:"email"`
	FinancialStatus       string                       `json:"financial_status"`
	FulfillmentStatus     *string                      `json:"fulfillment_status"`
	Name                  string                       `json:"name"`
	Number                int64                        `json:"number"`
	OrderNumber           int64                        `json:"order_number"`
	PresentmentCurrency   string                       `json:"presentment_currency"`
	ProcessedAt           string                       `json:"processed_at"`
	SourceName            string                       `json:"source_name"`
	SubtotalPrice         string                       `json:"subtotal_price"`
	Tags                  string                       `json:"tags"`
	TaxesIncluded         bool                         `json:"taxes_included"`
	Test                  bool                         `json:"test"`
	TotalDiscounts        string                       `json:"total_discounts"`
	TotalLineItemsPrice   string                       `json:"total_line_items_price"`
	TotalOutstanding      string                       `json:"total_outstanding"`
	TotalPrice            string                       `json:"total_price"`
	TotalPriceSet         shopifyPriceSet              `json:"total_price_set"`
	UpdatedAt             string                       `json:"updated_at"`
	BillingAddress        *shopifyAddress              `json:"billing_address"`
	Customer              *shopifyCustomer             `json:"customer"`
	DiscountApplications  []shopifyDiscountApplication `json:"discount_applications"`
	LineItems             []shopifyLine                `json:"line_items"`
	Refunds               []shopifyRefund              `json:"refunds"`
}

type shopifyMoney struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currency_code"`
}

type shopifyPriceSet struct {
	ShopMoney        shopifyMoney `json:"shop_money"`
	PresentmentMoney shopifyMoney `json:"presentment_money"`
}

type shopifyAddress struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Name      string `json:"name"`
}

type shopifyConsent struct {
	State            string `json:"state"`
	OptInLevel       string `json:"opt_in_level"`
	ConsentUpdatedAt string `json:"consent_updated_at"`
}

type shopifyCustomer struct {
	ID                int64          `json:"id"`
	Email             any            `json:"email"`
	CreatedAt         string         `json:"created_at"`
	UpdatedAt         string         `json:"updated_at"`
	FirstName         string         `json:"first_name"`
	LastName          string         `json:"last_name"`
	State             string         `json:"state"`
	VerifiedEmail     bool           `json:"verified_email"`
	Currency          string         `json:"currency"`
	AdminGraphqlAPIID string         `json:"admin_graphql_api_id"`
	Consent           shopifyConsent `json:"email_marketing_consent"`
}

type shopifyDiscountCode struct {
	Code   string `json:"code"`
	Amount string `json:"amount"`
	Type   string `json:"type"`
}

type shopifyDiscountApplication struct {
	TargetType       string `json:"target_type"`
	Type             string `json:"type"`
	Value            string `json:"value"`
	ValueType        string `json:"value_type"`
	AllocationMethod string `json:"allocation_method"`
	TargetSelection  string `json:"target_selection"`
	Code             string `json:"code"`
}

type shopifyLine struct {
	ID                  int64           `json:"id"`
	AdminGraphqlAPIID   string          `json:"admin_graphql_api_id"`
	FulfillableQuantity int64           `json:"fulfillable_quantity"`
	FulfillmentService  string          `json:"fulfillment_service"`
	GiftCard            bool            `json:"gift_card"`
	Grams               int             `json:"grams"`
	Name                string          `json:"name"`
	Price               string          `json:"price"`
	PriceSet            shopifyPriceSet `json:"price_set"`
	ProductExists       bool            `json:"product_exists"`
	Quantity            int64           `json:"quantity"`
	RequiresShipping    bool            `json:"requires_shipping"`
	SKU                 string          `json:"sku"`
	Taxable             bool            `json:"taxable"`
	Title               string          `json:"title"`
	TotalDiscount       string          `json:"total_discount"`
	Vendor              string          `json:"vendor"`
}

type shopifyRefund struct {
	ID                int64                `json:"id"`
	AdminGraphqlAPIID string               `json:"admin_graphql_api_id"`
	CreatedAt         string               `json:"created_at"`
	Note              string               `json:"note"`
	OrderID           int64                `json:"order_id"`
	ProcessedAt       string               `json:"processed_at"`
	Restock           bool                 `json:"restock"`
	Transactions      []shopifyTransaction `json:"transactions"`
}

type shopifyTransaction struct {
	ID                int64  `json:"id"`
	AdminGraphqlAPIID string `json:"admin_graphql_api_id"`
	Amount            string `json:"amount"`
	CreatedAt         string `json:"created_at"`
	Currency          string `json:"currency"`
	Gateway           string `json:"gateway"`
	Kind              string `json:"kind"`
	OrderID           int64  `json:"order_id"`
	ProcessedAt       string `json:"processed_at"`
	Status            string `json:"status"`
}
