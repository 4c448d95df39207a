// Package memstore is an in-memory store of shops, API keys, orders,
// customer summaries, scores and campaigns with the same methods and behaviour as the DynamoDB
// store (package store), for unit tests of the code that consumes them. The
// same contract tests (package storetest) run against both. It imports no
// AWS SDK.
package memstore

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/capacity"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/shop"
)

// Store keeps everything in maps behind one mutex. The zero value is not
// ready: use New.
type Store struct {
	mu           sync.Mutex
	shops        map[string]shop.Shop
	keys         map[string]apiKey
	orders       map[string]map[string]order.Order      // shop id → order key → order
	summaries    map[string]map[string]customer.Summary // shop id → customer id → summary
	webhooks     map[string]map[string]bool             // shop id → webhook id
	maxOrders    int                                    // 0: no limit
	erased       map[string]bool                        // shop id + customer id
	suppressed   map[string]string                      // shop id + e-mail address → reason
	addressKeys  map[string]string                      // AddressKey → e-mail address
	nightly                                             // runs, results, scores, KPI days (nightly.go)
	campaignData                                        // campaigns, recipients, coupons, contacts (campaign.go)
	stops        map[string]campaign.Stop               // shop id → its sending stopped by the safety valve (valve.go)

	// keyInfo holds the label and creation time of each key CreateAPIKey
	// made, by key id (apikeys.go).
	keyInfo map[string]shop.KeyInfo
}

type apiKey struct{ shopID, hash string }

// New returns an empty store.
func New() *Store {
	return &Store{
		shops:        map[string]shop.Shop{},
		keys:         map[string]apiKey{},
		orders:       map[string]map[string]order.Order{},
		summaries:    map[string]map[string]customer.Summary{},
		webhooks:     map[string]map[string]bool{},
		erased:       map[string]bool{},
		suppressed:   map[string]string{},
		addressKeys:  map[string]string{},
		nightly:      newNightly(),
		campaignData: newCampaigns(),
	}
}

// LimitOrders makes a customer with more than n orders too large: the
// group that would pass the limit is refused with customer.ErrTooLarge,
// as the DynamoDB store refuses a summary over 400 KB (about 16,500
// orders). 0 removes the limit.
func (m *Store) LimitOrders(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.maxOrders = n
}

// PutOrders stores up to customer.MaxGroup orders of one customer, as
// store.Store.PutOrders does; Usage counts one round trip per call.
func (m *Store) PutOrders(ctx context.Context, sh shop.Shop, orders []order.Order, webhookID string) ([]customer.Outcome, capacity.Usage, error) {
	u := capacity.Usage{RoundTrips: 1}
	if err := ctx.Err(); err != nil {
		return nil, u, err
	}
	if err := customer.CheckGroup(orders, webhookID); err != nil {
		return nil, u, fmt.Errorf("put orders: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if webhookID != "" && m.webhooks[sh.ID][webhookID] {
		return []customer.Outcome{{Change: customer.Duplicate}}, u, nil
	}
	all := m.orders[sh.ID]
	sums := m.summaries[sh.ID]
	stored := map[string]order.Order{}
	for _, o := range orders {
		k := customer.OrderKey(o.ID)
		if s, ok := all[k]; ok {
			stored[k] = s
		}
	}
	plan := customer.Fold(stored, sums, orders, sh.Location())
	if len(plan.Dirty) == 0 {
		return plan.Outcomes, u, nil
	}
	for _, k := range plan.Missing() {
		if o, ok := all[k]; ok {
			plan.Complete(o)
		}
	}
	if missing := plan.Missing(); len(missing) > 0 {
		return nil, u, fmt.Errorf("put orders of customer %s: summary names order keys %v that are not stored", orders[0].Customer.ID, missing)
	}
	for id, s := range plan.Summaries {
		if m.maxOrders > 0 && len(s.Orders) > m.maxOrders {
			return nil, u, fmt.Errorf("put orders of customer %s: %d orders, over the limit of %d: %w", id, len(s.Orders), m.maxOrders, customer.ErrTooLarge)
		}
	}
	if all == nil {
		all = map[string]order.Order{}
		m.orders[sh.ID] = all
	}
	if sums == nil {
		sums = map[string]customer.Summary{}
		m.summaries[sh.ID] = sums
	}
	for _, k := range plan.Dirty {
		all[k] = clone(plan.Orders[k])
	}
	for id, s := range plan.Summaries {
		if len(s.Orders) == 0 {
			delete(sums, id)
		} else {
			sums[id] = s
		}
	}
	if webhookID != "" {
		if m.webhooks[sh.ID] == nil {
			m.webhooks[sh.ID] = map[string]bool{}
		}
		m.webhooks[sh.ID][webhookID] = true
	}
	return plan.Outcomes, u, nil
}

// Order returns one stored order (customer.ErrNotFound if there is none).
func (m *Store) Order(ctx context.Context, shopID, orderID string) (order.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[shopID][customer.OrderKey(orderID)]
	if !ok || o.ID != orderID {
		return order.Order{}, fmt.Errorf("order %s: %w", orderID, customer.ErrNotFound)
	}
	return clone(o), nil
}

// Customer returns one customer's summary (customer.ErrNotFound if there
// is none).
func (m *Store) Customer(ctx context.Context, sh shop.Shop, customerID string) (customer.Summary, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.summaries[sh.ID][customerID]
	if !ok {
		return customer.Summary{}, fmt.Errorf("customer %s: %w", customerID, customer.ErrNotFound)
	}
	return cloneSummary(s), nil
}

// Customers calls fn with every customer summary in shard n of shop sh,
// in customer id order, as store.Store.Customers does. fn runs without the
// store's lock held.
func (m *Store) Customers(ctx context.Context, sh shop.Shop, n int, fn func(customer.Summary) error) error {
	m.mu.Lock()
	var shard []customer.Summary
	for id, s := range m.summaries[sh.ID] {
		if sh.Shard(id) == n {
			shard = append(shard, cloneSummary(s))
		}
	}
	m.mu.Unlock()
	sort.Slice(shard, func(i, j int) bool { return shard[i].CustomerID < shard[j].CustomerID })
	for _, s := range shard {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}

// CreateShop stores a new shop and its API key; shop.ErrExists when the
// shop or the key id is already stored, and nothing is written.
func (m *Store) CreateShop(ctx context.Context, sh shop.Shop, cred shop.Credentials) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.shops[sh.ID]; ok {
		return fmt.Errorf("create shop %s: shop %s: %w", sh.ID, sh.ID, shop.ErrExists)
	}
	if _, ok := m.keys[cred.KeyID]; ok {
		return fmt.Errorf("create shop %s: API key %s: %w", sh.ID, cred.KeyID, shop.ErrExists)
	}
	sh.CreatedAt = sh.CreatedAt.UTC() // as the DynamoDB store reads it back
	m.shops[sh.ID] = sh
	m.keys[cred.KeyID] = apiKey{shopID: sh.ID, hash: cred.KeyHash}
	return nil
}

// Shop returns a shop's settings (shop.ErrNotFound if there is none).
func (m *Store) Shop(ctx context.Context, id string) (shop.Shop, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sh, ok := m.shops[id]
	if !ok {
		return shop.Shop{}, fmt.Errorf("shop %s: %w", id, shop.ErrNotFound)
	}
	return sh, nil
}

// APIKey returns the shop id and secret hash of an API key id
// (shop.ErrNotFound if there is none).
func (m *Store) APIKey(ctx context.Context, keyID string) (shopID, secretHash string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[keyID]
	if !ok {
		return "", "", fmt.Errorf("api key: %w", shop.ErrNotFound)
	}
	return k.shopID, k.hash, nil
}

// SetWebhookSecret replaces a shop's webhook secret and, unless
// shopifyDomain is empty, its Shopify domain (shop.ErrNotFound if there is
// no such shop).
func (m *Store) SetWebhookSecret(ctx context.Context, shopID, secret, shopifyDomain string) error {
	if secret == "" {
		return fmt.Errorf("shop %s: empty webhook secret", shopID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sh, ok := m.shops[shopID]
	if !ok {
		return fmt.Errorf("shop %s: %w", shopID, shop.ErrNotFound)
	}
	sh.WebhookSecret = secret
	if shopifyDomain != "" {
		sh.ShopifyDomain = shopifyDomain
	}
	m.shops[shopID] = sh
	return nil
}

// ShopIDs lists every shop's id, in id order.
func (m *Store) ShopIDs(ctx context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.shops))
	for id := range m.shops {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}

// clone copies an order so callers share nothing mutable with the store.
func clone(o order.Order) order.Order {
	o.LineItems = append([]order.LineItem(nil), o.LineItems...)
	if o.DiscountCodes != nil {
		o.DiscountCodes = append([]order.DiscountCode(nil), o.DiscountCodes...)
	}
	return o
}

func cloneSummary(s customer.Summary) customer.Summary {
	orders := make(map[string]customer.Entry, len(s.Orders))
	for k, e := range s.Orders {
		if e.Codes != nil {
			e.Codes = append([]string(nil), e.Codes...)
		}
		orders[k] = e
	}
	s.Orders = orders
	s.LastItems = append([]order.LineItem(nil), s.LastItems...)
	return s
}
