package order

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on the values of an order.
const (
	MaxIDLength        = 128       // order and customer ids, in characters
	MaxEmailLength     = 254       // e-mail addresses, in bytes (they are ASCII)
	MaxFirstNameLength = 100       // first names, in characters
	MaxTitleLength     = 255       // line-item titles, in characters
	MaxSKULength       = 128       // line-item SKUs, in characters
	MaxLineItems       = 250       // line items per order
	MaxQuantity        = 1_000_000 // units per line item
	MaxDiscountCodes   = 20        // discount codes per order
	MaxCodeLength      = 64        // discount codes, in characters
)

// earliest is the first instant an order may carry (online shops are younger).
var earliest = time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC)

// futureSlack is how far past Rules.Now a timestamp may be (clock skew, time
// zones typed wrongly by hand).
const futureSlack = 24 * time.Hour

// checkID reads an order or customer id: a string of 1..128 characters
// without control characters, invisible characters or surrounding white
// space, or a non-negative JSON integer kept as its exact decimal text.
// detail is "" when it is valid.
// checkCustomerID reads a customer id: an id (checkID) without "/", so
// that every customer can be addressed as one path segment (GET and DELETE
// /v1/customers/{id}: API Gateway's HTTP APIs decode "%2F" before routing).
func checkCustomerID(v *jvalue) (id, detail string) {
	id, detail = checkID(v)
	if detail == "" && strings.Contains(id, "/") {
		return "", `must not contain "/" (a customer id is one segment of /v1/customers/{id})`
	}
	return id, detail
}

func checkID(v *jvalue) (id, detail string) {
	switch v.kind {
	case jsonString:
		s := v.text
		switch {
		case s == "":
			return "", "must not be empty"
		case v.badUTF8:
			return "", "must be valid UTF-8"
		case strings.TrimSpace(s) != s:
			return "", "must not start or end with white space"
		case hasControl(s):
			return "", "must not contain control characters"
		case hasInvisible(s):
			return "", invisibleDetail
		case utf8.RuneCountInString(s) > MaxIDLength:
			return "", "must be at most 128 characters"
		}
		return s, ""
	case jsonNumber:
		if !digitsOnly(v.text) {
			return "", "must be a string or a non-negative integer"
		}
		if len(v.text) > MaxIDLength {
			return "", "must be at most 128 characters"
		}
		return v.text, ""
	}
	return "", "must be a string or a non-negative integer, not " + v.kind.String()
}

// checkCode reads a discount code: a string, trimmed and upper-cased, of
// 1..MaxCodeLength characters that are all printable (letters, marks,
// digits, punctuation, symbols and the ASCII space): no control
// characters, no invisible ones, no other spaces. detail is "" when it is
// valid.
func checkCode(v *jvalue) (code, detail string) {
	if v.kind != jsonString {
		return "", "must be a string, not " + v.kind.String()
	}
	return normalizeCode(v.text, v.badUTF8)
}

// normalizeCode trims and upper-cases a discount code and checks it as
// checkCode does; badUTF8 marks text that was not valid UTF-8.
func normalizeCode(raw string, badUTF8 bool) (code, detail string) {
	s := strings.ToUpper(strings.TrimSpace(raw))
	switch {
	case badUTF8:
		return "", "must be valid UTF-8"
	case s == "":
		return "", "must not be empty"
	case hasControl(s):
		return "", "must not contain control characters"
	case hasInvisible(s):
		return "", invisibleDetail
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return "", "must contain only printable characters (letters, digits, punctuation, symbols and plain spaces)"
	case utf8.RuneCountInString(s) > MaxCodeLength:
		return "", "must be at most " + strconv.Itoa(MaxCodeLength) + " characters"
	}
	return s, ""
}

// addCode appends d to codes, or adds its amount (capped at MaxAmount) to
// the code already there: a code is listed once.
func addCode(codes []DiscountCode, d DiscountCode) []DiscountCode {
	for i := range codes {
		if codes[i].Code == d.Code {
			codes[i].Amount = min(codes[i].Amount+d.Amount, MaxAmount)
			return codes
		}
	}
	return append(codes, d)
}

// checkText reads an optional free-text value: trimmed, without control
// characters, at most max characters. "" (after trimming) means absent.
func checkText(v *jvalue, max int) (text, detail string) {
	if v.kind != jsonString {
		return "", "must be a string, not " + v.kind.String()
	}
	if v.badUTF8 {
		return "", "must be valid UTF-8"
	}
	s := strings.TrimSpace(v.text)
	if hasControl(s) {
		return "", "must not contain control characters"
	}
	if utf8.RuneCountInString(s) > max {
		return "", "must be at most " + strconv.Itoa(max) + " characters"
	}
	return s, ""
}

// hasControl reports whether s holds a Unicode control character (C0, DEL
// or C1).
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// invisibleDetail is the detail for a value with an invisible character.
const invisibleDetail = "must not contain invisible characters (zero-width spaces and joiners, bidirectional controls, byte order marks, soft hyphens, variation selectors)"

// hasInvisible reports whether s holds a character that shows nothing by
// itself, so that two different values would look the same: a format
// character (Unicode category Cf: zero-width space, joiners, bidirectional
// marks, overrides and isolates, the BOM, the soft hyphen, tags...), a
// variation selector or another default-ignorable code point (Hangul
// fillers, the combining grapheme joiner).
func hasInvisible(s string) bool {
	for _, r := range s {
		if r >= 0xAD && unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) {
			return true
		}
	}
	return false
}

// sanitizeText makes text from a trusted sender fit our limits instead of
// rejecting it: control characters become spaces, white space is trimmed
// and the text is cut to max characters.
func sanitizeText(s string, max int) string {
	if hasControl(s) {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, s)
	}
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		n := 0
		for i := range s {
			if n == max {
				s = strings.TrimSpace(s[:i])
				break
			}
			n++
		}
	}
	return s
}

// normalizeEmail trims and lower-cases an e-mail address and checks that it
// is a bare RFC 5321 address (dot-atom local part, host name domain) that SES
// can send to: ASCII only, no display name, no quoted local part, no IP
// literal, at most 254 bytes. detail is "" when it is valid.
func normalizeEmail(raw string) (email, detail string) {
	s := strings.ToLower(strings.TrimSpace(raw))
	const hint = "must be an e-mail address like name@example.com"
	switch {
	case s == "":
		return "", hint
	case strings.ContainsAny(s, "<>") || strings.ContainsAny(s, " \t"):
		return "", "must be a bare address like name@example.com, without display name"
	case len(s) > MaxEmailLength:
		return "", "must be at most 254 characters"
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return "", "must be an ASCII address (use punycode for international domain names)"
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", hint
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 || !dotAtom(local) || !hostName(domain) {
		return "", hint
	}
	return s, ""
}

// dotAtom reports whether s is an RFC 5322 dot-atom: atext runs separated by
// single dots.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+/=?^_`{|}~-.", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// hostName reports whether s is a DNS host name with at least two labels of
// letters, digits and inner hyphens, and a top-level label that is not
// numeric.
func hostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels, last := 0, ""
	for rest := s; ; {
		l, after, more := strings.Cut(rest, ".")
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
		labels, last = labels+1, l
		if !more {
			break
		}
		rest = after
	}
	return labels >= 2 && !digitsOnly(last)
}

// checkTime reads an RFC 3339 timestamp with a UTC offset that is neither
// before 1995-01-01 nor more than a day after now; the result is in UTC.
func checkTime(v *jvalue, now time.Time) (time.Time, string) {
	if v.kind != jsonString {
		return time.Time{}, "must be an RFC 3339 timestamp string like 2024-05-01T12:00:00Z, not " + v.kind.String()
	}
	t, ok := parseRFC3339(v.text)
	if !ok {
		return time.Time{}, "must be an RFC 3339 timestamp with a UTC offset, like 2024-05-01T12:00:00Z or 2024-05-01T14:00:00+02:00"
	}
	switch {
	case t.Before(earliest):
		return time.Time{}, "must not be before 1995-01-01"
	case t.After(now.Add(futureSlack)):
		return time.Time{}, "must not be more than a day in the future"
	}
	return t, ""
}

// parseRFC3339 parses the RFC 3339 date-time production strictly
// (YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM), "t" and "z" allowed, fraction
// of 1 to 9 digits, offset hours 00..23) and returns the instant in UTC.
// time.Parse alone also accepts "," fractions and a +24:00 offset.
func parseRFC3339(s string) (time.Time, bool) {
	const base = len("2006-01-02T15:04:05")
	if len(s) < base+1 {
		return time.Time{}, false
	}
	for i := 0; i < base; i++ {
		c := s[i]
		var ok bool
		switch i {
		case 4, 7:
			ok = c == '-'
		case 10:
			ok = c == 'T' || c == 't'
		case 13, 16:
			ok = c == ':'
		default:
			ok = c >= '0' && c <= '9'
		}
		if !ok {
			return time.Time{}, false
		}
	}
	rest := s[base:]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return time.Time{}, false
		}
		rest = rest[n:]
	}
	switch {
	case rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
		digitsOnly(rest[1:3]) && digitsOnly(rest[4:6]) && rest[1:3] <= "23" && rest[4:6] <= "59":
	default:
		return time.Time{}, false
	}
	norm := s
	if s[10] == 't' || s[len(s)-1] == 'z' {
		norm = strings.ToUpper(s)
	}
	t, err := time.Parse(time.RFC3339Nano, norm)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// amountText returns the decimal text of a money value given as a JSON
// string or number.
func amountText(v *jvalue) (string, string) {
	switch v.kind {
	case jsonString:
		return v.text, ""
	case jsonNumber:
		if strings.ContainsAny(v.text, "eE") {
			return "", `must be a plain decimal like "19.99", without exponent`
		}
		return v.text, ""
	}
	return "", `must be a decimal amount, as a string like "19.99" or a number, not ` + v.kind.String()
}

// checkAmount reads a money value in minor units of currency (exponent exp):
// a JSON string or number holding a plain decimal, 0 <= amount <= MaxAmount.
// When the currency is unknown (exp < 0) only the form and the sign are
// checked.
func checkAmount(v *jvalue, currency string, exp int) (int64, string) {
	text, detail := amountText(v)
	if detail != "" {
		return 0, detail
	}
	const syntax = `must be a plain decimal like "19.99" (optional "-", no "+", exponent, spaces or separators)`
	if exp < 0 {
		if _, err := ParseAmount(text, 0); errors.Is(err, errAmountSyntax) {
			return 0, syntax
		}
		if strings.HasPrefix(text, "-") && strings.Trim(text, "-0.") != "" {
			return 0, "must not be negative"
		}
		return 0, ""
	}
	n, err := ParseAmount(text, exp)
	switch {
	case errors.Is(err, errAmountSyntax):
		return 0, syntax
	case errors.Is(err, errAmountPrecision):
		return 0, "has more decimal places than " + currency + " has (" + strconv.Itoa(exp) + ")"
	case err != nil || n > MaxAmount:
		if strings.HasPrefix(text, "-") {
			return 0, "must not be negative"
		}
		return 0, "must be at most " + FormatAmount(MaxAmount, exp)
	case n < 0:
		return 0, "must not be negative"
	}
	return n, ""
}

// checkQuantity reads a line-item quantity: a JSON integer from 1 to
// MaxQuantity.
func checkQuantity(v *jvalue) (int64, string) {
	const want = "must be an integer from 1 to 1000000"
	if v.kind != jsonNumber {
		return 0, want + ", not " + v.kind.String()
	}
	n, err := strconv.ParseInt(v.text, 10, 64)
	if err != nil || n < 1 || n > MaxQuantity {
		return 0, want
	}
	return n, ""
}
