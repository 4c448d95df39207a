package sender

import (
	"context"
	"sync"
	"time"
)

// DefaultRate is the sending rate of a Sender without one: SES's
// sandbox MaxSendRate, one e-mail per second.
const DefaultRate = 1.0

// Rate adaptation (AIMD): a throttled send halves the rate, down to
// maxRate/minRateDivisor; each e-mail SES accepts adds
// maxRate/increaseSteps, up to maxRate, so a halved rate is whole again
// after increaseSteps/2 e-mails.
const (
	minRateDivisor = 64
	increaseSteps  = 20
)

// limiter paces e-mails: one every 1/rate seconds across all the
// goroutines of a Sender (a token bucket of one token), with the rate
// adapted to SES's throttling.
type limiter struct {
	mu      sync.Mutex
	maxRate float64
	rate    float64
	next    time.Time // when the next e-mail may start
}

func newLimiter(rate float64) *limiter {
	if !(rate > 0) {
		rate = DefaultRate
	}
	return &limiter{maxRate: rate, rate: rate}
}

// wait blocks until the caller may send one e-mail, or ctx ends (the
// slot is then lost: a little slower, never faster).
func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(time.Duration(float64(time.Second) / l.rate))
	l.mu.Unlock()
	d := at.Sub(now)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// throttled halves the rate and returns it.
func (l *limiter) throttled() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate = max(l.rate/2, l.maxRate/minRateDivisor)
	return l.rate
}

// sent raises the rate by one step after an accepted e-mail.
func (l *limiter) sent() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate = min(l.rate+l.maxRate/increaseSteps, l.maxRate)
}

// current is the rate now, e-mails per second.
func (l *limiter) current() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate
}
