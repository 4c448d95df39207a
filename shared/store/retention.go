package store

import (
	"fmt"
	"strconv"
	"time"

	"github.com/winback/winback/shared/campaign"
)

// Campaign recipients (and their coupon items) expire: DynamoDB's TTL
// removes them a retention period after their selection. Campaigns
// themselves, with their stored reports, stay; so do the contacts (one
// per customer, overwritten) and the suppressions (kept for good).
const (
	// DefaultSendRetention keeps a recipient 400 days: a year of
	// campaigns to look back on, and past any attribution window.
	DefaultSendRetention = 400 * 24 * time.Hour
	// MinSendRetention is the shortest allowed: a recipient must outlive
	// its campaign's measurement (the longest attribution window, the week
	// it is measured again after it, and a day's margin).
	MinSendRetention = time.Duration(campaign.MaxDays+7+1) * 24 * time.Hour
)

// EnvSendRetentionDays is the environment variable (set by the stack from
// its sendRetentionDays context) that carries the retention in days.
const EnvSendRetentionDays = "WINBACK_SEND_RETENTION_DAYS"

// WithSendRetention sets how long campaign recipients and their coupons
// are kept before DynamoDB's TTL removes them; at least MinSendRetention
// (ParseSendRetention checks a configured value).
func WithSendRetention(d time.Duration) Option {
	return func(s *Store) { s.sendRetention = max(d, MinSendRetention) }
}

// ParseSendRetention reads a retention in whole days (EnvSendRetentionDays):
// "" gives DefaultSendRetention; fewer days than MinSendRetention is an error.
func ParseSendRetention(days string) (time.Duration, error) {
	if days == "" {
		return DefaultSendRetention, nil
	}
	n, err := strconv.Atoi(days)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: not a number of days", EnvSendRetentionDays, days)
	}
	d := time.Duration(n) * 24 * time.Hour
	if d < MinSendRetention {
		return 0, fmt.Errorf("%s=%d: at least %d days (the longest attribution window, %d days, a week of measuring after it and a day)",
			EnvSendRetentionDays, n, int(MinSendRetention/(24*time.Hour)), campaign.MaxDays)
	}
	return d, nil
}

// sendExpiry is the TTL (Unix seconds) of a recipient selected at at:
// the retention after its selection, or after now when it is written
// later than that (a run replayed for a past day, a test's clock), so
// that no item is written already expired.
func (s *Store) sendExpiry(at time.Time) int64 {
	d := s.sendRetention
	if d == 0 {
		d = DefaultSendRetention
	}
	if now := s.now(); now.After(at) {
		at = now
	}
	return at.Add(d).Unix()
}
