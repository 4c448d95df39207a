package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/winback/winback/shared/campaign"
)

// testSendingStop: a shop's sending stop reads back as recorded, the
// first of two stops stays (also when they race), it is the shop's only,
// it does not show among the shop's campaigns; lifted (once), it stays
// recorded, its own campaign cannot stop the shop again but another can.
func testSendingStop(t *testing.T, s CampaignStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	other := NewShop(t, s, "UTC")
	if _, err := s.SendingStop(ctx, sh.ID); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("SendingStop of a new shop = %v, want campaign.ErrNotFound", err)
	}
	c := NewCampaign(sh, "2026-11-02", false)
	if _, err := s.BeginCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	stops := []campaign.Stop{
		{CampaignID: "2026-11-02", At: T0, Reason: "6 of 100 e-mails bounced for good",
			Reputation: campaign.Reputation{Mailed: 100, Bounced: 6}},
		{CampaignID: "2026-11-03", At: T0.Add(1), Reason: "2 of 300 readers complained",
			Reputation: campaign.Reputation{Mailed: 300, Complained: 2}},
	}
	var (
		wg       sync.WaitGroup
		got      [2]campaign.Stop
		recorded [2]bool
		errs     [2]error
	)
	for i := range stops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], recorded[i], errs[i] = s.StopSending(ctx, sh.ID, stops[i])
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("StopSending: %v, %v", errs[0], errs[1])
	}
	if recorded[0] == recorded[1] {
		t.Fatalf("StopSending recorded %v and %v: want exactly one", recorded[0], recorded[1])
	}
	first := stops[0]
	if recorded[1] {
		first = stops[1]
	}
	for i := range got {
		if !sameStop(got[i], first) {
			t.Errorf("StopSending %d returned %+v, want the stop in force %+v", i, got[i], first)
		}
	}
	if cur, err := s.SendingStop(ctx, sh.ID); err != nil || !sameStop(cur, first) {
		t.Errorf("SendingStop = %+v, %v; want %+v", cur, err, first)
	}
	if _, err := s.SendingStop(ctx, other.ID); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("another shop's SendingStop = %v, want campaign.ErrNotFound", err)
	}
	if cs, err := s.Campaigns(ctx, sh.ID, 10); err != nil || len(cs) != 1 || cs[0].ID != c.ID {
		t.Errorf("Campaigns with a stop recorded = %+v, %v; want only %s", cs, err, c.ID)
	}
	lifted, err := s.LiftSendingStop(ctx, sh.ID, T0.Add(time.Hour))
	if err != nil || lifted.InForce() || lifted.LiftedAt == nil || !lifted.LiftedAt.Equal(T0.Add(time.Hour)) || lifted.CampaignID != first.CampaignID {
		t.Fatalf("LiftSendingStop = %+v, %v; want the stop, lifted at T0+1h", lifted, err)
	}
	if _, err := s.LiftSendingStop(ctx, sh.ID, T0.Add(2*time.Hour)); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("LiftSendingStop twice = %v, want campaign.ErrNotFound", err)
	}
	if cur, err := s.SendingStop(ctx, sh.ID); err != nil || cur.InForce() || cur.CampaignID != first.CampaignID {
		t.Errorf("SendingStop after the lift = %+v, %v; want the lifted stop", cur, err)
	}
	// The campaign that tripped the lifted stop cannot trip it again.
	same := first
	same.At = T0.Add(3 * time.Hour)
	if cur, ok, err := s.StopSending(ctx, sh.ID, same); err != nil || ok || cur.InForce() {
		t.Errorf("StopSending by the lifted stop's campaign = %+v, %v, %v; want refused, the stop still lifted", cur, ok, err)
	}
	// Another campaign can.
	next := campaign.Stop{CampaignID: "2026-11-09", At: T0.Add(4 * time.Hour), Reason: "7 of 100 e-mails bounced for good",
		Reputation: campaign.Reputation{Mailed: 100, Bounced: 7}}
	again, ok, err := s.StopSending(ctx, sh.ID, next)
	if err != nil || !ok || !sameStop(again, next) || !again.InForce() {
		t.Errorf("StopSending by another campaign after a lift = %+v, %v, %v; want a new stop in force", again, ok, err)
	}
	if cur, err := s.SendingStop(ctx, sh.ID); err != nil || !sameStop(cur, next) || !cur.InForce() {
		t.Errorf("SendingStop = %+v, %v; want %+v in force", cur, err, next)
	}
}

func sameStop(a, b campaign.Stop) bool {
	return a.At.Equal(b.At) && a.CampaignID == b.CampaignID && a.Reason == b.Reason && reflect.DeepEqual(a.Reputation, b.Reputation)
}

// testFeedbackCounts: a recipient's event recorded with NewEvent holds
// once (the second delivery is refused as a state change, the event time
// of the first kept); the campaign's feedback counts add up per kind, read
// back with the campaign, and need a campaign that exists and an event
// they count.
func testFeedbackCounts(t *testing.T, s CampaignStore) {
	ctx := context.Background()
	sh := NewShop(t, s, "UTC")
	c := begin(t, s, NewCampaign(sh, "2026-11-02", false))
	r := NewRecipient(sh, c.ID, "cust-1", "", T0)
	addRecipient(t, s, sh, r)
	bounce := campaign.Change{Event: campaign.EventBounced, EventAt: T0.Add(time.Minute), NewEvent: true}
	if got, err := s.ChangeRecipient(ctx, sh.ID, c.ID, r.SendID, bounce); err != nil || !got.Events[campaign.EventBounced].Equal(T0.Add(time.Minute)) {
		t.Fatalf("first bounce: %+v, %v", got.Events, err)
	}
	again := bounce
	again.EventAt = T0.Add(time.Hour)
	got, err := s.ChangeRecipient(ctx, sh.ID, c.ID, r.SendID, again)
	if !errors.Is(err, campaign.ErrStateChanged) || !got.Events[campaign.EventBounced].Equal(T0.Add(time.Minute)) {
		t.Errorf("the same event again with NewEvent: %+v, %v; want ErrStateChanged and the first kept", got.Events, err)
	}
	again.NewEvent = false
	if _, err := s.ChangeRecipient(ctx, sh.ID, c.ID, r.SendID, again); err != nil {
		t.Errorf("the same event again without NewEvent: %v, want it accepted (idempotent)", err)
	}
	var last campaign.Campaign
	for _, ev := range []string{campaign.EventBounced, campaign.EventComplained, campaign.EventBounced} {
		if last, err = s.CountFeedback(ctx, sh.ID, c.ID, ev); err != nil {
			t.Fatalf("CountFeedback(%s): %v", ev, err)
		}
	}
	want := campaign.Feedback{Bounced: 2, Complained: 1}
	if last.Feedback != want || last.ID != c.ID {
		t.Errorf("CountFeedback returned %+v of %s, want %+v", last.Feedback, last.ID, want)
	}
	if read, err := s.Campaign(ctx, sh.ID, c.ID); err != nil || read.Feedback != want || read.Status != c.Status {
		t.Errorf("Campaign after counting: %+v, %v; want %+v", read.Feedback, err, want)
	}
	if _, err := s.CountFeedback(ctx, sh.ID, "2026-01-01", campaign.EventBounced); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("counting for no campaign: %v, want campaign.ErrNotFound", err)
	}
	if _, err := s.CountFeedback(ctx, sh.ID, c.ID, campaign.EventDelivered); err == nil {
		t.Error("counting a delivery was accepted")
	}
}
