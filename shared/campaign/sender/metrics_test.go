package sender_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/winback/winback/shared/mail"
	"github.com/winback/winback/shared/store/memstore"
)

// emailsSent returns the EmailsSent values of the EMF lines in logs, and
// the namespaces they went to.
func emailsSent(t *testing.T, logs *bytes.Buffer) (values []float64, namespaces []string) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var line struct {
			AWS *struct {
				CloudWatchMetrics []struct {
					Namespace string
					Metrics   []struct{ Name string }
				}
			} `json:"_aws"`
			EmailsSent float64
		}
		if err := json.Unmarshal([]byte(l), &line); err != nil || line.AWS == nil {
			continue
		}
		d := line.AWS.CloudWatchMetrics[0]
		if len(d.Metrics) != 1 || d.Metrics[0].Name != "EmailsSent" {
			t.Errorf("metric line %s: want EmailsSent alone", l)
		}
		values = append(values, line.EmailsSent)
		namespaces = append(namespaces, d.Namespace)
	}
	logs.Reset()
	return values, namespaces
}

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
	if got, ns := emailsSent(t, &logs); fmt.Sprint(got) != "[1 1]" || fmt.Sprint(ns) != "[winback/Test winback/Test]" || len(mailer.emails()) != 2 {
		t.Errorf("EmailsSent %v in %v, %d e-mails; want [1 1] in winback/Test, 2 e-mails", got, ns, len(mailer.emails()))
	}
	// GIVEN a delivered again: THEN nothing is sent, nor counted
	if _, err := s.Work(context.Background(), batch(a.Body())); err != nil {
		t.Fatal(err)
	}
	if got, _ := emailsSent(t, &logs); len(got) != 0 || len(mailer.emails()) != 2 {
		t.Errorf("redelivered: EmailsSent %v, %d e-mails; want none, 2 e-mails", got, len(mailer.emails()))
	}

	// GIVEN a sender without a namespace: THEN an e-mail sent writes no metric
	c, _ := f.queued()
	s2 := f.sender(mailer, &fakeDeadLetters{}, t0)
	s2.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	if _, err := s2.Work(context.Background(), batch(c.Body())); err != nil {
		t.Fatal(err)
	}
	if got, _ := emailsSent(t, &logs); len(got) != 0 || len(mailer.emails()) != 3 {
		t.Errorf("without a namespace: EmailsSent %v, %d e-mails; want none, 3 e-mails", got, len(mailer.emails()))
	}
}
