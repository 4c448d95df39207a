// Package valve applies the safety valve's decision (campaign.Reputation,
// shared/campaign/RULES.md "Safety valve") to a store: it stops a shop's
// sending, says so once in the log, and pauses the campaigns still
// sending. The runner (each night) and the feedback handler (while a
// campaign sends) trip it; the runner and the sender read it.
package valve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/winback/winback/shared/campaign"
)

// Reader reads a shop's stop (campaign.ErrNotFound: never stopped).
type Reader interface {
	SendingStop(ctx context.Context, shopID string) (campaign.Stop, error)
}

// Store is what the valve reads and writes (store.Store, memstore.Store).
type Store interface {
	Reader
	StopSending(ctx context.Context, shopID string, stop campaign.Stop) (campaign.Stop, bool, error)
	SetCampaignStatus(ctx context.Context, shopID, id string, from []campaign.Status, to campaign.Status, reason string) (campaign.Campaign, error)
}

// Current is the shop's stop, in force or lifted; zero when the shop was
// never stopped.
func Current(ctx context.Context, st Reader, shopID string) (campaign.Stop, error) {
	stop, err := st.SendingStop(ctx, shopID)
	if errors.Is(err, campaign.ErrNotFound) {
		return campaign.Stop{}, nil
	}
	if err != nil {
		return campaign.Stop{}, fmt.Errorf("shop %s: read the safety valve: %w", shopID, err)
	}
	return stop, nil
}

// Judge trips the valve when rep, campaign c's figures, reach a review
// level: it records the stop (unless one is in force, or an operator
// lifted one tripped by c or by a later campaign), logs the SendingStopped metric when it
// recorded it, and pauses the campaigns of pause that are selecting or
// sending and still within campaign.SendingWindow. It returns the shop's
// stop after it (zero when never stopped).
func Judge(ctx context.Context, st Store, log *slog.Logger, c campaign.Campaign, rep campaign.Reputation, now time.Time, pause []campaign.Campaign) (campaign.Stop, error) {
	reason, trips := rep.Trips()
	cur, err := Current(ctx, st, c.ShopID)
	if err != nil || !trips || c.DryRun || cur.InForce() {
		return cur, err
	}
	if cur.CampaignID > c.ID {
		// A later campaign's stop was lifted: an earlier campaign's late
		// figures do not stop the shop again (campaign ids are days).
		return cur, nil
	}
	stop, recorded, err := st.StopSending(ctx, c.ShopID, campaign.Stop{CampaignID: c.ID, At: now.UTC(), Reason: reason, Reputation: rep})
	if err != nil {
		return campaign.Stop{}, fmt.Errorf("campaign %s of shop %s: stop sending: %w", c.ID, c.ShopID, err)
	}
	if !stop.InForce() {
		return stop, nil // lifted by an operator who knew this campaign's figures
	}
	if recorded {
		log.ErrorContext(ctx, "safety valve: the shop's sending is stopped", slog.String("outcome", "stopped"),
			slog.String("shop_id", c.ShopID), slog.String("campaign_id", c.ID), slog.String("reason", reason),
			slog.Int("mailed", rep.Mailed), slog.Int("bounced", rep.Bounced), slog.Int("complained", rep.Complained),
			slog.String("winback_metric", campaign.MetricSendingStopped))
	}
	for _, p := range pause {
		// A real campaign stays "sending" once sent: only those that can
		// still send are paused (and resumed after a lift).
		if p.DryRun || p.Status != campaign.StatusSelecting && p.Status != campaign.StatusSending || now.Sub(p.CreatedAt) > campaign.SendingWindow {
			continue
		}
		_, err := st.SetCampaignStatus(ctx, p.ShopID, p.ID, []campaign.Status{campaign.StatusSelecting, campaign.StatusSending},
			campaign.StatusPaused, campaign.PausedBySafetyValve+stop.Reason)
		if err != nil && !errors.Is(err, campaign.ErrStateChanged) {
			return stop, fmt.Errorf("campaign %s of shop %s: pause: %w", p.ID, p.ShopID, err)
		}
	}
	return stop, nil
}
