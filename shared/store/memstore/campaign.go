package memstore

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/shop"
)

// campaignData holds what the campaign pipeline stores, as store.Store
// keeps it. Configurations, settings and reports are kept as the JSON the
// DynamoDB store writes, so they read back exactly as there.
type campaignData struct {
	configs    map[string][]byte                        // shop id → campaign.Config as JSON
	tokenKeys  []campaign.TokenKey                      // newest first; none until first asked for (tokenkeys.go)
	campaigns  map[string]map[string]storedCampaign     // shop id → campaign id → campaign
	recipients map[string]map[string]campaign.Recipient // shop id + campaign id → send id → recipient
	coupons    map[string]couponOwner                   // shop id + code → owner
	contacts   map[string]map[string]contact            // shop id → customer id → last contact
}

type storedCampaign struct {
	c        campaign.Campaign // without Settings and Report
	settings []byte
	report   []byte // nil: none
}

type couponOwner struct{ campaignID, customerID, sendID string }

type contact struct {
	at         time.Time
	campaignID string
}

func newCampaigns() campaignData {
	return campaignData{
		configs: map[string][]byte{}, campaigns: map[string]map[string]storedCampaign{},
		recipients: map[string]map[string]campaign.Recipient{}, coupons: map[string]couponOwner{},
		contacts: map[string]map[string]contact{},
	}
}

func pairKey(a, b string) string { return a + "\x00" + b }

// CampaignConfig returns a shop's campaign configuration, or
// campaign.DefaultConfig() when it has stored none.
func (m *Store) CampaignConfig(ctx context.Context, shopID string) (campaign.Config, error) {
	if err := ctx.Err(); err != nil {
		return campaign.Config{}, err
	}
	m.mu.Lock()
	data, ok := m.configs[shopID]
	m.mu.Unlock()
	if !ok {
		return campaign.DefaultConfig(), nil
	}
	var c campaign.Config
	if err := json.Unmarshal(data, &c); err != nil {
		return campaign.Config{}, fmt.Errorf("campaign config of %s: %w", shopID, err)
	}
	return c, nil
}

// PutCampaignConfig replaces a shop's campaign configuration.
func (m *Store) PutCampaignConfig(ctx context.Context, shopID string, c campaign.Config) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode campaign config of %s: %w", shopID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.configs[shopID] = data
	return nil
}

func toStoredCampaign(c campaign.Campaign) (storedCampaign, error) {
	settings, err := json.Marshal(c.Settings)
	if err != nil {
		return storedCampaign{}, fmt.Errorf("encode settings of campaign %s: %w", c.ID, err)
	}
	sc := storedCampaign{settings: settings}
	if c.Report != nil {
		if sc.report, err = json.Marshal(c.Report); err != nil {
			return storedCampaign{}, fmt.Errorf("encode report of campaign %s: %w", c.ID, err)
		}
	}
	c.Settings, c.Report = campaign.Settings{}, nil
	c.CreatedAt = c.CreatedAt.UTC()
	c.Shards = slices.Clone(c.Shards)
	slices.Sort(c.Shards)
	c.Shards = slices.Compact(c.Shards)
	if len(c.Shards) == 0 {
		c.Shards = nil
	}
	sc.c = c
	return sc, nil
}

func (sc storedCampaign) campaign() (campaign.Campaign, error) {
	c := sc.c
	c.Shards = slices.Clone(c.Shards)
	if err := json.Unmarshal(sc.settings, &c.Settings); err != nil {
		return campaign.Campaign{}, fmt.Errorf("campaign %s: settings: %w", c.ID, err)
	}
	if sc.report != nil {
		c.Report = new(campaign.Report)
		if err := json.Unmarshal(sc.report, c.Report); err != nil {
			return campaign.Campaign{}, fmt.Errorf("campaign %s: report: %w", c.ID, err)
		}
	}
	return c, nil
}

// BeginCampaign creates campaign c unless one is stored under its id, and
// returns the stored one.
func (m *Store) BeginCampaign(ctx context.Context, c campaign.Campaign) (campaign.Campaign, error) {
	if err := ctx.Err(); err != nil {
		return campaign.Campaign{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if sc, ok := m.campaigns[c.ShopID][c.ID]; ok {
		return sc.campaign()
	}
	sc, err := toStoredCampaign(c)
	if err != nil {
		return campaign.Campaign{}, err
	}
	if m.campaigns[c.ShopID] == nil {
		m.campaigns[c.ShopID] = map[string]storedCampaign{}
	}
	m.campaigns[c.ShopID][c.ID] = sc
	return sc.campaign()
}

// Campaign returns one campaign (campaign.ErrNotFound if there is none).
func (m *Store) Campaign(ctx context.Context, shopID, id string) (campaign.Campaign, error) {
	if err := ctx.Err(); err != nil {
		return campaign.Campaign{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sc, ok := m.campaigns[shopID][id]
	if !ok {
		return campaign.Campaign{}, fmt.Errorf("campaign %s of %s: %w", id, shopID, campaign.ErrNotFound)
	}
	return sc.campaign()
}

// Campaigns lists a shop's campaigns, newest id first, at most limit of
// them (100 when limit <= 0).
func (m *Store) Campaigns(ctx context.Context, shopID string, limit int) ([]campaign.Campaign, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := slices.Sorted(maps.Keys(m.campaigns[shopID]))
	slices.Reverse(ids)
	out := []campaign.Campaign{}
	for _, id := range ids[:min(limit, len(ids))] {
		c, err := m.campaigns[shopID][id].campaign()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// MarkCampaignShard records that shard n's selection of a campaign is
// complete (once; campaign.ErrNotFound if there is no such campaign).
func (m *Store) MarkCampaignShard(ctx context.Context, shopID, id string, shard int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sc, ok := m.campaigns[shopID][id]
	if !ok {
		return fmt.Errorf("mark shard %d of campaign %s: %w", shard, id, campaign.ErrNotFound)
	}
	if !slices.Contains(sc.c.Shards, shard) {
		sc.c.Shards = append(slices.Clone(sc.c.Shards), shard)
		slices.Sort(sc.c.Shards)
	}
	m.campaigns[shopID][id] = sc
	return nil
}

// SetCampaignStatus moves a campaign from one of the statuses in from
// (any when empty) to status to, with a paused reason ("" clears it), as
// store.Store.SetCampaignStatus does.
func (m *Store) SetCampaignStatus(ctx context.Context, shopID, id string, from []campaign.Status, to campaign.Status, reason string) (campaign.Campaign, error) {
	if err := ctx.Err(); err != nil {
		return campaign.Campaign{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sc, ok := m.campaigns[shopID][id]
	if !ok {
		return campaign.Campaign{}, fmt.Errorf("set status of campaign %s to %s: %w", id, to, campaign.ErrNotFound)
	}
	if len(from) > 0 && !slices.Contains(from, sc.c.Status) {
		c, err := sc.campaign()
		if err != nil {
			return campaign.Campaign{}, err
		}
		return c, fmt.Errorf("set status of campaign %s to %s: %w: campaign %s is %s", id, to, campaign.ErrStateChanged, id, c.Status)
	}
	sc.c.Status, sc.c.PausedReason = to, reason
	m.campaigns[shopID][id] = sc
	return sc.campaign()
}

// PutCampaignReport replaces a campaign's report (campaign.ErrNotFound if
// there is no such campaign).
func (m *Store) PutCampaignReport(ctx context.Context, shopID, id string, r campaign.Report) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode report of campaign %s: %w", id, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sc, ok := m.campaigns[shopID][id]
	if !ok {
		return fmt.Errorf("put report of campaign %s: %w", id, campaign.ErrNotFound)
	}
	sc.report = data
	m.campaigns[shopID][id] = sc
	return nil
}

// AddRecipient records a recipient with its coupon and contact, all or
// nothing, as store.Store.AddRecipient does: (false, nil) when it is
// recorded already, campaign.ErrContacted when the frequency cap refuses
// it, campaign.ErrCouponTaken when its code is taken. A dry run's
// recipient reserves neither its code nor a contact.
func (m *Store) AddRecipient(ctx context.Context, sh shop.Shop, r campaign.Recipient, capSince time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if r.ShopID != sh.ID {
		return false, fmt.Errorf("add recipient %s: of shop %s, not %s", r.SendID, r.ShopID, sh.ID)
	}
	if !campaign.ValidSendID(r.SendID) {
		return false, fmt.Errorf("add recipient %q: not a send id", r.SendID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rk := pairKey(sh.ID, r.CampaignID)
	if _, ok := m.recipients[rk][r.SendID]; ok {
		return false, nil
	}
	reserves := r.State != campaign.StateDryRun
	if reserves {
		if c, ok := m.contacts[sh.ID][r.CustomerID]; ok && !c.at.Before(capSince) && c.campaignID != r.CampaignID {
			return false, fmt.Errorf("add recipient %s of campaign %s (customer %s): %w", r.SendID, r.CampaignID, r.CustomerID, campaign.ErrContacted)
		}
	}
	if reserves && r.Coupon != "" {
		if _, ok := m.coupons[pairKey(sh.ID, r.Coupon)]; ok {
			return false, fmt.Errorf("add recipient %s of campaign %s (customer %s): %w", r.SendID, r.CampaignID, r.CustomerID, campaign.ErrCouponTaken)
		}
		m.coupons[pairKey(sh.ID, r.Coupon)] = couponOwner{campaignID: r.CampaignID, customerID: r.CustomerID, sendID: r.SendID}
	}
	if reserves {
		if m.contacts[sh.ID] == nil {
			m.contacts[sh.ID] = map[string]contact{}
		}
		m.contacts[sh.ID][r.CustomerID] = contact{at: r.SelectedAt.UTC(), campaignID: r.CampaignID}
	}
	if m.recipients[rk] == nil {
		m.recipients[rk] = map[string]campaign.Recipient{}
	}
	m.recipients[rk][r.SendID] = canonicalRecipient(r)
	return true, nil
}

// canonicalRecipient is r as the DynamoDB store reads it back: times in
// UTC, no empty events map, a copy of the events.
func canonicalRecipient(r campaign.Recipient) campaign.Recipient {
	r.SelectedAt, r.ClaimedAt, r.SentAt = utc(r.SelectedAt), utc(r.ClaimedAt), utc(r.SentAt)
	if len(r.Events) == 0 {
		r.Events = nil
	} else {
		ev := make(map[string]time.Time, len(r.Events))
		for k, v := range r.Events {
			ev[k] = utc(v)
		}
		r.Events = ev
	}
	return r
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// Recipient returns one recipient of a campaign (campaign.ErrNotFound if
// there is none).
func (m *Store) Recipient(ctx context.Context, shopID, campaignID, sendID string) (campaign.Recipient, error) {
	if err := ctx.Err(); err != nil {
		return campaign.Recipient{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recipients[pairKey(shopID, campaignID)][sendID]
	if !ok {
		return campaign.Recipient{}, fmt.Errorf("recipient %s of campaign %s: %w", sendID, campaignID, campaign.ErrNotFound)
	}
	return canonicalRecipient(r), nil
}

// sortedRecipients is a copy of a campaign's recipients in bucket, then
// send id order.
func (m *Store) sortedRecipients(shopID, campaignID string) []campaign.Recipient {
	m.mu.Lock()
	defer m.mu.Unlock()
	all := make([]campaign.Recipient, 0, len(m.recipients[pairKey(shopID, campaignID)]))
	for _, r := range m.recipients[pairKey(shopID, campaignID)] {
		all = append(all, canonicalRecipient(r))
	}
	sort.Slice(all, func(i, j int) bool {
		bi, bj := campaign.Bucket(all[i].SendID), campaign.Bucket(all[j].SendID)
		if bi != bj {
			return bi < bj
		}
		return all[i].SendID < all[j].SendID
	})
	return all
}

// Recipients calls fn with every recipient of a campaign in bucket, then
// send id order; fn runs without the store's lock held and its error
// stops the listing.
func (m *Store) Recipients(ctx context.Context, shopID, campaignID string, fn func(campaign.Recipient) error) error {
	for _, r := range m.sortedRecipients(shopID, campaignID) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// BucketRecipients returns one page of a bucket's recipients, as
// store.Store.BucketRecipients does.
func (m *Store) BucketRecipients(ctx context.Context, shopID, campaignID string, bucket int, afterSendID string, limit int) ([]campaign.Recipient, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if bucket < 0 || bucket >= campaign.Buckets {
		return nil, fmt.Errorf("recipients of campaign %s: no bucket %d", campaignID, bucket)
	}
	limit = min(max(limit, 1), 1000)
	out := []campaign.Recipient{}
	for _, r := range m.sortedRecipients(shopID, campaignID) {
		if campaign.Bucket(r.SendID) != bucket || r.SendID <= afterSendID {
			continue
		}
		out = append(out, r)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// ChangeRecipient applies a conditional change (campaign.Change.Apply) to
// one recipient: the changed recipient, or the current one with an error
// wrapping campaign.ErrStateChanged (campaign.ErrNotFound if none).
func (m *Store) ChangeRecipient(ctx context.Context, shopID, campaignID, sendID string, ch campaign.Change) (campaign.Recipient, error) {
	if err := ctx.Err(); err != nil {
		return campaign.Recipient{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.recipients[pairKey(shopID, campaignID)][sendID]
	if !ok {
		return campaign.Recipient{}, fmt.Errorf("recipient %s of campaign %s: %w", sendID, campaignID, campaign.ErrNotFound)
	}
	next, err := ch.Apply(canonicalRecipient(cur))
	if err != nil {
		return canonicalRecipient(cur), err
	}
	next = canonicalRecipient(next)
	m.recipients[pairKey(shopID, campaignID)][sendID] = next
	return canonicalRecipient(next), nil
}

// Contacts calls fn with every contacted customer of shard n of the shop,
// in customer id order, and when a campaign last recorded them.
func (m *Store) Contacts(ctx context.Context, sh shop.Shop, shard int, fn func(customerID string, at time.Time) error) error {
	m.mu.Lock()
	var ids []string
	ats := map[string]time.Time{}
	for id, c := range m.contacts[sh.ID] {
		if sh.Shard(id) == shard {
			ids = append(ids, id)
			ats[id] = c.at
		}
	}
	m.mu.Unlock()
	sort.Strings(ids)
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(id, ats[id]); err != nil {
			return err
		}
	}
	return nil
}

// CouponOwner returns the campaign and customer a coupon code of the shop
// was given to (campaign.ErrNotFound if it is nobody's).
func (m *Store) CouponOwner(ctx context.Context, shopID, code string) (campaignID, customerID string, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.coupons[pairKey(shopID, code)]
	if !ok {
		return "", "", fmt.Errorf("coupon of %s: %w", shopID, campaign.ErrNotFound)
	}
	return o.campaignID, o.customerID, nil
}

// Summaries returns the summaries of the given customers that exist.
func (m *Store) Summaries(ctx context.Context, sh shop.Shop, ids []string) (map[string]customer.Summary, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]customer.Summary, len(ids))
	for _, id := range ids {
		if s, ok := m.summaries[sh.ID][id]; ok {
			out[id] = cloneSummary(s)
		}
	}
	return out, nil
}

// SuppressionList returns a lookup of an address's suppression reason in
// the shop ("" when it may be mailed), as of this call.
func (m *Store) SuppressionList(ctx context.Context, sh shop.Shop) (func(email string) string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.shops[sh.ID]; !ok {
		return nil, fmt.Errorf("shop %s: %w", sh.ID, shop.ErrNotFound)
	}
	reasons := map[string]string{}
	for k, reason := range m.suppressed {
		if shopID, email, _ := strings.Cut(k, "\x00"); shopID == sh.ID {
			reasons[email] = reason
		}
	}
	return func(email string) string { return reasons[normalEmail(email)] }, nil
}

// eraseCampaignTrailLocked removes a customer's contact, recipients and
// their coupons.
func (m *Store) eraseCampaignTrailLocked(shopID, customerID string) {
	delete(m.contacts[shopID], customerID)
	for id := range m.campaigns[shopID] {
		rs := m.recipients[pairKey(shopID, id)]
		sendID := campaign.SendID(id, customerID)
		r, ok := rs[sendID]
		if !ok {
			continue
		}
		// Only the recipient's own code: a dry run's reserved none, and
		// its code may be a real recipient's since.
		if k := pairKey(shopID, r.Coupon); r.Coupon != "" && m.coupons[k].sendID == r.SendID {
			delete(m.coupons, k)
		}
		delete(rs, sendID)
	}
}
