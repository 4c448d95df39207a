package httpapi

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits are the request limits RequireKey enforces in each warm instance
// (each Lambda execution environment, or the dev server's process): they
// are not shared between instances, so what a client gets through in all
// grows with the number of instances its requests reach. A zero rate turns
// a limit off.
type Limits struct {
	// ShopRate is how many requests per second one shop may make, after
	// authentication; ShopBurst how many it may make at once.
	ShopRate  float64
	ShopBurst int
	// UnauthRate is how many requests per second without a valid API key
	// (none, malformed, unknown, revoked or with a wrong secret) one client
	// address may make; UnauthBurst how many at once. Past it, such a
	// request is answered 429 before any database read; a valid key that
	// the instance has verified lately is never held back by it.
	UnauthRate  float64
	UnauthBurst int
}

// The environment variables LimitsFromEnv reads (infra/ sets them).
const (
	EnvShopRate    = "WINBACK_SHOP_RATE"
	EnvShopBurst   = "WINBACK_SHOP_BURST"
	EnvUnauthRate  = "WINBACK_UNAUTH_RATE"
	EnvUnauthBurst = "WINBACK_UNAUTH_BURST"
)

// DefaultLimits are the functions' limits when the environment does not
// set them:
//
//   - 20 requests/s per shop, 40 at once: an order request takes about
//     30 ms in the ingest function, so one shop can keep at most 60% of an
//     instance busy and others still get through it; a shop sending one
//     order at a time, or batches of 100 from a few workers, is far below.
//   - 1 request/s without a valid key per address, 20 at once: enough for
//     someone fixing a misconfigured key by hand, and it bounds what a
//     flood of forged keys from one address costs in database reads (one
//     per second per instance at most).
var DefaultLimits = Limits{ShopRate: 20, ShopBurst: 40, UnauthRate: 1, UnauthBurst: 20}

// LimitsFromEnv reads the limits from the environment through getenv
// (os.Getenv): each variable that is unset takes DefaultLimits' value; a
// rate of 0 turns its limit off. A value that is not a number, a negative
// or infinite rate, or a burst below 1 for a limit that is on is an error.
func LimitsFromEnv(getenv func(string) string) (Limits, error) {
	l := DefaultLimits
	var errs []string
	rate := func(name string, v *float64) {
		s := strings.TrimSpace(getenv(name))
		if s == "" {
			return
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			errs = append(errs, fmt.Sprintf("%s=%q: want requests per second, 0 or more", name, s))
			return
		}
		*v = f
	}
	burst := func(name string, v *int) {
		s := strings.TrimSpace(getenv(name))
		if s == "" {
			return
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Sprintf("%s=%q: want a whole number of requests", name, s))
			return
		}
		*v = n
	}
	rate(EnvShopRate, &l.ShopRate)
	burst(EnvShopBurst, &l.ShopBurst)
	rate(EnvUnauthRate, &l.UnauthRate)
	burst(EnvUnauthBurst, &l.UnauthBurst)
	if l.ShopRate > 0 && l.ShopBurst < 1 {
		errs = append(errs, EnvShopBurst+" must be at least 1 when "+EnvShopRate+" is not 0")
	}
	if l.UnauthRate > 0 && l.UnauthBurst < 1 {
		errs = append(errs, EnvUnauthBurst+" must be at least 1 when "+EnvUnauthRate+" is not 0")
	}
	if len(errs) > 0 {
		return Limits{}, fmt.Errorf("limits: %s", strings.Join(errs, "; "))
	}
	return l, nil
}

// maxBuckets bounds each limiter's memory (about 100 bytes a bucket): past
// it, the buckets that have refilled are dropped (a full bucket is the same
// as none), and the keys that still find no room share one overflow bucket.
const maxBuckets = 10_000

// overflowKey is the bucket of the keys a full limiter has no room for.
const overflowKey = "\x00overflow"

// limiter is a set of token buckets, one per key (a shop id, a client
// address), each holding up to burst tokens and refilling at rate tokens
// per second. A request spends one token.
type limiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	pruned  time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
	// refused is set by a refusal and cleared by the next request allowed:
	// the first refusal of a run is the one worth logging.
	refused bool
}

// newLimiter returns a limiter, or nil (no limit) for a rate of 0.
func newLimiter(rate float64, burst int) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{rate: rate, burst: float64(max(burst, 1)), buckets: map[string]*bucket{}}
}

// refill brings b's tokens up to now.
func (l *limiter) refill(b *bucket, now time.Time) {
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.at = now
	}
}

// untilToken is how long b takes to hold a whole token again.
func (l *limiter) untilToken(b *bucket) time.Duration {
	return time.Duration(math.Ceil((1 - b.tokens) / l.rate * float64(time.Second)))
}

// take spends a token of key's bucket at now. When there is none, wait is
// how long until there is (the request is refused), and first tells whether
// this is the first refusal since the key's last allowed request.
func (l *limiter) take(key string, now time.Time) (wait time.Duration, first bool) {
	if l == nil {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now)
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		b.refused = false
		return 0, false
	}
	first = !b.refused
	b.refused = true
	return l.untilToken(b), first
}

// wait is how long until key's bucket holds a token (0: it holds one now),
// without spending it.
func (l *limiter) wait(key string, now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) < maxBuckets {
			return 0 // a key without a bucket has a full one
		}
		if b, ok = l.buckets[overflowKey]; !ok {
			return 0
		}
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		return 0
	}
	return l.untilToken(b)
}

// bucket returns key's bucket, making a full one if there is room, and
// the overflow bucket if there is none. The caller holds the lock.
func (l *limiter) bucket(key string, now time.Time) *bucket {
	if b, ok := l.buckets[key]; ok {
		return b
	}
	if len(l.buckets) >= maxBuckets && now.Sub(l.pruned) >= time.Second {
		l.pruned = now
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k)
			}
		}
	}
	if len(l.buckets) >= maxBuckets {
		key = overflowKey
		if b, ok := l.buckets[key]; ok {
			return b
		}
	}
	b := &bucket{tokens: l.burst, at: now}
	l.buckets[key] = b
	return b
}

// size is how many buckets the limiter holds (tests).
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// clientAddress is the key a request's client is limited under: the source
// address API Gateway saw (the Lambda adapter puts it in RemoteAddr; so does
// net/http), never a header the client writes. IPv6 addresses count by
// their /64, which one client usually holds whole.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		if host == "" {
			return "unknown"
		}
		return host
	}
	addr = addr.Unmap()
	if addr.Is6() {
		if p, err := addr.Prefix(64); err == nil {
			return p.String()
		}
	}
	return addr.String()
}

// TooManyRequests is the 429 problem answering a client over a limit, with
// Retry-After in whole seconds (at least 1).
func TooManyRequests(detail string, wait time.Duration) *Problem {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	p := &Problem{Type: TypeRateLimited, Title: "Too many requests", Status: http.StatusTooManyRequests, Detail: detail}
	return p.WithHeader("Retry-After", strconv.Itoa(secs))
}
