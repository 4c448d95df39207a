// Package demoshop generates a realistic, reproducible online shop for the
// demo: two years of a tea-and-coffee shop's orders as the shop would send
// them to winback (through POST /v1/orders and the Shopify webhook), the
// truth behind them, and the weeks after a campaign. It is pure
// computation: no AWS, no store, no clock (the caller gives "today").
//
// # Use
//
//	h, err := demoshop.Generate(demoshop.Config{Seed: 1, End: today, Location: shop.Location()})
//	for _, e := range h.Events {        // in time order
//		switch {
//		case e.Kind == demoshop.KindMalformed:
//			post("/v1/orders", e.Body)  // alone: refused
//		case e.Shopify:
//			body, _ := demoshop.ShopifyPayload(e.Order)
//			// X-Shopify-Topic: e.Topic(), X-Shopify-Webhook-Id: e.WebhookID,
//			// X-Shopify-Hmac-Sha256: demoshop.Sign(secret, body),
//			// X-Shopify-Shop-Domain: demoshop.ShopDomain
//		default:
//			batch = append(batch, e.Order) // demoshop.BatchBody(batch) per 100
//		}
//	}
//	// ... nightly job, campaign ...
//	later := h.PlayForward(sentAt, 28, contacts, 2)
//
// Every order version marshals (json.Marshal) to exactly the POST /v1/orders
// schema, and Order.Domain is what winback must store for it, so a demo or
// a test can check the API against the generator.
//
// # The customers
//
// Config.Customers (default 3000) customers are acquired over the Days
// (default 730) before End, more towards the end (the shop doubles its
// daily acquisitions over the period) and 1.8 times as many from 20
// November to 22 December, 15% fewer in January, July and August. A
// customer's first order is their acquisition. Each has a first and a last
// name from across Europe, an address under example.com, example.org or
// example.net (RFC 2606: nothing can reach anyone) and accepts marketing
// with probability 0.8. Customers of the JSON API are "c00001", "c00002",
// ... by first order; a share of the customers (ShopifyShare of the orders,
// default 0.2, assigned by whole customers) buy through a Shopify store,
// with 13-digit numeric ids as Shopify gives them, and all their orders
// arrive as Shopify webhooks.
//
// # The purchase process (BG/NBD)
//
// While alive, a customer orders at rate λ ~ Gamma(r, α) per week; after
// each repeat order they leave for good with probability p ~ Beta(a, b)
// (Fader, Hardie & Lee 2005). Defaults (DefaultParams): r = 0.6, α = 8
// (mean λ 0.075 a week, about four orders a year, very uneven), a = 0.8,
// b = 3.2 (mean p 0.2, with a loyal core of small p). The gaps between
// orders are exponential, except for replenishers: a customer's favourite
// consumable (Earl Grey 35%, espresso 30%, sencha 20%, chai 15%) is
// replenished when their mean gap 1/λ is within 25% of 1, 2 or 3 of its
// cycles (a 100 g tea lasts 42 days, 500 g of espresso 28, chai 56), with
// probability Replenishers = 0.7. Replenishers buy that many packs in every
// order, at Gamma(6)-distributed gaps with mean 1/λ (±40%): their next
// order comes close to when the last one runs out, and the rate λ keeps its
// Gamma(r, α) law, so the population is still BG/NBD as far as counts go.
// A BG/NBD fit to the generated orders (see the tests) finds r, α, a and b
// close to the generating ones.
//
// The truth is in Customer.Truth: λ, p, the mean order value, the
// replenished SKU, whether the customer is still alive at End, and a
// Segment: new (first order in the last NewDays = 56 days), lapsing (left
// within LapsingDays = 180 days), lost (left earlier), loyal (alive, at
// least LoyalOrders = 4 orders), occasional (alive, 2 or 3) and one_time
// (never came back; alive in the BG/NBD sense, most of them too slow to
// tell from gone). With the defaults: about 9% new, 10% lapsing, 16% lost,
// 14% loyal, 18% occasional and 32% one_time; 39% of the customers order
// once, 2.9 orders per customer (about 8,800 orders for 3000 customers).
//
// # Spend (Gamma-Gamma)
//
// A customer's order values are Gamma(P, ν), with ν ~ Gamma(Q, γ) across
// customers (Fader, Hardie & Lee 2005, "RFM and CLV"): P = 6, Q = 3.5,
// γ = 15.8, a mean order of €38 (for a currency with cents; amounts are
// scaled to others' minor units). The value is the budget of a basket
// from the catalogue of eight products (teas, espresso, tea filters, a
// mug, a teapot, a gift box, more popular before Christmas): the
// replenished packs first, then products drawn by popularity while they
// fit. 12% of first orders use the shop's WELCOME10 (10% off) and 15% of
// orders from 15 November to 24 December XMAS15 (15% off); a code's amount
// is its percentage of the lines, and the total is net of it.
//
// # The lifecycle of an order
//
// Each order is one of: refunded in part 3–30 days later (3%: one unit of
// a line, or 20–50% as a goodwill gesture; status stays paid), refunded in
// full 4–30 days later (1%), cancelled 3–48 hours later (1%), created
// pending and paid 20–96 hours later (2%, a bank transfer), or left as it
// is. Independently 0.5% are sent a second time, unchanged, 30 seconds to
// 2 hours later (a Shopify duplicate repeats the delivery's webhook id).
// Each update is a new version of the whole order with a later updated_at.
// MalformedOrders = 10 requests of the JSON API are refused, one each: a
// negative total, an unknown currency, another currency than the shop's,
// an address without a domain, an empty customer id, a created_at without
// offset, an unknown status, a refund above the total, an unknown field,
// JSON cut in half. Updates due after End are kept for PlayForward.
//
// # After the campaign
//
// History.PlayForward continues every customer's process after End and
// adds the campaign's effect: a mailed customer orders because of the
// e-mail with probability Uplift(percent) = 5 points + 0.2 per percent of
// discount (8 points for 15% off), within 14 days (mean 3) of the e-mail;
// a lapsed customer who comes back may stay. The first order of a mailed
// customer in those 14 days carries their coupon with probability 0.9
// when the e-mail caused it and 0.6 when they would have ordered anyway.
// Held-out customers follow their baseline process exactly as if there
// had been no campaign. The shop also keeps acquiring customers at the
// rate just before End (growth and seasons carried on): their number in
// the window is Poisson with that mean (about 150 in four weeks with the
// defaults), each drawn like the history's customers, with fresh ids and
// order numbers after the history's, never a campaign contact.
//
// # Timestamps
//
// Orders are placed at the hours people shop (little at night, a peak at
// lunch and in the evening) in Config.Location, and carry its offset
// ("2025-11-28T20:14:03+01:00"), to the second. Nothing happens after End.
package demoshop
