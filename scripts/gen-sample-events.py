#!/usr/bin/env python3
# Regenerates the sample API Gateway HTTP API (payload 2.0) events in events/
# for the sample shop that shared/ingest's tests provision, with valid
# Shopify signatures (except the bad-signature sample). The key and secret
# below are test fixtures, not credentials.
import base64, hashlib, hmac, json, os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'events')
KEY = 'wbk_sampleevents0001_sample-events-secret-not-for-production-use'
SHOP = 'shop_sampleevent'
WHSEC = 'whsec-sample-events-only'
HOST = 'a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com'


def event(route, path, body, headers, query='', b64=False, reqid='Kx1Ab2Cd3EfGhIj=', epoch=1793614503000, method='POST'):
    h = {"accept": "*/*", "content-length": str(len(body.encode())), "host": HOST, "user-agent": "curl/8.5.0",
         "x-amzn-trace-id": "Root=1-6726f1a7-3c1e5b2a4d6f8e9a0b1c2d3e", "x-forwarded-for": "203.0.113.10",
         "x-forwarded-port": "443", "x-forwarded-proto": "https"}
    h.update(headers)
    ev = {"version": "2.0", "routeKey": route, "rawPath": path, "rawQueryString": query, "headers": dict(sorted(h.items()))}
    if query:
        ev["queryStringParameters"] = dict(kv.split('=', 1) for kv in query.split('&'))
    ev["requestContext"] = {"accountId": "123456789012", "apiId": "a1b2c3d4e5", "domainName": HOST, "domainPrefix": "a1b2c3d4e5",
                            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "curl/8.5.0"},
                            "requestId": reqid, "routeKey": route, "stage": "$default", "time": "02/Nov/2026:10:15:03 +0000", "timeEpoch": epoch}
    if b64:
        ev["body"] = base64.b64encode(body.encode()).decode()
        ev["isBase64Encoded"] = True
    else:
        ev["body"] = body
        ev["isBase64Encoded"] = False
    return ev


def write(name, ev):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(ev, f, indent=2)
        f.write('\n')


auth = {"authorization": "Bearer " + KEY, "content-type": "application/json"}
R = 'POST /v1/orders'
o1 = {"order_id": "1001", "customer": {"id": "cust-42", "email": "ada@example.com", "first_name": "Ada", "accepts_marketing": True},
      "created_at": "2026-10-02T10:15:00Z", "currency": "USD", "total": "59.90", "status": "paid",
      "line_items": [{"sku": "MUG-BLUE", "title": "Enamel mug, blue", "quantity": 2, "price": "24.95"},
                     {"sku": "SHIP", "title": "Shipping", "quantity": 1, "price": "10.00"}]}
# The order redeemed a campaign coupon (a code alone: the amount is optional).
o1d = dict(o1, discount_codes=["wb-7kq2-m9xd"])
write('apigw/orders-create-single.json', event(R, '/v1/orders', json.dumps(o1d), auth))
o1r = dict(o1d, status="refunded", updated_at="2026-10-09T08:00:00Z")
write('apigw/orders-refund.json', event(R, '/v1/orders', json.dumps(o1r), auth, reqid='Kx1Ab2Cd3EfGhIk='))
o1c = dict(o1, customer=dict(o1["customer"], id="cust-99"))
write('apigw/orders-conflict.json', event(R, '/v1/orders', json.dumps(o1c), auth, reqid='Kx1Ab2Cd3EfGhIl='))
batch = {"orders": [
    {"order_id": "1002", "customer": {"id": "cust-7", "email": "grace@example.com", "first_name": "Grace", "accepts_marketing": False},
     "created_at": "2026-09-14T18:02:11+02:00", "currency": "USD", "total": 120, "status": "paid",
     "line_items": [{"sku": "TEA-SET", "title": "Tea set", "quantity": 1, "price": 120}]},
    {"order_id": "1003", "customer": {"id": "cust-7", "email": "grace@example.com", "first_name": "Grace", "accepts_marketing": True},
     "created_at": "2026-10-20T09:00:00+02:00", "currency": "USD", "total": "35.50", "status": "paid",
     "line_items": [{"sku": "TEA-GREEN", "title": "Green tea, 250 g", "quantity": 2, "price": "17.75"}]},
    {"order_id": "1004", "customer": {"id": "cust-8", "email": "not-an-email", "first_name": "Linus"},
     "created_at": "2026-10-21T09:00:00Z", "currency": "USD", "total": "-5.00", "status": "paid"}]}
write('apigw/orders-batch-mixed.json', event(R, '/v1/orders', json.dumps(batch), auth, reqid='Kx1Ab2Cd3EfGhIm='))
write('apigw/orders-base64-body.json', event(R, '/v1/orders', json.dumps(dict(o1, order_id="1005", total="12.00", line_items=[])), auth, b64=True, reqid='Kx1Ab2Cd3EfGhIn='))
write('apigw/orders-malformed-json.json', event(R, '/v1/orders', '{"order_id": "1006", "customer": {', auth, reqid='Kx1Ab2Cd3EfGhIo='))
write('apigw/orders-missing-key.json', event(R, '/v1/orders', json.dumps(o1), {"content-type": "application/json"}, reqid='Kx1Ab2Cd3EfGhIp='))
write('apigw/orders-wrong-key.json', event(R, '/v1/orders', json.dumps(o1),
                                           {"authorization": "Bearer wbk_sampleevents0001_this-is-not-the-right-secret-at-all", "content-type": "application/json"}, reqid='Kx1Ab2Cd3EfGhIq='))
write('apigw/orders-wrong-content-type.json', event(R, '/v1/orders', 'order_id=1001&total=59.90',
                                                    {"authorization": "Bearer " + KEY, "content-type": "application/x-www-form-urlencoded"}, reqid='Kx1Ab2Cd3EfGhIr='))
bad = {"order_id": "", "customer": {"id": "cust-1", "email": "x@@example"}, "created_at": "2099-01-01T00:00:00Z", "currency": "XXY", "total": "-1", "status": "shipped"}
write('apigw/orders-invalid.json', event(R, '/v1/orders', json.dumps(bad), auth, reqid='Kx1Ab2Cd3EfGhIs='))


def shopify_body(fin='paid', updated='2026-10-03T12:00:00-04:00', refunds=None, cancelled=None):
    return {"id": 820982911946154508, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508", "name": "#9999",
            "email": "jon@example.com", "contact_email": "jon@example.com", "created_at": "2026-10-03T11:59:02-04:00", "updated_at": updated,
            "cancelled_at": cancelled, "currency": "USD", "presentment_currency": "USD", "financial_status": fin, "buyer_accepts_marketing": True,
            "total_price": "199.00", "subtotal_price": "189.00", "total_discounts": "21.00", "total_tax": "0.00", "test": False,
            "discount_codes": [{"code": "WB-7KQ2-M9XD", "amount": "21.00", "type": "percentage"}],
            "customer": {"id": 115310627314723954, "email": "jon@example.com", "first_name": "Jon", "last_name": "Snow", "accepts_marketing": False,
                         "email_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": "2026-10-03T11:59:02-04:00"}},
            "billing_address": {"first_name": "Jon", "last_name": "Snow", "city": "Ottawa", "country": "Canada"},
            "line_items": [{"id": 866550311766439020, "product_id": 632910392, "variant_id": 808950810, "sku": "IPOD2008BLACK",
                            "title": "IPod Nano - 8GB", "name": "IPod Nano - 8GB - black", "quantity": 1, "price": "210.00"}],
            "refunds": refunds or []}


def shopify_event(name, body, topic='orders/create', secret=WHSEC, whid='b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', reqid='Sh1Ab2Cd3EfGhIj='):
    raw = json.dumps(body)
    sig = base64.b64encode(hmac.new(secret.encode(), raw.encode(), hashlib.sha256).digest()).decode()
    h = {"content-type": "application/json", "user-agent": "Shopify-Captain-Hook", "x-shopify-api-version": "2025-10",
         "x-shopify-hmac-sha256": sig, "x-shopify-shop-domain": "sample-events.myshopify.com", "x-shopify-topic": topic,
         "x-shopify-triggered-at": "2026-10-03T15:59:03.123Z", "x-shopify-webhook-id": whid}
    ev = event('POST /v1/webhooks/shopify/orders', '/v1/webhooks/shopify/orders', raw, h, query='shop=' + SHOP, reqid=reqid)
    ev["headers"]["user-agent"] = "Shopify-Captain-Hook"
    ev["requestContext"]["http"]["userAgent"] = "Shopify-Captain-Hook"
    write('shopify/' + name, ev)


shopify_event('orders-create.json', shopify_body())
shopify_event('orders-create-redelivered.json', shopify_body(), reqid='Sh1Ab2Cd3EfGhIk=')
refund = [{"id": 509562969, "created_at": "2026-10-05T10:00:00-04:00",
           "transactions": [{"id": 389404469, "kind": "refund", "status": "success", "amount": "41.00", "currency": "USD"}]}]
shopify_event('orders-updated-partial-refund.json', shopify_body('partially_refunded', '2026-10-05T10:00:01-04:00', refund),
              topic='orders/updated', whid='0a6f2e57-7f6e-4c55-9a44-2d3b1c0e9f11', reqid='Sh1Ab2Cd3EfGhIl=')
shopify_event('orders-create-bad-signature.json', shopify_body(), secret='not-the-shop-secret',
              whid='c0ffee00-0000-4000-8000-000000000001', reqid='Sh1Ab2Cd3EfGhIm=')
