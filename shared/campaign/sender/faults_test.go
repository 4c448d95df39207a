package sender_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/sender"
	"github.com/winback/winback/shared/mail"
)

// The SES emulator cannot throttle, pause or reject: these tests put a
// scripted wrapper in front of the real adapter, against DynamoDB Local,
// and count what the emulator received.

// TestThrottled: a throttled e-mail is released, the rate halves, and the
// redelivery sends it once.
func TestThrottled(t *testing.T) {
	st, _, _ := newDynamoStore(t)
	ses, received := sesMailer(t)
	f := newFixture(t, st)
	m, custID := f.queued()
	s := f.sender(&scripted{ses: ses, script: []error{errThrottled, errThrottled}}, &fakeDeadLetters{}, t0)
	s.Rate = 8
	for i, want := range []float64{4, 2} {
		out, err := s.Handle(context.Background(), m)
		if out != sender.OutcomeThrottled || !errors.Is(err, mail.ErrThrottled) {
			t.Fatalf("delivery %d: %s, %v", i+1, out, err)
		}
		if r := f.get(m); r.State != campaign.StateQueued || len(received(f.address(custID))) != 0 {
			t.Fatalf("delivery %d: %s, %d received", i+1, r.State, len(received(f.address(custID))))
		}
		if got := s.CurrentRate(); got != want {
			t.Errorf("delivery %d: rate %v, want %v", i+1, got, want)
		}
	}
	// A batch item failure: SQS delivers it again.
	resp, _ := s.Work(context.Background(), batch(m.Body()))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery failed: %v", failures(resp))
	}
	got := received(f.address(custID))
	if r := f.get(m); r.State != campaign.StateSent || len(got) != 1 || got[0].MessageID != r.MessageID {
		t.Fatalf("after redelivery: %+v, %d received", r, len(got))
	}
	if got := s.CurrentRate(); got != 2+8.0/20 {
		t.Errorf("rate %v after one accepted e-mail, want %v", got, 2+8.0/20)
	}
}

// TestPaused: SES pauses sending; the campaign is paused, nothing is
// marked sent, the recipients stay queued; the run that resumes it sends
// each once.
func TestPaused(t *testing.T) {
	st, _, _ := newDynamoStore(t)
	ses, received := sesMailer(t)
	f := newFixture(t, st)
	var bodies, addrs []string
	var msgs []campaign.SendMessage
	for range 3 {
		m, custID := f.queued()
		msgs, bodies, addrs = append(msgs, m), append(bodies, m.Body()), append(addrs, f.address(custID))
	}
	s := f.sender(&scripted{ses: ses, script: []error{errPaused}}, &fakeDeadLetters{}, t0)
	s.Concurrency = 1
	resp, err := s.Work(context.Background(), batch(bodies...))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Work = %v, %v", failures(resp), err)
	}
	c, err := st.Campaign(context.Background(), f.sh.ID, f.c.ID)
	if err != nil || c.Status != campaign.StatusPaused || !strings.Contains(c.PausedReason, "SendingPausedException") {
		t.Fatalf("campaign %s (%q), %v", c.Status, c.PausedReason, err)
	}
	for i, m := range msgs {
		if r := f.get(m); r.State != campaign.StateQueued || r.MessageID != "" || len(received(addrs[i])) != 0 {
			t.Errorf("recipient %d: %s, %d received", i, r.State, len(received(addrs[i])))
		}
	}
	// The same messages again while paused: still nothing.
	if resp, _ := s.Work(context.Background(), batch(bodies...)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("while paused: %v", failures(resp))
	}
	// The run that resumes the campaign queues them again.
	setStatus(f, campaign.StatusSending)
	if resp, _ := f.sender(ses, &fakeDeadLetters{}, t0).Work(context.Background(), batch(bodies...)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resumed: %v", failures(resp))
	}
	for i, m := range msgs {
		if r := f.get(m); r.State != campaign.StateSent || len(received(addrs[i])) != 1 {
			t.Errorf("recipient %d: %s, %d received", i, r.State, len(received(addrs[i])))
		}
	}
}

// TestRejected: a rejected e-mail fails with SES's reason, goes to the
// dead letters, and is acknowledged; delivered again, nothing happens.
func TestRejected(t *testing.T) {
	st, _, _ := newDynamoStore(t)
	ses, received := sesMailer(t)
	f := newFixture(t, st)
	m, custID := f.queued()
	dl := &fakeDeadLetters{}
	s := f.sender(&scripted{ses: ses, script: []error{errRejected}}, dl, t0)
	for delivery := 1; delivery <= 2; delivery++ {
		resp, err := s.Work(context.Background(), batch(m.Body()))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d: %v, %v", delivery, failures(resp), err)
		}
	}
	r := f.get(m)
	if r.State != campaign.StateFailed || !strings.HasPrefix(r.Reason, "rejected by SES: ") || !strings.Contains(r.Reason, "not verified") {
		t.Errorf("recipient %s (%q)", r.State, r.Reason)
	}
	if ls := dl.all(); len(ls) != 1 || ls[0].body != m.Body() || !strings.Contains(ls[0].reason, "rejected by SES") || !strings.Contains(ls[0].reason, custID) {
		t.Errorf("dead letters %+v", ls)
	}
	if n := len(received(f.address(custID))); n != 0 {
		t.Errorf("%d received", n)
	}
}

// lostAnswer sends through SES and then reports an unknown failure, as a
// connection broken after SES accepted the e-mail would; or, with
// accepted false, fails before reaching SES.
type lostAnswer struct {
	ses      sender.Mailer
	accepted bool
}

func (l lostAnswer) Send(ctx context.Context, e mail.Email) (string, error) {
	if l.accepted {
		if _, err := l.ses.Send(ctx, e); err != nil {
			return "", err
		}
	}
	return "", errors.New("ses: send email, outcome unknown: read: connection reset by peer")
}

// TestUnknownOutcome: the claim is kept, the redelivery within the lease
// waits, the one after the lease finds the claim abandoned: in doubt,
// never sent again, whether SES had it or not.
func TestUnknownOutcome(t *testing.T) {
	st, _, _ := newDynamoStore(t)
	ses, received := sesMailer(t)
	for _, accepted := range []bool{true, false} {
		f := newFixture(t, st)
		m, custID := f.queued()
		var outs []sender.Outcome
		for _, at := range []time.Time{t0, t0.Add(time.Minute), t0.Add(campaign.ClaimLease + time.Second), t0.Add(time.Hour)} {
			out, _ := f.sender(lostAnswer{ses: ses, accepted: accepted}, &fakeDeadLetters{}, at).Handle(context.Background(), m)
			outs = append(outs, out)
		}
		want := []sender.Outcome{sender.OutcomeUnknown, sender.OutcomeBusy, sender.OutcomeInDoubt, sender.OutcomeSettled}
		if !slices.Equal(outs, want) {
			t.Errorf("accepted %v: outcomes %v, want %v", accepted, outs, want)
		}
		r := f.get(m)
		if n := len(received(f.address(custID))); r.State != campaign.StateInDoubt || n != map[bool]int{true: 1}[accepted] {
			t.Errorf("accepted %v: %s, %d received", accepted, r.State, n)
		}
		if c, ok := r.Contact(); !ok || !c.At.Equal(r.SelectedAt) {
			t.Errorf("accepted %v: in doubt is in the experiment from its selection: %+v %v", accepted, c, ok)
		}
	}
}
