package sender_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/sender"
	"github.com/winback/winback/shared/mail"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/store/memstore"
)

// TestSentEmail checks the e-mail a queued recipient gets and what is
// recorded.
func TestSentEmail(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	f := newFixture(t, st)
	m, custID := f.queued()
	mailer, dl := &fakeMailer{}, &fakeDeadLetters{}
	out, err := f.sender(mailer, dl, t0).Handle(ctx, m)
	if out != sender.OutcomeSent || err != nil {
		t.Fatalf("Handle = %s, %v", out, err)
	}
	emails := mailer.emails()
	if len(emails) != 1 {
		t.Fatalf("%d e-mails", len(emails))
	}
	e := emails[0]
	if e.From != `"Bean & Leaf" <news@beanleaf.example>` || e.To != f.address(custID) {
		t.Errorf("from %q to %q", e.From, e.To)
	}
	r := f.get(m)
	if r.State != campaign.StateSent || r.MessageID != "0100-fake-0" || !r.SentAt.Equal(t0) || r.ClaimID == "" || !r.ClaimedAt.Equal(t0) {
		t.Errorf("recorded %+v", r)
	}
	// The claim recorded the mailed address's key, for the unsubscribe.
	if key, _ := st.AddressKey(ctx, f.sh, f.address(custID)); r.AddressKey == "" || r.AddressKey != key {
		t.Errorf("recorded address key %q, want %q", r.AddressKey, key)
	}
	if e.Subject != "Ada, here is 15% off your next order at Bean & Leaf" {
		t.Errorf("subject %q", e.Subject)
	}
	for _, want := range []string{"Hello Ada", "Enamel mug", "Green tea", r.Coupon, "15 December 2026"} {
		if !strings.Contains(e.Text, want) || !strings.Contains(e.HTML, want) {
			t.Errorf("the e-mail lacks %q:\n%s\n%s", want, e.Text, e.HTML)
		}
	}
	if want := map[string]string{mail.TagShop: f.sh.ID, mail.TagCampaign: campaignID, mail.TagSendID: m.SendID}; fmt.Sprint(e.Tags) != fmt.Sprint(want) {
		t.Errorf("tags %v, want %v", e.Tags, want)
	}

	// Exactly one List-Unsubscribe, an HTTPS URL in angle brackets whose
	// token names the shop, customer and campaign; the one-click header;
	// the same URL visible in both parts.
	var unsub, post []string
	for _, h := range e.Headers {
		switch strings.ToLower(h.Name) {
		case "list-unsubscribe":
			unsub = append(unsub, h.Value)
		case "list-unsubscribe-post":
			post = append(post, h.Value)
		}
	}
	if len(unsub) != 1 || len(post) != 1 || post[0] != "List-Unsubscribe=One-Click" {
		t.Fatalf("headers %+v", e.Headers)
	}
	link := strings.TrimSuffix(strings.TrimPrefix(unsub[0], "<"), ">")
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "https" || !strings.HasPrefix(link, unsubBase+"/v1/unsubscribe/") || unsub[0] != "<"+link+">" {
		t.Fatalf("List-Unsubscribe %q", unsub[0])
	}
	keys, _ := st.TokenKeys(ctx)
	tok, err := campaign.VerifyToken(keys[0].Key, strings.TrimPrefix(link, unsubBase+"/v1/unsubscribe/"))
	if err != nil || tok != (campaign.Token{ShopID: f.sh.ID, CustomerID: custID, CampaignID: campaignID, Issued: "2026-12-01"}) {
		t.Errorf("token %+v, %v", tok, err)
	}
	if !strings.Contains(e.Text, link) || !strings.Contains(e.HTML, link) {
		t.Error("the unsubscribe link is not visible in the body")
	}
	if len(dl.all()) != 0 {
		t.Errorf("dead letters %v", dl.all())
	}
}

// TestRules runs each rule of the package for one message.
func TestRules(t *testing.T) {
	longAgo := t0.Add(-campaign.ClaimLease - time.Second)
	cases := []struct {
		name string
		// setup prepares the message's recipient (nil: a queued one).
		setup  func(f *fixture) campaign.SendMessage
		script []result
		want   sender.Outcome
		// retry: Handle's error is non-nil (a batch item failure).
		retry  bool
		state  campaign.State
		reason string // a part of the recorded reason
		emails int
		// letter is a part of the one dead letter's reason ("": none).
		letter string
		status campaign.Status
	}{
		{name: "queued is sent", want: sender.OutcomeSent, state: campaign.StateSent, emails: 1},
		{name: "a replenishment reminder without offer", setup: func(f *fixture) campaign.SendMessage {
			return f.recipient(f.customer(nil), func(r *campaign.Recipient) {
				r.Kind, r.Percent, r.Coupon, r.ExpiresOn = campaign.KindReplenishment, 0, "", ""
			})
		}, want: sender.OutcomeSent, state: campaign.StateSent, emails: 1},
		{name: "a campaign still selecting sends", setup: func(f *fixture) campaign.SendMessage {
			setStatus(f, campaign.StatusSelecting)
			m, _ := f.queued()
			return m
		}, want: sender.OutcomeSent, state: campaign.StateSent, emails: 1, status: campaign.StatusSelecting},
		{name: "dry run sends nothing", setup: func(f *fixture) campaign.SendMessage {
			c := f.c
			c.ID, c.DryRun, c.Status = campaignID+campaign.DrySuffix, true, campaign.StatusDone
			if _, err := f.st.BeginCampaign(context.Background(), c); err != nil {
				f.t.Fatal(err)
			}
			return f.recipient(f.customer(nil), func(r *campaign.Recipient) {
				r.CampaignID, r.SendID, r.State = c.ID, campaign.SendID(c.ID, r.CustomerID), campaign.StateDryRun
			})
		}, want: sender.OutcomeDryRun, state: campaign.StateDryRun},
		{name: "paused campaign leaves it queued", setup: func(f *fixture) campaign.SendMessage {
			setStatus(f, campaign.StatusPaused)
			m, _ := f.queued()
			return m
		}, want: sender.OutcomeCampaignPaused, state: campaign.StateQueued, status: campaign.StatusPaused},
		{name: "sending stopped by the safety valve: campaign paused, left queued", setup: func(f *fixture) campaign.SendMessage {
			st := f.st.(interface {
				StopSending(ctx context.Context, shopID string, stop campaign.Stop) (campaign.Stop, bool, error)
			})
			if _, _, err := st.StopSending(context.Background(), f.sh.ID, campaign.Stop{CampaignID: "2026-11-30", At: t0, Reason: "6 of 100 e-mails bounced for good"}); err != nil {
				f.t.Fatal(err)
			}
			m, _ := f.queued()
			return m
		}, want: sender.OutcomeCampaignPaused, state: campaign.StateQueued, status: campaign.StatusPaused},
		{name: "claimed within the lease: retry", setup: func(f *fixture) campaign.SendMessage {
			m, _ := f.queued()
			f.force(m, campaign.Change{To: campaign.StateSending, NewClaim: "other", ClaimedAt: t0.Add(-campaign.ClaimLease + time.Second)})
			return m
		}, want: sender.OutcomeBusy, retry: true, state: campaign.StateSending},
		{name: "claim abandoned: in doubt, never sent", setup: func(f *fixture) campaign.SendMessage {
			m, _ := f.queued()
			f.force(m, campaign.Change{To: campaign.StateSending, NewClaim: "other", ClaimedAt: longAgo})
			return m
		}, want: sender.OutcomeInDoubt, state: campaign.StateInDoubt, reason: "claim abandoned"},
		{name: "claim abandoned in a paused campaign: in doubt", setup: func(f *fixture) campaign.SendMessage {
			m, _ := f.queued()
			f.force(m, campaign.Change{To: campaign.StateSending, NewClaim: "other", ClaimedAt: longAgo})
			setStatus(f, campaign.StatusPaused)
			return m
		}, want: sender.OutcomeInDoubt, state: campaign.StateInDoubt, status: campaign.StatusPaused},
		{name: "already sent", setup: settled(campaign.StateSent), want: sender.OutcomeSettled, state: campaign.StateSent},
		{name: "already failed", setup: settled(campaign.StateFailed), want: sender.OutcomeSettled, state: campaign.StateFailed},
		{name: "already skipped", setup: settled(campaign.StateSkipped), want: sender.OutcomeSettled, state: campaign.StateSkipped},
		{name: "in doubt", setup: settled(campaign.StateInDoubt), want: sender.OutcomeSettled, state: campaign.StateInDoubt},
		{name: "held out", setup: func(f *fixture) campaign.SendMessage {
			return f.recipient(f.customer(nil), func(r *campaign.Recipient) {
				r.Group, r.State, r.Percent, r.Coupon, r.ExpiresOn = campaign.GroupHoldout, campaign.StateHeldOut, 0, "", ""
			})
		}, want: sender.OutcomeSettled, state: campaign.StateHeldOut},
		{name: "erased customer, with their recipient", setup: func(f *fixture) campaign.SendMessage {
			m, id := f.queued()
			if err := f.st.EraseCustomer(context.Background(), f.sh, id); err != nil {
				f.t.Fatal(err)
			}
			return m
		}, want: sender.OutcomeGone},
		{name: "customer gone, recipient left", setup: func(f *fixture) campaign.SendMessage {
			return f.recipient(f.prefix+"-never-stored", nil)
		}, want: sender.OutcomeSkipped, state: campaign.StateSkipped, reason: sender.ReasonErased},
		{name: "no address", setup: func(f *fixture) campaign.SendMessage {
			return f.recipient(f.customer(func(c *order.Customer) { c.Email = "" }), nil)
		}, want: sender.OutcomeSkipped, state: campaign.StateSkipped, reason: sender.ReasonNoEmail},
		{name: "consent withdrawn", setup: func(f *fixture) campaign.SendMessage {
			return f.recipient(f.customer(func(c *order.Customer) { c.AcceptsMarketing = false }), nil)
		}, want: sender.OutcomeSkipped, state: campaign.StateSkipped, reason: sender.ReasonNoConsent},
		{name: "suppressed since selection", setup: func(f *fixture) campaign.SendMessage {
			m, id := f.queued()
			if err := f.st.Suppress(context.Background(), f.sh, f.address(id), "unsubscribe"); err != nil {
				f.t.Fatal(err)
			}
			return m
		}, want: sender.OutcomeSkipped, state: campaign.StateSkipped, reason: sender.ReasonSuppressed},
		{name: "selected just under MaxSendDelay ago is sent", setup: func(f *fixture) campaign.SendMessage {
			return f.recipient(f.customer(nil), func(r *campaign.Recipient) { r.SelectedAt = t0.Add(-sender.MaxSendDelay + time.Second) })
		}, want: sender.OutcomeSent, state: campaign.StateSent, emails: 1},
		{name: "selected longer than MaxSendDelay ago: stale", setup: func(f *fixture) campaign.SendMessage {
			return f.recipient(f.customer(nil), func(r *campaign.Recipient) { r.SelectedAt = t0.Add(-sender.MaxSendDelay - time.Second) })
		}, want: sender.OutcomeSkipped, state: campaign.StateSkipped, reason: sender.ReasonStale},
		{name: "ordered since selected", setup: func(f *fixture) campaign.SendMessage {
			m, id := f.queued()
			reorder(f, id, t0.Add(-30*time.Minute), order.StatusPaid)
			return m
		}, want: sender.OutcomeSkipped, state: campaign.StateSkipped, reason: sender.ReasonOrderedSinceSelected},
		{name: "ordered just before selection is sent", setup: func(f *fixture) campaign.SendMessage {
			m, id := f.queued()
			reorder(f, id, t0.Add(-2*time.Hour), order.StatusPaid)
			return m
		}, want: sender.OutcomeSent, state: campaign.StateSent, emails: 1},
		{name: "an order since selected that does not count is sent", setup: func(f *fixture) campaign.SendMessage {
			m, id := f.queued()
			reorder(f, id, t0.Add(-30*time.Minute), order.StatusCancelled)
			return m
		}, want: sender.OutcomeSent, state: campaign.StateSent, emails: 1},
		{name: "no sender address", setup: func(f *fixture) campaign.SendMessage {
			putConfig(f, func(c *campaign.Config) { c.Settings.From = "" })
			m, _ := f.queued()
			return m
		}, want: sender.OutcomeFailed, state: campaign.StateFailed, reason: "sender address: none configured", letter: "sender address"},
		{name: "invalid sender address", setup: func(f *fixture) campaign.SendMessage {
			putConfig(f, func(c *campaign.Config) { c.Settings.From = "news at beanleaf" })
			m, _ := f.queued()
			return m
		}, want: sender.OutcomeFailed, state: campaign.StateFailed, reason: "settings.from is not a valid", letter: "sender address"},
		{name: "template fails to render", setup: func(f *fixture) campaign.SendMessage {
			putConfig(f, func(c *campaign.Config) {
				c.Template = &campaign.Template{Subject: "{{.Nope}}", HTML: mail.DefaultTemplate.HTML, Text: mail.DefaultTemplate.Text}
			})
			m, _ := f.queued()
			return m
		}, want: sender.OutcomeFailed, state: campaign.StateFailed, reason: "template: subject template, render", letter: "subject template"},
		{name: "template without the unsubscribe link", setup: func(f *fixture) campaign.SendMessage {
			putConfig(f, func(c *campaign.Config) {
				c.Template = &campaign.Template{Subject: "Hi", HTML: "<p>Hi</p>", Text: "Hi {{.UnsubscribeURL}}"}
			})
			m, _ := f.queued()
			return m
		}, want: sender.OutcomeFailed, state: campaign.StateFailed, reason: "html template, check", letter: "html template"},
		{name: "offer without a valid expiry", setup: func(f *fixture) campaign.SendMessage {
			return f.recipient(f.customer(nil), func(r *campaign.Recipient) { r.ExpiresOn = "soon" })
		}, want: sender.OutcomeFailed, state: campaign.StateFailed, reason: "offer: expiry", letter: "offer"},
		{name: "campaign id SES cannot tag", setup: func(f *fixture) campaign.SendMessage {
			c := f.c
			c.ID = "2026.12.01"
			if _, err := f.st.BeginCampaign(context.Background(), c); err != nil {
				f.t.Fatal(err)
			}
			return f.recipient(f.customer(nil), func(r *campaign.Recipient) {
				r.CampaignID, r.SendID = c.ID, campaign.SendID(c.ID, r.CustomerID)
			})
		}, want: sender.OutcomeFailed, state: campaign.StateFailed, reason: "tag campaign value", letter: "tag campaign"},
		{name: "SES throttles: released, retried", script: []result{{err: fmt.Errorf("%w: TooManyRequestsException", mail.ErrThrottled)}},
			want: sender.OutcomeThrottled, retry: true, state: campaign.StateQueued},
		{name: "SES paused: campaign paused, left queued", script: []result{{err: fmt.Errorf("%w: SendingPausedException", mail.ErrPaused)}},
			want: sender.OutcomePaused, state: campaign.StateQueued, status: campaign.StatusPaused},
		{name: "SES rejects: failed, dead letter", script: []result{{err: fmt.Errorf("%w: MessageRejected: Email address is not verified", mail.ErrRejected)}},
			want: sender.OutcomeFailed, state: campaign.StateFailed, reason: "rejected by SES: ", letter: "Email address is not verified"},
		{name: "SES outcome unknown: claim kept", script: []result{{err: errors.New("operation error SESv2: SendEmail, https response error StatusCode: 500")}},
			want: sender.OutcomeUnknown, retry: true, state: campaign.StateSending},
		{name: "SES accepted, answer lost: claim kept", script: []result{{err: errors.New("read: connection reset by peer"), accepted: true}},
			want: sender.OutcomeUnknown, retry: true, state: campaign.StateSending, emails: 1},
		{name: "no such shop", setup: func(f *fixture) campaign.SendMessage {
			return campaign.SendMessage{ShopID: "shop_nonexistent1", CampaignID: campaignID, SendID: campaign.SendID(campaignID, "x")}
		}, want: sender.OutcomeBadMessage, letter: "shop not found"},
		{name: "no such campaign", setup: func(f *fixture) campaign.SendMessage {
			return campaign.SendMessage{ShopID: f.sh.ID, CampaignID: "2020-01-01", SendID: campaign.SendID("2020-01-01", "x")}
		}, want: sender.OutcomeBadMessage, letter: "campaign not found"},
		{name: "no such recipient", setup: func(f *fixture) campaign.SendMessage {
			return campaign.SendMessage{ShopID: f.sh.ID, CampaignID: campaignID, SendID: campaign.SendID(campaignID, "nobody")}
		}, want: sender.OutcomeGone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, memstore.New())
			var m campaign.SendMessage
			if c.setup != nil {
				m = c.setup(f)
			} else {
				m, _ = f.queued()
			}
			mailer, dl := &fakeMailer{script: c.script}, &fakeDeadLetters{}
			out, err := f.sender(mailer, dl, t0).Handle(ctx, m)
			if out != c.want || (err != nil) != c.retry {
				t.Fatalf("Handle = %s, %v; want %s, retry %v", out, err, c.want, c.retry)
			}
			if n := len(mailer.emails()); n != c.emails {
				t.Errorf("%d e-mails sent, want %d", n, c.emails)
			}
			if c.state != "" {
				r := f.get(m)
				if r.State != c.state || !strings.Contains(r.Reason, c.reason) {
					t.Errorf("recipient %s (%q), want %s (%q)", r.State, r.Reason, c.state, c.reason)
				}
				if r.State != campaign.StateSent && r.MessageID != "" {
					t.Errorf("a message id without being sent: %+v", r)
				}
			}
			letters := dl.all()
			switch {
			case c.letter == "" && len(letters) > 0:
				t.Errorf("dead letters %v", letters)
			case c.letter != "" && (len(letters) != 1 || !strings.Contains(letters[0].reason, c.letter) ||
				!strings.Contains(letters[0].reason, m.SendID) || letters[0].body != m.Body()):
				t.Errorf("dead letters %+v, want one for %s mentioning %q", letters, m.SendID, c.letter)
			}
			for _, l := range letters {
				if strings.Contains(l.reason+l.body, "@") {
					t.Errorf("a dead letter shows an address: %+v", l)
				}
			}
			want := c.status
			if want == "" {
				want = campaign.StatusSending
			}
			if cur, err := f.st.Campaign(ctx, f.sh.ID, campaignID); err != nil || cur.Status != want {
				t.Errorf("campaign %s, %v; want %s", cur.Status, err, want)
			}
		})
	}
}

// settled is a setup that leaves the recipient in state.
func settled(state campaign.State) func(f *fixture) campaign.SendMessage {
	return func(f *fixture) campaign.SendMessage {
		m, _ := f.queued()
		ch := campaign.Change{To: state, Reason: "earlier"}
		if state == campaign.StateSent {
			ch.MessageID, ch.SentAt = "0100-earlier", t0.Add(-time.Hour)
		}
		f.force(m, ch)
		return m
	}
}

// reorder stores another order of a customer of the fixture, created at
// at, with the same profile.
func reorder(f *fixture, customerID string, at time.Time, status order.Status) {
	f.t.Helper()
	o := order.Order{
		ID: fmt.Sprintf("%s-o%d", customerID, at.Unix()), CreatedAt: at, UpdatedAt: at, Currency: "EUR", Total: 1000, Status: status,
		Customer:  order.Customer{ID: customerID, Email: f.address(customerID), FirstName: "Ada", AcceptsMarketing: true},
		Source:    order.SourceAPI,
		LineItems: []order.LineItem{{SKU: "TEA", Title: "Green tea", Quantity: 1, Price: 1000}},
	}
	outs, _, err := f.st.PutOrders(context.Background(), f.sh, []order.Order{o}, "")
	if err != nil || outs[0].Err != nil {
		f.t.Fatalf("put order of %s: %v %v", customerID, err, outs)
	}
}

func setStatus(f *fixture, s campaign.Status) {
	f.t.Helper()
	if _, err := f.st.SetCampaignStatus(context.Background(), f.sh.ID, f.c.ID, nil, s, ""); err != nil {
		f.t.Fatal(err)
	}
}

func putConfig(f *fixture, edit func(*campaign.Config)) {
	f.t.Helper()
	cfg := campaign.DefaultConfig()
	cfg.Settings.From = from
	edit(&cfg)
	if err := f.st.PutCampaignConfig(context.Background(), f.sh.ID, cfg); err != nil {
		f.t.Fatal(err)
	}
}

// racer is a store whose ChangeRecipient lets a test act just before a
// given change applies (another sender, an SES event).
type racer struct {
	testStore
	before func(ch campaign.Change)
}

func (r *racer) ChangeRecipient(ctx context.Context, shopID, campaignID, sendID string, ch campaign.Change) (campaign.Recipient, error) {
	if r.before != nil {
		r.before(ch)
	}
	return r.testStore.ChangeRecipient(ctx, shopID, campaignID, sendID, ch)
}

// TestRaces: the recipient changes between the sender's read and its
// conditional writes.
func TestRaces(t *testing.T) {
	ctx := context.Background()

	t.Run("another sender claims first", func(t *testing.T) {
		f := newFixture(t, memstore.New())
		m, _ := f.queued()
		st := &racer{testStore: f.st}
		st.before = func(ch campaign.Change) {
			if ch.To == campaign.StateSending {
				st.before = nil
				f.force(m, campaign.Change{From: []campaign.State{campaign.StateQueued}, To: campaign.StateSending, NewClaim: "other", ClaimedAt: t0})
			}
		}
		mailer := &fakeMailer{}
		s := f.sender(mailer, &fakeDeadLetters{}, t0)
		s.Store = st
		out, err := s.Handle(ctx, m)
		if out != sender.OutcomeBusy || !errors.Is(err, sender.ErrBusy) || len(mailer.emails()) != 0 {
			t.Fatalf("Handle = %s, %v, %d e-mails", out, err, len(mailer.emails()))
		}
		if r := f.get(m); r.State != campaign.StateSending || r.ClaimID != "other" {
			t.Errorf("recipient %+v", r)
		}
	})

	t.Run("an SES event records the send first", func(t *testing.T) {
		f := newFixture(t, memstore.New())
		m, _ := f.queued()
		st := &racer{testStore: f.st}
		st.before = func(ch campaign.Change) {
			if ch.To == campaign.StateSent {
				st.before = nil
				f.force(m, campaign.Change{From: []campaign.State{campaign.StateSending}, To: campaign.StateSent, MessageID: ch.MessageID, SentAt: t0, Event: campaign.EventSent, EventAt: t0})
			}
		}
		s := f.sender(&fakeMailer{}, &fakeDeadLetters{}, t0)
		s.Store = st
		if out, err := s.Handle(ctx, m); out != sender.OutcomeSent || err != nil {
			t.Fatalf("Handle = %s, %v", out, err)
		}
		if r := f.get(m); r.State != campaign.StateSent || r.MessageID != "0100-fake-0" {
			t.Errorf("recipient %+v", r)
		}
	})

	t.Run("skipped while being skipped", func(t *testing.T) {
		f := newFixture(t, memstore.New())
		m := f.recipient(f.customer(func(c *order.Customer) { c.AcceptsMarketing = false }), nil)
		st := &racer{testStore: f.st}
		st.before = func(ch campaign.Change) {
			if ch.To == campaign.StateSkipped {
				st.before = nil
				f.force(m, campaign.Change{To: campaign.StateSkipped, Reason: ch.Reason})
			}
		}
		s := f.sender(&fakeMailer{}, &fakeDeadLetters{}, t0)
		s.Store = st
		if out, err := s.Handle(ctx, m); out != sender.OutcomeSettled || err != nil {
			t.Fatalf("Handle = %s, %v", out, err)
		}
	})
}

// flaky is a store whose every change fails once, before or after it
// applies, as a network blip would.
type flaky struct {
	testStore
	after  bool
	failed map[campaign.State]bool
}

func (f *flaky) ChangeRecipient(ctx context.Context, shopID, campaignID, sendID string, ch campaign.Change) (campaign.Recipient, error) {
	if !f.failed[ch.To] {
		f.failed[ch.To] = true
		if f.after {
			if _, err := f.testStore.ChangeRecipient(ctx, shopID, campaignID, sendID, ch); err != nil {
				return campaign.Recipient{}, err
			}
		}
		return campaign.Recipient{}, errors.New("connection reset by peer")
	}
	return f.testStore.ChangeRecipient(ctx, shopID, campaignID, sendID, ch)
}

// TestChangeRetries: a write that fails is tried again, and a retry that
// finds its own earlier attempt applied (the claim id, the message id)
// takes it as done.
func TestChangeRetries(t *testing.T) {
	for _, after := range []bool{false, true} {
		t.Run(fmt.Sprintf("applied=%v", after), func(t *testing.T) {
			f := newFixture(t, memstore.New())
			m, _ := f.queued()
			mailer := &fakeMailer{}
			s := f.sender(mailer, &fakeDeadLetters{}, t0)
			s.Store = &flaky{testStore: f.st, after: after, failed: map[campaign.State]bool{}}
			if out, err := s.Handle(context.Background(), m); out != sender.OutcomeSent || err != nil {
				t.Fatalf("Handle = %s, %v", out, err)
			}
			if r := f.get(m); r.State != campaign.StateSent || len(mailer.emails()) != 1 {
				t.Errorf("recipient %s, %d e-mails", r.State, len(mailer.emails()))
			}
		})
	}
}

func TestCheck(t *testing.T) {
	f := newFixture(t, memstore.New())
	for _, c := range []struct {
		base string
		ok   bool
	}{
		{"https://api.winback.example", true},
		{"https://abc.execute-api.eu-west-1.amazonaws.com/prod/", true},
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080", true},
		{"http://[::1]:8080", true},
		{"http://api.winback.example", false},
		{"https://api.winback.example?x=1", false},
		{"https://user@api.winback.example", false},
		{"/v1", false},
		{"", false},
		{"javascript:alert(1)", false},
	} {
		s := f.sender(&fakeMailer{}, &fakeDeadLetters{}, t0)
		s.UnsubscribeBase = c.base
		if err := s.Check(); (err == nil) != c.ok {
			t.Errorf("Check with %q: %v", c.base, err)
		}
	}
	s := f.sender(&fakeMailer{}, nil, t0)
	if err := s.Check(); err == nil {
		t.Error("no dead letters passed")
	}
	// A misconfigured sender fails no recipient: it retries.
	s = f.sender(&fakeMailer{}, &fakeDeadLetters{}, t0)
	s.UnsubscribeBase = "http://api.winback.example"
	m, _ := f.queued()
	if out, err := s.Handle(context.Background(), m); out != sender.OutcomeError || err == nil || f.get(m).State != campaign.StateQueued {
		t.Errorf("Handle = %s, %v", out, err)
	}
}
