package campaign

import (
	"fmt"
	"io"
)

// CouponAlphabet is the coupon code alphabet: the 32 uppercase letters and
// digits left once the easily confused 0, O, 1 and I are taken out.
const CouponAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// CouponBits is the entropy of a coupon code: 8 symbols of 5 bits.
const CouponBits = 40

// NewCoupon draws a coupon code "WB-XXXX-XXXX" from r (crypto/rand.Reader
// in production): 5 bytes = 40 bits, split into eight 5-bit symbols of
// CouponAlphabet, so every code is equally likely (2^40 ≈ 1.1·10^12 of
// them). Codes are unguessable, not unique: a campaign of n codes expects
// n²/2^41 collisions (0.45 at a million), so the caller stores each code
// with a conditional write and draws again on a clash. The error is r's.
func NewCoupon(r io.Reader) (string, error) {
	var b [5]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("draw coupon code: %w", err)
	}
	v := uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4])
	out := []byte("WB-XXXX-XXXX")
	pos := [8]int{3, 4, 5, 6, 8, 9, 10, 11}
	for i := 7; i >= 0; i-- {
		out[pos[i]] = CouponAlphabet[v&31]
		v >>= 5
	}
	return string(out), nil
}

// ValidCoupon reports whether s is a coupon code as NewCoupon makes them:
// "WB-", four symbols, "-", four symbols, all of CouponAlphabet (so no
// lowercase and no 0, O, 1 or I).
func ValidCoupon(s string) bool {
	if len(s) != 12 || s[:3] != "WB-" || s[7] != '-' {
		return false
	}
	for i := 3; i < 12; i++ {
		if i == 7 {
			continue
		}
		if !inAlphabet(s[i]) {
			return false
		}
	}
	return true
}

func inAlphabet(c byte) bool {
	return ('2' <= c && c <= '9') || ('A' <= c && c <= 'Z' && c != 'I' && c != 'O')
}
