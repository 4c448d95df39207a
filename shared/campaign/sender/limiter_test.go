package sender

import (
	"context"
	"math"
	"testing"
	"time"
)

// TestLimiterAIMD: each throttle halves the rate, down to a floor; each
// accepted e-mail adds a twentieth of the configured rate back.
func TestLimiterAIMD(t *testing.T) {
	l := newLimiter(16)
	want := []float64{8, 4, 2, 1, 0.5, 0.25, 0.25}
	for i, w := range want {
		if got := l.throttled(); got != w {
			t.Fatalf("throttle %d: rate %v, want %v", i+1, got, w)
		}
	}
	for range increaseSteps - 1 {
		l.sent()
	}
	if got, want := l.current(), 0.25+float64(increaseSteps-1)*16/increaseSteps; math.Abs(got-want) > 1e-9 {
		t.Errorf("after %d sends: %v", increaseSteps-1, got)
	}
	l.sent()
	l.sent()
	if got := l.current(); got != 16 {
		t.Errorf("restored to %v, want 16 (never above the configured rate)", got)
	}
	if got := newLimiter(0).current(); got != DefaultRate {
		t.Errorf("no rate: %v, want DefaultRate", got)
	}
}

// TestLimiterPaces: n e-mails at rate r take about (n-1)/r.
func TestLimiterPaces(t *testing.T) {
	l := newLimiter(100)
	start := time.Now()
	for range 21 {
		if err := l.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 190*time.Millisecond || d > 2*time.Second {
		t.Errorf("21 e-mails at 100/s took %v, want about 200 ms", d)
	}
	// A cancelled wait returns at once.
	l = newLimiter(0.01)
	_ = l.wait(context.Background()) // the first slot is free
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := l.wait(ctx); err == nil {
		t.Error("a wait of 100 s outlived its context")
	}
}
