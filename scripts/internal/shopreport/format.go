package shopreport

import (
	"math"
	"strconv"
	"strings"

	"github.com/winback/winback/shared/order"
)

// Numbers for people, in English conventions: thousands separated by
// commas, a decimal point, and a minus sign (U+2212) for negatives.

const minus = "−"

// symbols are the currency symbols shown before an amount. A symbol several
// currencies share ($, kr) is kept for the most common one only; any other
// currency is written with its ISO code ("CHF 1,234.50").
var symbols = map[string]string{
	"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CNY": "CN¥", "INR": "₹", "KRW": "₩",
	"CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "HKD": "HK$", "SGD": "S$", "MXN": "MX$", "BRL": "R$",
	"ILS": "₪", "VND": "₫", "PHP": "₱", "UAH": "₴", "NGN": "₦", "TRY": "₺", "THB": "฿",
}

// currencyPrefix is what an amount of currency starts with.
func currencyPrefix(currency string) string {
	if s, ok := symbols[currency]; ok {
		return s
	}
	if currency == "" {
		return ""
	}
	return currency + "\u00a0"
}

// exponentOf is currency's ISO 4217 exponent (2 for an unknown code).
func exponentOf(currency string) int {
	if e, ok := order.Exponent(currency); ok {
		return e
	}
	return 2
}

// FormatMoney writes an amount of minor units (rounded to a whole minor
// unit) in currency, with the currency's decimals: FormatMoney(123456,
// "EUR") is "€1,234.56", FormatMoney(1500, "JPY") "¥1,500".
func FormatMoney(minor float64, currency string) string {
	if math.IsNaN(minor) || math.IsInf(minor, 0) {
		return "–"
	}
	m := int64(math.Round(minor))
	s := order.FormatAmount(m, exponentOf(currency))
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = minus, s[1:]
	}
	return sign + currencyPrefix(currency) + groupDigits(s)
}

// FormatMoneyWhole writes an amount of minor units rounded to whole
// currency units: FormatMoneyWhole(54266925, "EUR") is "€542,669".
func FormatMoneyWhole(minor float64, currency string) string {
	s := FormatNumber(math.Round(minor/math.Pow10(exponentOf(currency))), 0)
	sign := ""
	if rest, ok := strings.CutPrefix(s, minus); ok {
		sign, s = minus, rest
	}
	return sign + currencyPrefix(currency) + s
}

// FormatMoneyShort writes an amount of currency units compactly for chart
// axes: "€1.2k", "€15", "€0.5", "$3M".
func FormatMoneyShort(units float64, currency string) string {
	sign := ""
	if units < 0 {
		sign, units = minus, -units
	}
	return sign + currencyPrefix(currency) + compact(units)
}

// compact writes a non-negative number with at most 3 significant digits
// and a k, M or B suffix.
func compact(v float64) string {
	suffix := ""
	for _, s := range []struct {
		div float64
		suf string
	}{{1e9, "B"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= s.div {
			v, suffix = v/s.div, s.suf
			break
		}
	}
	return strconv.FormatFloat(sig(v, 3), 'f', -1, 64) + suffix
}

// FormatInt writes n with thousands separators: 1234567 is "1,234,567".
func FormatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	if strings.HasPrefix(s, "-") {
		return minus + groupDigits(s[1:])
	}
	return groupDigits(s)
}

// FormatNumber writes v with decimals fraction digits and thousands
// separators.
func FormatNumber(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	sign := ""
	if strings.HasPrefix(s, "-") {
		s = s[1:]
		if strings.Trim(s, "0.") != "" {
			sign = minus
		}
	}
	return sign + groupDigits(s)
}

// FormatPercent writes a fraction as a percentage with one decimal
// (0.1234 is "12.3%"), or two when it is under 1% but not zero.
func FormatPercent(v float64) string {
	p := v * 100
	d := 1
	if a := math.Abs(p); a > 0 && a < 0.995 {
		d = 2
	}
	return FormatNumber(p, d) + "%"
}

// groupDigits puts commas between the thousands of a decimal's integer
// part ("1234567.89" → "1,234,567.89").
func groupDigits(s string) string {
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	if len(intPart) <= 3 {
		return s
	}
	var b strings.Builder
	first := len(intPart) % 3
	if first > 0 {
		b.WriteString(intPart[:first])
	}
	for i := first; i < len(intPart); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(intPart[i : i+3])
	}
	return b.String() + frac
}
