package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/winback/winback/shared/campaign"
)

// StopSending stops the shop's sending with stop, unless a stop is in
// force or the last stop, lifted, was tripped by the same campaign; it
// returns the shop's stop after the call and whether this call recorded it.
func (m *Store) StopSending(ctx context.Context, shopID string, stop campaign.Stop) (campaign.Stop, bool, error) {
	if err := ctx.Err(); err != nil {
		return campaign.Stop{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.stops[shopID]; ok && (cur.InForce() || cur.CampaignID == stop.CampaignID) {
		return cur, false, nil
	}
	if m.stops == nil {
		m.stops = map[string]campaign.Stop{}
	}
	stop.At = stop.At.UTC()
	stop.LiftedAt = nil
	m.stops[shopID] = stop
	return stop, true, nil
}

// SendingStop returns the shop's last stop, in force or lifted, or
// campaign.ErrNotFound when it was never stopped.
func (m *Store) SendingStop(ctx context.Context, shopID string) (campaign.Stop, error) {
	if err := ctx.Err(); err != nil {
		return campaign.Stop{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.stops[shopID]; ok {
		return cur, nil
	}
	return campaign.Stop{}, campaign.ErrNotFound
}

// LiftSendingStop lifts the stop in force on the shop's sending and
// returns it as lifted: campaign.ErrNotFound when none is in force.
func (m *Store) LiftSendingStop(ctx context.Context, shopID string, at time.Time) (campaign.Stop, error) {
	if err := ctx.Err(); err != nil {
		return campaign.Stop{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.stops[shopID]
	if !ok || !cur.InForce() {
		return cur, campaign.ErrNotFound
	}
	at = at.UTC()
	cur.LiftedAt = &at
	m.stops[shopID] = cur
	return cur, nil
}

// CountFeedback adds one to the campaign's count of hard bounces or
// complaints and returns the campaign as counted.
func (m *Store) CountFeedback(ctx context.Context, shopID, campaignID, event string) (campaign.Campaign, error) {
	if err := ctx.Err(); err != nil {
		return campaign.Campaign{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sc, ok := m.campaigns[shopID][campaignID]
	if !ok {
		return campaign.Campaign{}, fmt.Errorf("campaign %s of shop %s: %w", campaignID, shopID, campaign.ErrNotFound)
	}
	switch event {
	case campaign.EventBounced:
		sc.c.Feedback.Bounced++
	case campaign.EventComplained:
		sc.c.Feedback.Complained++
	default:
		return campaign.Campaign{}, fmt.Errorf("count feedback: %q is not a hard bounce or a complaint", event)
	}
	m.campaigns[shopID][campaignID] = sc
	return sc.campaign()
}
