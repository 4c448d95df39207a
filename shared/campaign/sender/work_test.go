package sender_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/campaign/sender"
	"github.com/winback/winback/shared/mail"
	"github.com/winback/winback/shared/store/memstore"
)

// batch is an SQS event of the bodies, message ids m0, m1, ….
func batch(bodies ...string) events.SQSEvent {
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: "m" + string(rune('0'+i)), Body: b, EventSource: "aws:sqs"})
	}
	return ev
}

func failures(resp events.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// TestWork: one bad record fails alone; a bad body is dead-lettered and
// acknowledged; a record to retry is a batch item failure.
func TestWork(t *testing.T) {
	f := newFixture(t, memstore.New())
	a, _ := f.queued()
	busy, _ := f.queued()
	f.force(busy, campaign.Change{To: campaign.StateSending, NewClaim: "other", ClaimedAt: t0})
	b, _ := f.queued()
	mailer, dl := &fakeMailer{}, &fakeDeadLetters{}
	s := f.sender(mailer, dl, t0)
	resp, err := s.Work(context.Background(), batch(a.Body(), `{"shop_id":`, busy.Body(), b.Body()))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(resp); !slices.Equal(got, []string{"m2"}) {
		t.Errorf("failures %v, want [m2]", got)
	}
	if n := len(mailer.emails()); n != 2 {
		t.Errorf("%d e-mails, want 2", n)
	}
	if ls := dl.all(); len(ls) != 1 || ls[0].body != `{"shop_id":` || !strings.Contains(ls[0].reason, campaign.ErrBadSendMessage.Error()) {
		t.Errorf("dead letters %+v", ls)
	}
	for _, m := range []campaign.SendMessage{a, b} {
		if r := f.get(m); r.State != campaign.StateSent {
			t.Errorf("%s is %s", m.SendID, r.State)
		}
	}

	// A bad body whose dead letter cannot be written stays on the queue.
	dl.err = errors.New("SQS unavailable")
	resp, _ = s.Work(context.Background(), batch("nonsense"))
	if got := failures(resp); !slices.Equal(got, []string{"m0"}) {
		t.Errorf("failures %v, want [m0]", got)
	}
}

// sendBudget is the sender's: a claim, one SendEmail (30 s) and its
// record (10 s), with a 5 s margin.
const sendBudget = 45 * time.Second

// TestWorkNearDeadline: with less than a send's budget left, no record is
// begun.
func TestWorkNearDeadline(t *testing.T) {
	f := newFixture(t, memstore.New())
	a, _ := f.queued()
	b, _ := f.queued()
	mailer := &fakeMailer{}
	ctx, cancel := context.WithTimeout(context.Background(), sendBudget-5*time.Second)
	defer cancel()
	resp, err := f.sender(mailer, &fakeDeadLetters{}, t0).Work(ctx, batch(a.Body(), b.Body()))
	if err != nil || !slices.Equal(failures(resp), []string{"m0", "m1"}) {
		t.Fatalf("Work = %v, %v", failures(resp), err)
	}
	if len(mailer.emails()) != 0 || f.get(a).State != campaign.StateQueued {
		t.Error("a record was begun")
	}
}

// TestHandleNearDeadline: a recipient is claimed only with a send's budget
// left of the invocation, checked again after the rate limiter's wait;
// otherwise the message is retried and the recipient stays queued,
// unclaimed.
func TestHandleNearDeadline(t *testing.T) {
	deferred := func(t *testing.T, f *fixture, m campaign.SendMessage, mailer *fakeMailer, out sender.Outcome, err error) {
		t.Helper()
		if out != sender.OutcomeDeferred || !errors.Is(err, sender.ErrNoTime) {
			t.Fatalf("Handle = %s, %v; want %s, %v", out, err, sender.OutcomeDeferred, sender.ErrNoTime)
		}
		if r := f.get(m); r.State != campaign.StateQueued || r.ClaimID != "" || !r.ClaimedAt.IsZero() {
			t.Errorf("recipient %s, claim %q at %v: want queued, unclaimed", r.State, r.ClaimID, r.ClaimedAt)
		}
		if n := len(mailer.emails()); n != 0 {
			t.Errorf("%d e-mails", n)
		}
	}

	t.Run("too little left", func(t *testing.T) {
		f := newFixture(t, memstore.New())
		m, _ := f.queued()
		mailer := &fakeMailer{}
		s := f.sender(mailer, &fakeDeadLetters{}, t0)
		ctx, cancel := context.WithTimeout(context.Background(), sendBudget-time.Second)
		defer cancel()
		out, err := s.Handle(ctx, m)
		deferred(t, f, m, mailer, out, err)

		// Delivered again to an invocation with time enough: sent.
		ctx, cancel = context.WithTimeout(context.Background(), sendBudget+time.Minute)
		defer cancel()
		if out, err := s.Handle(ctx, m); out != sender.OutcomeSent || err != nil {
			t.Fatalf("Handle again = %s, %v", out, err)
		}
	})

	t.Run("too little left after the limiter's wait", func(t *testing.T) {
		f := newFixture(t, memstore.New())
		first, _ := f.queued()
		m, _ := f.queued()
		mailer := &fakeMailer{}
		s := f.sender(mailer, &fakeDeadLetters{}, t0)
		s.Rate = 4 // the first e-mail makes the next wait 250 ms
		if out, err := s.Handle(context.Background(), first); out != sender.OutcomeSent || err != nil {
			t.Fatalf("Handle first = %s, %v", out, err)
		}
		mailer.sent = nil
		// Enough before the wait, not after it.
		ctx, cancel := context.WithTimeout(context.Background(), sendBudget+100*time.Millisecond)
		defer cancel()
		out, err := s.Handle(ctx, m)
		deferred(t, f, m, mailer, out, err)
	})
}

// slowMailer holds each e-mail a while and records how many it held at
// once.
type slowMailer struct {
	fakeMailer
	mu       sync.Mutex
	inFlight int
	most     int
}

func (s *slowMailer) Send(ctx context.Context, e mail.Email) (string, error) {
	s.mu.Lock()
	s.inFlight++
	s.most = max(s.most, s.inFlight)
	s.mu.Unlock()
	time.Sleep(30 * time.Millisecond)
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
	return s.fakeMailer.Send(ctx, e)
}

// TestWorkConcurrency: records run in parallel, never more than
// Concurrency at once.
func TestWorkConcurrency(t *testing.T) {
	f := newFixture(t, memstore.New())
	var bodies []string
	for range 8 {
		m, _ := f.queued()
		bodies = append(bodies, m.Body())
	}
	mailer := &slowMailer{}
	s := f.sender(mailer, &fakeDeadLetters{}, t0)
	s.Concurrency = 3
	resp, err := s.Work(context.Background(), batch(bodies...))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Work = %v, %v", failures(resp), err)
	}
	if len(mailer.emails()) != 8 || mailer.most < 2 || mailer.most > 3 {
		t.Errorf("%d e-mails, at most %d at once; want 8, 2 to 3", len(mailer.emails()), mailer.most)
	}
}
