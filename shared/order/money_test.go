package order

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		text string
		exp  int
		want int64
		err  error // nil, errAmountSyntax, errAmountPrecision or errAmountRange
	}{
		// Exactness: what a float would get wrong.
		{"0.1", 2, 10, nil},
		{"0.2", 2, 20, nil},
		{"0.3", 2, 30, nil},
		{"19.99", 2, 1999, nil},
		{"1.005", 3, 1005, nil},
		{"0.07", 2, 7, nil},
		{"4.35", 2, 435, nil}, // 4.35 * 100 = 434.99999999999994 in float64
		{"9007199254740993", 0, 9007199254740993, nil},
		// Exponents: 0-, 2-, 3- and 4-decimal currencies.
		{"1500", 0, 1500, nil},
		{"1500.00", 0, 1500, nil}, // extra zeros are fine
		{"10.5", 0, 0, errAmountPrecision},
		{"12.345", 3, 12345, nil},
		{"12.3456", 3, 0, errAmountPrecision},
		{"1.2345", 4, 12345, nil},
		{"5", 2, 500, nil},
		{"5.1", 2, 510, nil},
		{"19.990", 2, 1999, nil},
		{"19.999", 2, 0, errAmountPrecision},
		{"0.000000000000000000000", 2, 0, nil},
		// Signs and zero.
		{"0", 2, 0, nil},
		{"-0", 2, 0, nil},
		{"-0.00", 2, 0, nil},
		{"-1.50", 2, -150, nil},
		{"+1", 2, 0, errAmountSyntax},
		{"--1", 2, 0, errAmountSyntax},
		// Forms we reject.
		{"", 2, 0, errAmountSyntax},
		{"-", 2, 0, errAmountSyntax},
		{".5", 2, 0, errAmountSyntax},
		{"5.", 2, 0, errAmountSyntax},
		{"1e3", 2, 0, errAmountSyntax},
		{"1E3", 2, 0, errAmountSyntax},
		{"007", 2, 0, errAmountSyntax},
		{"00.5", 2, 0, errAmountSyntax},
		{"1,000.00", 2, 0, errAmountSyntax},
		{"1 000", 2, 0, errAmountSyntax},
		{" 1", 2, 0, errAmountSyntax},
		{"1 ", 2, 0, errAmountSyntax},
		{"1.2.3", 2, 0, errAmountSyntax},
		{"0x10", 2, 0, errAmountSyntax},
		{"NaN", 2, 0, errAmountSyntax},
		{"Inf", 2, 0, errAmountSyntax},
		{"١٢", 2, 0, errAmountSyntax}, // Arabic-Indic digits
		{"$5", 2, 0, errAmountSyntax},
		// Limits of int64.
		{"92233720368547758.07", 2, math.MaxInt64, nil},
		{"92233720368547758.08", 2, 0, errAmountRange},
		{"-92233720368547758.08", 2, math.MinInt64, nil},
		{"-92233720368547758.09", 2, 0, errAmountRange},
		{"9223372036854775807", 0, math.MaxInt64, nil},
		{"99999999999999999999999", 0, 0, errAmountRange},
		{"10000000000.00", 2, MaxAmount, nil},
	}
	for _, tt := range tests {
		got, err := ParseAmount(tt.text, tt.exp)
		if tt.err == nil {
			if err != nil || got != tt.want {
				t.Errorf("ParseAmount(%q, %d) = %d, %v; want %d", tt.text, tt.exp, got, err, tt.want)
			}
			continue
		}
		if !errors.Is(err, tt.err) || got != 0 {
			t.Errorf("ParseAmount(%q, %d) = %d, %v; want error %v", tt.text, tt.exp, got, err, tt.err)
		}
	}
}

func TestParseAmountSums(t *testing.T) {
	a, _ := ParseAmount("0.1", 2)
	b, _ := ParseAmount("0.2", 2)
	c, _ := ParseAmount("0.3", 2)
	if a+b != c {
		t.Errorf("0.1 + 0.2 = %d minor units, want %d", a+b, c)
	}
	// A thousand 0.01s are exactly 10.00.
	var sum int64
	for range 1000 {
		n, _ := ParseAmount("0.01", 2)
		sum += n
	}
	if sum != 1000 {
		t.Errorf("sum = %d", sum)
	}
}

func TestParseAmountExponent(t *testing.T) {
	for _, exp := range []int{-1, 19} {
		if _, err := ParseAmount("1", exp); err == nil {
			t.Errorf("exponent %d accepted", exp)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		minor int64
		exp   int
		want  string
	}{
		{1999, 2, "19.99"},
		{5, 2, "0.05"},
		{-5, 2, "-0.05"},
		{0, 2, "0.00"},
		{0, 0, "0"},
		{500, 0, "500"},
		{12345, 3, "12.345"},
		{12345, 4, "1.2345"},
		{1, 4, "0.0001"},
		{MaxAmount, 2, "10000000000.00"},
		{math.MaxInt64, 2, "92233720368547758.07"},
		{math.MinInt64, 2, "-92233720368547758.08"},
		{math.MinInt64, 0, "-9223372036854775808"},
		{7, -3, "7"},
	}
	for _, tt := range tests {
		if got := FormatAmount(tt.minor, tt.exp); got != tt.want {
			t.Errorf("FormatAmount(%d, %d) = %q, want %q", tt.minor, tt.exp, got, tt.want)
		}
	}
}

// TestAmountRoundTrip checks FormatAmount → ParseAmount on random values
// and every exponent, with a big.Rat as the referee.
func TestAmountRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	values := []int64{0, 1, -1, math.MaxInt64, math.MinInt64, MaxAmount}
	for range 5000 {
		values = append(values, int64(r.Uint64()), r.Int64N(MaxAmount+1))
	}
	for _, v := range values {
		for exp := 0; exp <= maxExponent; exp++ {
			s := FormatAmount(v, exp)
			got, err := ParseAmount(s, exp)
			if err != nil || got != v {
				t.Fatalf("ParseAmount(FormatAmount(%d, %d) = %q) = %d, %v", v, exp, s, got, err)
			}
			rat, ok := new(big.Rat).SetString(s)
			want := new(big.Rat).SetFrac(big.NewInt(v), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil))
			if !ok || rat.Cmp(want) != 0 {
				t.Fatalf("FormatAmount(%d, %d) = %q, not %s", v, exp, s, want.FloatString(exp))
			}
		}
	}
}

func TestExponent(t *testing.T) {
	tests := []struct {
		code string
		want int
		ok   bool
	}{
		{"USD", 2, true}, {"EUR", 2, true}, {"GBP", 2, true}, {"CHF", 2, true},
		{"JPY", 0, true}, {"KRW", 0, true}, {"ISK", 0, true}, {"CLP", 0, true}, {"VND", 0, true}, {"XOF", 0, true}, {"UGX", 0, true},
		{"KWD", 3, true}, {"BHD", 3, true}, {"JOD", 3, true}, {"OMR", 3, true}, {"TND", 3, true}, {"IQD", 3, true}, {"LYD", 3, true},
		{"CLF", 4, true}, {"UYW", 4, true},
		{"XCG", 2, true}, {"ZWG", 2, true}, {"SLE", 2, true}, {"VED", 2, true},
		// Withdrawn, non-monetary, malformed.
		{"ANG", 0, false}, {"BGN", 0, false}, {"HRK", 0, false}, {"CUC", 0, false}, {"SLL", 0, false}, {"ZWL", 0, false}, {"VEF", 0, false},
		{"XAU", 0, false}, {"XDR", 0, false}, {"XXX", 0, false}, {"XTS", 0, false},
		{"usd", 0, false}, {"US", 0, false}, {"USDD", 0, false}, {"", 0, false}, {"BTC", 0, false},
	}
	for _, tt := range tests {
		got, ok := Exponent(tt.code)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Exponent(%q) = %d, %v; want %d, %v", tt.code, got, ok, tt.want, tt.ok)
		}
	}
	for code, e := range exponents {
		if len(code) != 3 || strings.ToUpper(code) != code || e < 0 || e > 4 {
			t.Errorf("bad table entry %q: %d", code, e)
		}
	}
	if len(exponents) != 165 {
		t.Errorf("%d currencies, want the 165 of ISO 4217 List One (2026-01-01) that have a minor unit", len(exponents))
	}
}
