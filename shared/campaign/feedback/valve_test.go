package feedback_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/feedback"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store/memstore"
)

// TestLiveSafetyValve: while a campaign of 100 planned e-mails sends,
// SES's events count towards the safety valve as they arrive: four hard
// bounces and any number of soft ones, deliveries and repeated deliveries
// of one event do not stop the shop; the fifth hard bounce (5%) stops it
// and pauses the campaign saying why. One complaint in 100 does too.
func TestLiveSafetyValve(t *testing.T) {
	const camp = "2026-11-01"
	for _, b := range backends {
		for _, tc := range []struct {
			name   string
			kind   string
			before int // events that must not trip
		}{
			{"hard bounces", feedback.TypeBounce, 4},
			{"complaints", feedback.TypeComplaint, 0},
		} {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				ctx := context.Background()
				st := b.open(t)
				sh := newShop(t, st, shop.NewID())
				for i := range 10 {
					addRecipient(t, st, sh, camp, fmt.Sprintf("c%d", i), campaign.StateSent, fmt.Sprintf("m-%d", i))
				}
				// The first measurement: 100 e-mails to send.
				rep := campaign.Report{CampaignID: camp, MailedGroup: campaign.GroupResult{Customers: 100}}
				if err := st.(interface {
					PutCampaignReport(ctx context.Context, shopID, id string, r campaign.Report) error
				}).PutCampaignReport(ctx, sh.ID, camp, rep); err != nil {
					t.Fatal(err)
				}
				logs := &logBuffer{}
				h := newHandler(st, logs)
				send := func(kind string, i int, edit func(*feedback.Record)) {
					t.Helper()
					tags := map[string][]string{feedback.TagCampaign: {camp}, feedback.TagSendID: {campaign.SendID(camp, fmt.Sprintf("c%d", i))}}
					if err := h.Handle(ctx, event(kind, sh.ID, tags, fmt.Sprintf("m-%d", i), []string{fmt.Sprintf("c%d@example.com", i)}, edit)); err != nil {
						t.Fatal(err)
					}
				}
				stopped := func() bool {
					t.Helper()
					stop, err := st.(interface {
						SendingStop(ctx context.Context, shopID string) (campaign.Stop, error)
					}).SendingStop(ctx, sh.ID)
					if err != nil && !errors.Is(err, campaign.ErrNotFound) {
						t.Fatal(err)
					}
					return stop.InForce()
				}
				soft := func(r *feedback.Record) { r.Bounce.BounceType = "Transient" }
				for i := range 9 {
					send(feedback.TypeDelivery, i, nil)
					send(feedback.TypeBounce, i, soft)
				}
				for i := range tc.before {
					for range 3 { // SES and Lambda may deliver an event more than once
						send(tc.kind, i, nil)
					}
				}
				if stopped() {
					t.Fatalf("stopped after %d %s (each delivered three times) of 100 and soft bounces", tc.before, tc.name)
				}
				send(tc.kind, tc.before, nil)
				if !stopped() {
					t.Fatalf("not stopped after %d %s of 100", tc.before+1, tc.name)
				}
				c, err := st.(interface {
					Campaign(ctx context.Context, shopID, id string) (campaign.Campaign, error)
				}).Campaign(ctx, sh.ID, camp)
				if err != nil || c.Status != campaign.StatusPaused || !strings.HasPrefix(c.PausedReason, campaign.PausedBySafetyValve) {
					t.Errorf("campaign %s %q, %v; want paused by the safety valve", c.Status, c.PausedReason, err)
				}
				want := campaign.Feedback{Bounced: tc.before + 1}
				if tc.kind == feedback.TypeComplaint {
					want = campaign.Feedback{Complained: 1}
				}
				if c.Feedback != want {
					t.Errorf("feedback counted %+v, want %+v", c.Feedback, want)
				}
				if !strings.Contains(logs.String(), campaign.MetricSendingStopped) {
					t.Errorf("no %s metric in the log", campaign.MetricSendingStopped)
				}
				noAddresses(t, logs)
			})
		}
	}
}

// failingCount is the in-memory store whose CountFeedback fails once.
type failingCount struct {
	*memstore.Store
	failed bool
}

func (f *failingCount) CountFeedback(ctx context.Context, shopID, campaignID, event string) (campaign.Campaign, error) {
	if !f.failed {
		f.failed = true
		return campaign.Campaign{}, errDown
	}
	return f.Store.CountFeedback(ctx, shopID, campaignID, event)
}

// TestLiveValveEdges: a complaint about a campaign that can no longer
// send (begun longer ago than campaign.SendingWindow) does not stop the
// shop however it counts; and when counting fails after the recipient
// recorded the event, Lambda's retry, which counts nothing, still judges
// the campaign.
func TestLiveValveEdges(t *testing.T) {
	const camp = "2026-11-01"
	ctx := context.Background()
	setup := func(t *testing.T) (*memstore.Store, shop.Shop) {
		ms := memstore.New()
		sh := newShop(t, ms, shop.NewID())
		addRecipient(t, ms, sh, camp, "c0", campaign.StateSent, "m-0")
		if _, err := ms.SetCampaignStatus(ctx, sh.ID, camp, nil, campaign.StatusSending, ""); err != nil {
			t.Fatal(err)
		}
		rep := campaign.Report{CampaignID: camp, MailedGroup: campaign.GroupResult{Customers: 100}}
		if err := ms.PutCampaignReport(ctx, sh.ID, camp, rep); err != nil {
			t.Fatal(err)
		}
		return ms, sh
	}
	complaint := func(sh shop.Shop) events.EventBridgeEvent {
		tags := map[string][]string{feedback.TagCampaign: {camp}, feedback.TagSendID: {campaign.SendID(camp, "c0")}}
		return event(feedback.TypeComplaint, sh.ID, tags, "m-0", []string{"c0@example.com"}, nil)
	}
	stopped := func(ms *memstore.Store, sh shop.Shop) bool {
		stop, _ := ms.SendingStop(ctx, sh.ID)
		return stop.InForce()
	}

	t.Run("old campaign", func(t *testing.T) {
		ms, sh := setup(t)
		h := newHandler(ms, &logBuffer{})
		// The campaign began (addRecipient: two days before now); the
		// complaint arrives long after it could send.
		h.Now = func() time.Time { return now.Add(campaign.SendingWindow) }
		if err := h.Handle(ctx, complaint(sh)); err != nil {
			t.Fatal(err)
		}
		if stopped(ms, sh) {
			t.Error("a complaint about a campaign past its sending window stopped the shop")
		}
		if c, _ := ms.Campaign(ctx, sh.ID, camp); c.Feedback.Complained != 1 {
			t.Errorf("the complaint was not counted: %+v", c.Feedback)
		}
	})
	t.Run("retry after a failed count", func(t *testing.T) {
		ms, sh := setup(t)
		fs := &failingCount{Store: ms}
		h := newHandler(fs, &logBuffer{})
		if err := h.Handle(ctx, complaint(sh)); err == nil {
			t.Fatal("a failed count did not fail the invocation")
		}
		if stopped(ms, sh) {
			t.Fatal("stopped although the count failed")
		}
		// The retry: the recipient has the complaint already. Count it
		// (as the failed attempt would have) and redeliver.
		if _, err := ms.CountFeedback(ctx, sh.ID, camp, campaign.EventComplained); err != nil {
			t.Fatal(err)
		}
		if err := h.Handle(ctx, complaint(sh)); err != nil {
			t.Fatal(err)
		}
		if !stopped(ms, sh) {
			t.Error("the retry did not judge the campaign: the shop is not stopped")
		}
		if c, _ := ms.Campaign(ctx, sh.ID, camp); c.Feedback.Complained != 1 {
			t.Errorf("the retry counted again: %+v", c.Feedback)
		}
	})
}
