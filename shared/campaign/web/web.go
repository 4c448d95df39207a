// Package web serves a shop's campaigns over HTTP: the campaign list and
// reports (GET /v1/campaigns, GET /v1/campaigns/{id}), the coupon codes a
// shop loads into its store (GET /v1/campaigns/{id}/coupons), all behind
// the shop's API key, and the RFC 8058 one-click unsubscribe page that the
// e-mails link to (GET and POST /v1/unsubscribe/{token}), which needs no
// key: the signed token is the authority.
//
// It writes its few small pages with fmt and html.EscapeString rather
// than html/template, which would add to the api function's binary.
package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/shop"
)

// Store is what the campaign routes read, and what unsubscribing writes.
type Store interface {
	// Campaign and Campaigns read a shop's campaigns (campaign.ErrNotFound).
	Campaign(ctx context.Context, shopID, id string) (campaign.Campaign, error)
	Campaigns(ctx context.Context, shopID string, limit int) ([]campaign.Campaign, error)
	// SendingStop is the safety valve's stop of the shop's sending
	// (campaign.ErrNotFound: never stopped).
	SendingStop(ctx context.Context, shopID string) (campaign.Stop, error)
	// BucketRecipients reads one bucket of a campaign's recipients in
	// send-id order, after afterSendID ("" from the start).
	BucketRecipients(ctx context.Context, shopID, campaignID string, bucket int, afterSendID string, limit int) ([]campaign.Recipient, error)
	// ChangeRecipient changes a recipient conditionally (campaign.ErrNotFound,
	// campaign.ErrStateChanged).
	ChangeRecipient(ctx context.Context, shopID, campaignID, sendID string, ch campaign.Change) (campaign.Recipient, error)
	// Customer reads a customer's summary, for their address (customer.ErrNotFound).
	Customer(ctx context.Context, sh shop.Shop, customerID string) (customer.Summary, error)
	// Suppress records that an address of the shop must not be mailed again;
	// SuppressKey the same for an address known by its key (a recipient's
	// AddressKey).
	Suppress(ctx context.Context, sh shop.Shop, email, reason string) error
	SuppressKey(ctx context.Context, sh shop.Shop, key, reason string) error
	// TokenKeys are the kept keys unsubscribe tokens are signed with,
	// newest first (the first made on first use).
	TokenKeys(ctx context.Context) (campaign.TokenKeys, error)
}

// Deps is what the routes need. Auth authenticates the API key of the
// shop routes and looks up the shop an unsubscribe token names.
type Deps struct {
	Store Store
	Auth  *httpapi.Auth
	// Now stamps the unsubscribe event (nil: time.Now).
	Now func() time.Time
}

// Limits of the listings.
const (
	// MaxCampaigns is the most campaigns GET /v1/campaigns lists (and its default).
	MaxCampaigns = 100
	// MaxCoupons is the most codes a page of GET /v1/campaigns/{id}/coupons
	// holds (and its default).
	MaxCoupons = 1000
	// maxScanned bounds the recipients one coupon page reads, so that a
	// campaign of many recipients without a code cannot make one request
	// read them all: the page is then shorter and carries a cursor.
	maxScanned = 5000
	// scanBatch is how many recipients one store read asks for.
	scanBatch = 1000
)

// Routes registers the routes on m.
func Routes(m *httpapi.Mux, d Deps) {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	h := &handler{store: d.Store, auth: d.Auth, now: now, keys: &campaign.TokenKeyring{Load: d.Store.TokenKeys}}
	auth := d.Auth.RequireKey
	m.Handle("GET /v1/campaigns", auth(http.HandlerFunc(h.listCampaigns)))
	m.Handle("GET /v1/campaigns/{id}", auth(http.HandlerFunc(h.getCampaign)))
	m.Handle("GET /v1/campaigns/{id}/coupons", auth(http.HandlerFunc(h.listCoupons)))
	m.HandleFunc("GET /v1/unsubscribe/{token}", h.confirmPage)
	m.HandleFunc("POST /v1/unsubscribe/{token}", h.unsubscribe)
}

type handler struct {
	store Store
	auth  *httpapi.Auth
	now   func() time.Time
	// keys verify unsubscribe tokens (kept campaign.TokenKeyTTL).
	keys *campaign.TokenKeyring
}

// ListView is GET /v1/campaigns: the shop's campaigns, newest first.
type ListView struct {
	Campaigns []ItemView `json:"campaigns"`
	// SendingStopped is the safety valve's stop of the shop's sending
	// while it is in force (absent otherwise): no campaign runs until an
	// operator lifts it.
	SendingStopped *campaign.Stop `json:"sending_stopped,omitempty"`
}

// ItemView is one campaign of the list, with the headline figures of its
// latest measurement (null before the first).
type ItemView struct {
	CampaignID   string          `json:"campaign_id"`
	AsOf         string          `json:"as_of"`
	Status       campaign.Status `json:"status"`
	DryRun       bool            `json:"dry_run"`
	CreatedAt    time.Time       `json:"created_at"`
	PausedReason string          `json:"paused_reason,omitempty"`
	Summary      *SummaryView    `json:"summary"`
}

// SummaryView is a campaign measurement in brief: who was selected, held
// out and mailed, how many of each group converted, and the uplift.
type SummaryView struct {
	MeasuredAt       time.Time         `json:"measured_at"`
	Selected         int               `json:"selected"`
	Holdout          int               `json:"holdout"`
	Mailed           int               `json:"mailed"`
	MailedConverted  int               `json:"mailed_converted"`
	HoldoutConverted int               `json:"holdout_converted"`
	Uplift           campaign.Interval `json:"uplift"`
}

// DetailView is GET /v1/campaigns/{id}: the campaign, the settings it runs
// with, and its latest measurement (null before the first).
type DetailView struct {
	ShopID       string            `json:"shop_id"`
	CampaignID   string            `json:"campaign_id"`
	AsOf         string            `json:"as_of"`
	Status       campaign.Status   `json:"status"`
	DryRun       bool              `json:"dry_run"`
	CreatedAt    time.Time         `json:"created_at"`
	PausedReason string            `json:"paused_reason,omitempty"`
	Settings     campaign.Settings `json:"settings"`
	Report       *campaign.Report  `json:"report"`
}

// CouponsView is GET /v1/campaigns/{id}/coupons: a page of the campaign's
// coupon codes and, unless it is the last, the cursor of the next page.
type CouponsView struct {
	Coupons    []CouponView `json:"coupons"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// CouponView is one recipient's code: whose, how much off, the last day
// it is valid, and where the recipient's e-mail is.
type CouponView struct {
	Code       string         `json:"code"`
	CustomerID string         `json:"customer_id"`
	Percent    int            `json:"percent"`
	ExpiresOn  string         `json:"expires_on"`
	Group      campaign.Group `json:"group"`
	State      campaign.State `json:"state"`
}

func (h *handler) listCampaigns(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sh, _ := httpapi.ShopFrom(ctx)
	q, p := queryParams(r, "limit")
	if p != nil {
		p.Write(w)
		return
	}
	limit, p := intParam(q, "limit", MaxCampaigns, 1, MaxCampaigns)
	if p != nil {
		p.Write(w)
		return
	}
	cs, err := h.store.Campaigns(ctx, sh.ID, limit)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	v := ListView{Campaigns: make([]ItemView, 0, len(cs))}
	switch stop, err := h.store.SendingStop(ctx, sh.ID); {
	case err == nil && stop.InForce():
		v.SendingStopped = &stop
	case err != nil && !errors.Is(err, campaign.ErrNotFound):
		httpapi.WriteError(w, r, err)
		return
	}
	for _, c := range cs {
		item := ItemView{CampaignID: c.ID, AsOf: c.AsOf, Status: c.Status, DryRun: c.DryRun, CreatedAt: c.CreatedAt, PausedReason: c.PausedReason}
		if rep := c.Report; rep != nil {
			item.Summary = &SummaryView{
				MeasuredAt: rep.MeasuredAt, Selected: rep.Selected, Holdout: rep.Holdout, Mailed: rep.Mailed,
				MailedConverted: rep.MailedGroup.Converted, HoldoutConverted: rep.HoldoutGroup.Converted, Uplift: rep.Uplift,
			}
		}
		v.Campaigns = append(v.Campaigns, item)
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
}

func (h *handler) getCampaign(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sh, _ := httpapi.ShopFrom(ctx)
	if p := noQuery(r); p != nil {
		p.Write(w)
		return
	}
	c, err := h.campaign(ctx, sh.ID, r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, DetailView{
		ShopID: c.ShopID, CampaignID: c.ID, AsOf: c.AsOf, Status: c.Status, DryRun: c.DryRun, CreatedAt: c.CreatedAt,
		PausedReason: c.PausedReason, Settings: c.Settings, Report: c.Report,
	})
}

func (h *handler) listCoupons(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sh, _ := httpapi.ShopFrom(ctx)
	q, p := queryParams(r, "limit", "cursor")
	if p != nil {
		p.Write(w)
		return
	}
	limit, p := intParam(q, "limit", MaxCoupons, 1, MaxCoupons)
	if p != nil {
		p.Write(w)
		return
	}
	var at position
	if c := q.Get("cursor"); c != "" {
		var err error
		if at, err = decodeCursor(c); err != nil {
			badParam("cursor", "is not a cursor this listing returned").Write(w)
			return
		}
	}
	c, err := h.campaign(ctx, sh.ID, r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	v, err := h.coupons(ctx, sh.ID, c.ID, at, limit)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
}

// coupons reads a page of a campaign's codes from at: the recipients of
// bucket after bucket, keeping those with a code, until limit codes are
// found, every bucket is read, or maxScanned recipients were read.
func (h *handler) coupons(ctx context.Context, shopID, campaignID string, at position, limit int) (CouponsView, error) {
	v := CouponsView{Coupons: []CouponView{}}
	scanned := 0
	for at.bucket < campaign.Buckets {
		if len(v.Coupons) == limit || scanned >= maxScanned {
			v.NextCursor = encodeCursor(at)
			return v, nil
		}
		n := min(scanBatch, maxScanned-scanned)
		rs, err := h.store.BucketRecipients(ctx, shopID, campaignID, at.bucket, at.after, n)
		if err != nil {
			return CouponsView{}, err
		}
		read := 0
		for _, rc := range rs {
			read++
			at.after = rc.SendID
			if rc.Coupon != "" {
				v.Coupons = append(v.Coupons, CouponView{Code: rc.Coupon, CustomerID: rc.CustomerID, Percent: rc.Percent,
					ExpiresOn: rc.ExpiresOn, Group: rc.Group, State: rc.State})
				if len(v.Coupons) == limit {
					break
				}
			}
		}
		scanned += read
		if read == len(rs) && len(rs) < n { // the bucket is read to its end
			at = position{bucket: at.bucket + 1}
		}
	}
	return v, nil
}

// campaign reads a campaign of the shop, after checking that id can be a
// campaign's: a malformed id is not found without a read.
func (h *handler) campaign(ctx context.Context, shopID, id string) (campaign.Campaign, error) {
	if !ValidCampaignID(id) {
		return campaign.Campaign{}, campaign.ErrNotFound
	}
	return h.store.Campaign(ctx, shopID, id)
}

// ValidCampaignID reports whether id is a campaign's: an as-of day
// (YYYY-MM-DD), followed by campaign.DrySuffix for a dry run.
func ValidCampaignID(id string) bool {
	day, rest := id, ""
	if len(id) > len(time.DateOnly) {
		day, rest = id[:len(time.DateOnly)], id[len(time.DateOnly):]
	}
	if rest != "" && rest != campaign.DrySuffix {
		return false
	}
	d, err := time.Parse(time.DateOnly, day)
	return err == nil && d.Format(time.DateOnly) == day
}

// writeError answers a campaign lookup's error: an unknown campaign (or
// another shop's) is a 404 that says only that.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, campaign.ErrNotFound) {
		httpapi.NewProblem(http.StatusNotFound, "no campaign with that id in this shop").Write(w)
		return
	}
	httpapi.WriteError(w, r, err)
}
