package sender_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/sender"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/mail"
	"github.com/winback/winback/shared/mail/ses"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
)

var tableSeq atomic.Int64

// newDynamoStore is a store over a fresh table of this binary's DynamoDB
// Local.
func newDynamoStore(t testing.TB) (*store.Store, *dynamodb.Client, string) {
	t.Helper()
	db := emulator.DynamoDB(t)
	table := fmt.Sprintf("winback-sender-%d-%d", time.Now().UnixNano()%1e6, tableSeq.Add(1))
	if err := store.CreateTable(context.Background(), db, table); err != nil {
		t.Fatal(err)
	}
	return store.New(db, table), db, table
}

// sesMailer is the SES adapter on this binary's SES emulator, and a
// count of what the emulator received for an address.
func sesMailer(t testing.TB) (*ses.Mailer, func(to string) []emulator.Email) {
	t.Helper()
	client, base := emulator.SES(t)
	return ses.New(client, "winback-test"), func(to string) []emulator.Email {
		t.Helper()
		var got []emulator.Email
		for _, e := range emulator.SentEmails(t, base) {
			for _, d := range e.Destination.To {
				if d == to {
					got = append(got, e)
				}
			}
		}
		return got
	}
}

// errInjected is the failure the injector returns, as a broken network
// or a dying process would.
var errInjected = errors.New("injected failure")

// errDead is what a process that died answers afterwards.
var errDead = errors.New("process died")

// injector wraps a store and a mailer and fails their k-th mutating step
// (each ChangeRecipient, SetCampaignStatus and Send, counted over every
// delivery of a message) either before it takes effect or after. When
// dies is set the process died there: every later call of that delivery
// fails too, until revive starts the next delivery's process.
type injector struct {
	testStore
	mail  sender.Mailer
	k     int
	after bool
	dies  bool

	mu    sync.Mutex
	steps int
	fired bool
	dead  bool
	names []string
}

func (in *injector) revive() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.dead = false
}

func (in *injector) alive() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.dead {
		return errDead
	}
	return nil
}

// step runs one mutating step, failing it when it is the k-th.
func (in *injector) step(name string, do func() error) error {
	in.mu.Lock()
	if in.dead {
		in.mu.Unlock()
		return errDead
	}
	in.steps++
	in.names = append(in.names, name)
	fire := in.steps == in.k
	if fire {
		in.fired = true
		in.dead = in.dies
	}
	in.mu.Unlock()
	if fire && !in.after {
		return errInjected
	}
	err := do()
	if fire {
		return errInjected
	}
	return err
}

func (in *injector) ChangeRecipient(ctx context.Context, shopID, campaignID, sendID string, ch campaign.Change) (r campaign.Recipient, err error) {
	err = in.step("change to "+string(ch.To), func() error {
		r, err = in.testStore.ChangeRecipient(ctx, shopID, campaignID, sendID, ch)
		return err
	})
	if errors.Is(err, errInjected) || errors.Is(err, errDead) {
		return campaign.Recipient{}, err
	}
	return r, err
}

func (in *injector) SetCampaignStatus(ctx context.Context, shopID, id string, from []campaign.Status, to campaign.Status, reason string) (c campaign.Campaign, err error) {
	err = in.step("campaign "+string(to), func() error {
		c, err = in.testStore.SetCampaignStatus(ctx, shopID, id, from, to, reason)
		return err
	})
	return c, err
}

func (in *injector) Send(ctx context.Context, e mail.Email) (id string, err error) {
	err = in.step("send", func() error {
		id, err = in.mail.Send(ctx, e)
		return err
	})
	if errors.Is(err, errInjected) || errors.Is(err, errDead) {
		return "", err
	}
	return id, err
}

// The reads fail once the process died.

func (in *injector) Shop(ctx context.Context, id string) (shop.Shop, error) {
	if err := in.alive(); err != nil {
		return shop.Shop{}, err
	}
	return in.testStore.Shop(ctx, id)
}

func (in *injector) Customer(ctx context.Context, sh shop.Shop, id string) (customer.Summary, error) {
	if err := in.alive(); err != nil {
		return customer.Summary{}, err
	}
	return in.testStore.Customer(ctx, sh, id)
}

func (in *injector) Suppressed(ctx context.Context, sh shop.Shop, email string) (string, error) {
	if err := in.alive(); err != nil {
		return "", err
	}
	return in.testStore.Suppressed(ctx, sh, email)
}

func (in *injector) CampaignConfig(ctx context.Context, shopID string) (campaign.Config, error) {
	if err := in.alive(); err != nil {
		return campaign.Config{}, err
	}
	return in.testStore.CampaignConfig(ctx, shopID)
}

func (in *injector) Campaign(ctx context.Context, shopID, id string) (campaign.Campaign, error) {
	if err := in.alive(); err != nil {
		return campaign.Campaign{}, err
	}
	return in.testStore.Campaign(ctx, shopID, id)
}

func (in *injector) Recipient(ctx context.Context, shopID, campaignID, sendID string) (campaign.Recipient, error) {
	if err := in.alive(); err != nil {
		return campaign.Recipient{}, err
	}
	return in.testStore.Recipient(ctx, shopID, campaignID, sendID)
}

// scripted answers its first calls from a script (without sending), then
// hands the rest to SES.
type scripted struct {
	ses    sender.Mailer
	mu     sync.Mutex
	script []error
}

func (s *scripted) Send(ctx context.Context, e mail.Email) (string, error) {
	s.mu.Lock()
	var err error
	if len(s.script) > 0 {
		err, s.script = s.script[0], s.script[1:]
	}
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	return s.ses.Send(ctx, e)
}

var (
	errThrottled = fmt.Errorf("%w: TooManyRequestsException: Maximum sending rate exceeded", mail.ErrThrottled)
	errPaused    = fmt.Errorf("%w: SendingPausedException: Sending is paused for this account", mail.ErrPaused)
	errRejected  = fmt.Errorf("%w: MessageRejected: Email address is not verified", mail.ErrRejected)
)

// story is what happened to one message over its deliveries.
type story struct {
	final      campaign.Recipient
	deliveries int
	// abandoned: a delivery ended with the recipient claimed (sending),
	// so a later one may have found the claim abandoned.
	abandoned bool
	steps     []string
}

// deliver delivers m until its recipient settles (neither queued nor
// sending): a fresh Sender (a fresh process) each time, the clock moved
// past the lease when the recipient is still claimed, a paused campaign
// resumed as the next run would.
func deliver(t *testing.T, f *fixture, in *injector, m campaign.SendMessage) story {
	t.Helper()
	ctx := context.Background()
	now := t0
	var st story
	for st.deliveries = 1; st.deliveries <= 12; st.deliveries++ {
		in.revive()
		s := &sender.Sender{Store: in, Mail: in, DeadLetters: &fakeDeadLetters{}, UnsubscribeBase: unsubBase,
			Rate: 1000, Now: func() time.Time { return now }, Log: testLog(t)}
		_, _ = s.Handle(ctx, m) // what matters is what is stored and what SES received
		r := f.get(m)
		switch r.State {
		case campaign.StateQueued:
			if c, _ := f.st.Campaign(ctx, f.sh.ID, f.c.ID); c.Status == campaign.StatusPaused {
				setStatus(f, campaign.StatusSending) // the next run resumes it
			}
			continue
		case campaign.StateSending:
			st.abandoned = true
			now = now.Add(campaign.ClaimLease + time.Minute)
			continue
		}
		st.final = r
		break
	}
	st.steps = in.names
	return st
}

// TestNeverTwice is the crash matrix: for each scenario, each mutating
// step k of the message's whole story, failed before or after it took
// effect, by a process that died there or by a network blip, the message
// is delivered again until it settles, and what the SES emulator received
// is counted.
func TestNeverTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash matrix against DynamoDB Local and the SES emulator: skipped in -short mode")
	}
	st, _, _ := newDynamoStore(t)
	mailer, received := sesMailer(t)
	scenarios := []struct {
		name   string
		script []error
		// want is the state a story without failures ends in.
		want campaign.State
	}{
		{"accepted", nil, campaign.StateSent},
		{"throttled, then accepted", []error{errThrottled}, campaign.StateSent},
		{"paused, resumed, accepted", []error{errPaused}, campaign.StateSent},
		{"rejected", []error{errRejected}, campaign.StateFailed},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			// The clean story: how many steps to break.
			f := newFixture(t, st)
			m, custID := f.queued()
			in := &injector{testStore: st, mail: &scripted{ses: mailer, script: sc.script}}
			clean := deliver(t, f, in, m)
			if clean.final.State != sc.want || len(received(f.address(custID))) != map[bool]int{true: 1}[sc.want == campaign.StateSent] {
				t.Fatalf("without failures: %s, %d received (steps %v)", clean.final.State, len(received(f.address(custID))), clean.steps)
			}
			t.Logf("steps: %v", clean.steps)
			for k := 1; k <= len(clean.steps); k++ {
				for _, after := range []bool{false, true} {
					for _, dies := range []bool{true, false} {
						name := fmt.Sprintf("step %d (%s) fails %s, %s", k, clean.steps[k-1],
							map[bool]string{false: "before", true: "after"}[after], map[bool]string{true: "process dies", false: "blip"}[dies])
						t.Run(name, func(t *testing.T) {
							f := newFixture(t, st)
							m, custID := f.queued()
							in := &injector{testStore: st, mail: &scripted{ses: mailer, script: sc.script}, k: k, after: after, dies: dies}
							story := deliver(t, f, in, m)
							checkStory(t, story, received(f.address(custID)), in.fired)
						})
					}
				}
			}
		})
	}
}

// checkStory checks the never-twice rules on a settled story.
func checkStory(t *testing.T, st story, got []emulator.Email, fired bool) {
	t.Helper()
	r := st.final
	switch {
	case r.State == "":
		t.Fatalf("did not settle in %d deliveries (steps %v)", st.deliveries-1, st.steps)
	case len(got) > 1:
		t.Fatalf("SES received %d e-mails for one recipient (state %s, steps %v)", len(got), r.State, st.steps)
	case r.State == campaign.StateSent && (len(got) != 1 || got[0].MessageID != r.MessageID):
		t.Fatalf("sent with message %q, SES received %d (steps %v)", r.MessageID, len(got), st.steps)
	case len(got) == 0 && r.State == campaign.StateSent:
		t.Fatalf("marked sent, SES received nothing")
	case r.State == campaign.StateInDoubt && !st.abandoned:
		t.Fatalf("in doubt without an abandoned claim (steps %v)", st.steps)
	case r.State == campaign.StateInDoubt && r.Reason != sender.ReasonAbandoned:
		t.Fatalf("in doubt with reason %q", r.Reason)
	case r.State != campaign.StateSent && r.State != campaign.StateInDoubt && r.State != campaign.StateFailed:
		t.Fatalf("settled as %s", r.State)
	case !fired:
		t.Fatalf("the failure was never injected (steps %v)", st.steps)
	}
	t.Logf("%s after %d deliveries, %d received", r.State, st.deliveries, len(got))
}

// TestConcurrentDuplicates: the same message delivered twice at once, to
// two senders, is one e-mail.
func TestConcurrentDuplicates(t *testing.T) {
	st, _, _ := newDynamoStore(t)
	mailer, received := sesMailer(t)
	f := newFixture(t, st)
	for round := range 5 {
		m, custID := f.queued()
		var wg sync.WaitGroup
		outs := make([]sender.Outcome, 2)
		for i := range outs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i], _ = f.sender(mailer, &fakeDeadLetters{}, t0).Handle(context.Background(), m)
			}()
		}
		wg.Wait()
		// The loser, delivered again later, finds it sent.
		again, err := f.sender(mailer, &fakeDeadLetters{}, t0).Handle(context.Background(), m)
		if n := len(received(f.address(custID))); n != 1 || f.get(m).State != campaign.StateSent || again != sender.OutcomeSettled || err != nil {
			t.Fatalf("round %d: outcomes %v then %s (%v): %d e-mails, state %s", round, outs, again, err, n, f.get(m).State)
		}
	}
}

// TestBatchRedelivered: a whole batch delivered again sends nothing new.
func TestBatchRedelivered(t *testing.T) {
	st, _, _ := newDynamoStore(t)
	mailer, received := sesMailer(t)
	f := newFixture(t, st)
	var bodies, addrs []string
	for range 6 {
		m, custID := f.queued()
		bodies = append(bodies, m.Body())
		addrs = append(addrs, f.address(custID))
	}
	for delivery := 1; delivery <= 3; delivery++ {
		s := f.sender(mailer, &fakeDeadLetters{}, t0)
		resp, err := s.Work(context.Background(), batch(bodies...))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d: %v, %v", delivery, failures(resp), err)
		}
		for _, a := range addrs {
			if n := len(received(a)); n != 1 {
				t.Fatalf("delivery %d: %d e-mails to one recipient", delivery, n)
			}
		}
	}
}
