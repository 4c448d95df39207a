package order

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Why ParseAmount can fail; wrapped with the offending text.
var (
	errAmountSyntax    = errors.New("not a plain decimal number")
	errAmountPrecision = errors.New("more decimal places than the currency has")
	errAmountRange     = errors.New("out of range")
)

// MaxAmount is the largest amount, in minor units, an order total, refund or
// line-item price may have (10^12: ten billion in a two-decimal currency).
const MaxAmount int64 = 1_000_000_000_000

// maxExponent bounds the exponents ParseAmount accepts; ISO 4217 uses 0 to 4.
const maxExponent = 18

// ParseAmount converts an exact decimal text into integer minor units of a
// currency with the given exponent (2 for USD: "19.99" → 1999). It never goes
// through floating point.
//
// The accepted form is a JSON number without exponent: an optional "-", an
// integer part without leading zeros ("0", "7", "120"), and optionally "."
// followed by at least one digit. So "+1", "1e3", ".5", "5.", "007",
// "1,000.00", " 1" and "" are rejected. Fraction digits beyond the exponent
// are accepted only when they are zeros ("19.990" is 1999 in USD, "19.999"
// is an error; "100.00" is 100 in JPY, "10.5" is an error). Values outside
// int64 are an error. "-0" is 0. A form error is reported before a
// precision error, and that before a range error.
func ParseAmount(text string, exponent int) (int64, error) {
	if exponent < 0 || exponent > maxExponent {
		return 0, fmt.Errorf("amount %q: unsupported exponent %d", text, exponent)
	}
	s := text
	neg := false
	if strings.HasPrefix(s, "-") {
		neg = true
		s = s[1:]
	}
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if !digitsOnly(intPart) || (len(intPart) > 1 && intPart[0] == '0') || (hasPoint && !digitsOnly(frac)) {
		return 0, fmt.Errorf("amount %q: %w", text, errAmountSyntax)
	}
	if len(frac) > exponent && strings.Trim(frac[exponent:], "0") != "" {
		return 0, fmt.Errorf("amount %q: %w (%d)", text, errAmountPrecision, exponent)
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++ // the magnitude of math.MinInt64
	}
	var mag uint64
	push := func(d byte) bool {
		v := uint64(d - '0')
		if mag > (limit-v)/10 {
			return false
		}
		mag = mag*10 + v
		return true
	}
	for i := 0; i < len(intPart); i++ {
		if !push(intPart[i]) {
			return 0, fmt.Errorf("amount %q: %w", text, errAmountRange)
		}
	}
	for i := 0; i < exponent; i++ {
		d := byte('0')
		if i < len(frac) {
			d = frac[i]
		}
		if !push(d) {
			return 0, fmt.Errorf("amount %q: %w", text, errAmountRange)
		}
	}
	if neg {
		return -int64(mag), nil // for mag = 2^63, int64(mag) and its negation are math.MinInt64
	}
	return int64(mag), nil
}

// digitsOnly reports whether s is a non-empty run of ASCII digits.
func digitsOnly(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatAmount writes minor units as a decimal with exactly exponent fraction
// digits (1999, 2 → "19.99"; -5, 2 → "-0.05"; 500, 0 → "500"). ParseAmount
// reads it back to the same value. A negative exponent is treated as 0.
func FormatAmount(minor int64, exponent int) string {
	if exponent < 0 {
		exponent = 0
	}
	var mag uint64
	if minor < 0 {
		mag = uint64(-(minor + 1)) + 1 // no overflow for math.MinInt64
	} else {
		mag = uint64(minor)
	}
	digits := strconv.FormatUint(mag, 10)
	if len(digits) <= exponent {
		digits = strings.Repeat("0", exponent+1-len(digits)) + digits
	}
	var b strings.Builder
	b.Grow(len(digits) + 2)
	if minor < 0 {
		b.WriteByte('-')
	}
	b.WriteString(digits[:len(digits)-exponent])
	if exponent > 0 {
		b.WriteByte('.')
		b.WriteString(digits[len(digits)-exponent:])
	}
	return b.String()
}

// Exponent returns the ISO 4217 minor-unit exponent of an active currency
// code (USD 2, JPY 0, KWD 3, CLF 4), and false for anything else: unknown or
// withdrawn codes, lower case, and codes without a minor unit (XAU, XDR, XXX
// and the other non-currency X codes).
func Exponent(currency string) (int, bool) {
	e, ok := exponents[currency]
	return int(e), ok
}
