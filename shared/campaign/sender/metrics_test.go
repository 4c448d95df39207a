package sender_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/winback/winback/shared/metrics/metricstest"
	"log/slog"
	"testing"

	"github.com/winback/winback/shared/mail"
	"github.com/winback/winback/shared/store/memstore"
)

// TestEmailsSentMetric: each e-mail SES accepted writes one EmailsSent
// line of 1; a rejected e-mail and a message delivered again write none,
// nor does a sender without a namespace.
func TestEmailsSentMetric(t *testing.T) {
	f := newFixture(t, memstore.New())
	a, _ := f.queued()
	rejected, _ := f.queued()
	b, _ := f.queued()
	mailer := &fakeMailer{script: []result{{}, {err: fmt.Errorf("%w: invalid address", mail.ErrRejected)}}}
	s := f.sender(mailer, &fakeDeadLetters{}, t0)
	var logs bytes.Buffer
	s.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	s.MetricsNamespace = "winback/Test"
	s.Concurrency = 1 // a, then the rejected one, then b: the mailer's script in order

	// GIVEN three recipients, the second rejected by SES
	if _, err := s.Work(context.Background(), batch(a.Body(), rejected.Body(), b.Body())); err != nil {
		t.Fatal(err)
	}
	// THEN two lines of one e-mail each
	if got, ns := metricstest.Take(t, &logs, "EmailsSent"); fmt.Sprint(got) != "[1 1]" || fmt.Sprint(ns) != "[winback/Test winback/Test]" || len(mailer.emails()) != 2 {
		t.Errorf("EmailsSent %v in %v, %d e-mails; want [1 1] in winback/Test, 2 e-mails", got, ns, len(mailer.emails()))
	}
	// GIVEN a delivered again: THEN nothing is sent, nor counted
	if _, err := s.Work(context.Background(), batch(a.Body())); err != nil {
		t.Fatal(err)
	}
	if got, _ := metricstest.Take(t, &logs, "EmailsSent"); len(got) != 0 || len(mailer.emails()) != 2 {
		t.Errorf("redelivered: EmailsSent %v, %d e-mails; want none, 2 e-mails", got, len(mailer.emails()))
	}

	// GIVEN a sender without a namespace: THEN an e-mail sent writes no metric
	c, _ := f.queued()
	s2 := f.sender(mailer, &fakeDeadLetters{}, t0)
	s2.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	if _, err := s2.Work(context.Background(), batch(c.Body())); err != nil {
		t.Fatal(err)
	}
	if got, _ := metricstest.Take(t, &logs, "EmailsSent"); len(got) != 0 || len(mailer.emails()) != 3 {
		t.Errorf("without a namespace: EmailsSent %v, %d e-mails; want none, 3 e-mails", got, len(mailer.emails()))
	}
}
