package campaign

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"math"
	mrand "math/rand/v2"
	"strings"
	"testing"
)

func TestCouponAlphabet(t *testing.T) {
	if len(CouponAlphabet) != 32 {
		t.Fatalf("alphabet of %d symbols", len(CouponAlphabet))
	}
	seen := map[rune]bool{}
	for _, c := range CouponAlphabet {
		if seen[c] || strings.ContainsRune("01OI", c) || !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			t.Errorf("bad symbol %q", c)
		}
		seen[c] = true
	}
	if got := 8 * math.Log2(float64(len(CouponAlphabet))); got != CouponBits || got < 40 {
		t.Errorf("entropy %v bits", got)
	}
}

func TestNewCouponFormat(t *testing.T) {
	for range 10000 {
		c, err := NewCoupon(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !ValidCoupon(c) {
			t.Fatalf("%q is not valid", c)
		}
	}
	// Known bytes give a known code: 40 zero bits are all '2', all ones 'Z'.
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{[]byte{0, 0, 0, 0, 0}, "WB-2222-2222"},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff}, "WB-ZZZZ-ZZZZ"},
		{[]byte{0x08, 0x86, 0x42, 0x98, 0xe8}, "WB-3456-789A"},
	} {
		if got, _ := NewCoupon(bytes.NewReader(c.in)); got != c.want {
			t.Errorf("NewCoupon(%x) = %s; want %s", c.in, got, c.want)
		}
	}
}

func TestNewCouponReaderError(t *testing.T) {
	if c, err := NewCoupon(bytes.NewReader([]byte{1, 2, 3})); err == nil || c != "" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short reader: %q, %v", c, err)
	}
}

// Every symbol is equally likely at every position (chi-square over 32
// symbols, 31 degrees of freedom, below 61.1, its 0.999 quantile).
func TestNewCouponUniform(t *testing.T) {
	const n = 64000
	var counts [8][32]int
	r := seeded(1)
	for range n {
		c, _ := NewCoupon(r)
		j := 0
		for i := 3; i < 12; i++ {
			if i == 7 {
				continue
			}
			counts[j][strings.IndexByte(CouponAlphabet, c[i])]++
			j++
		}
	}
	for pos, cs := range counts {
		chi2 := 0.0
		for _, k := range cs {
			d := float64(k) - n/32
			chi2 += d * d / (n / 32)
		}
		if chi2 > 61.1 {
			t.Errorf("position %d: chi-square %.1f", pos, chi2)
		}
	}
}

// A million codes: at 40 bits the expected number of colliding pairs is
// C(10⁶, 2)/2⁴⁰ ≈ 0.455, so a collision or two is normal (P(none) ≈
// 0.63) and the store must make codes unique; more than 6 would happen
// with probability below 10⁻⁶ (Poisson) and means the draw is broken.
func TestNewCouponCollisions(t *testing.T) {
	if testing.Short() {
		t.Skip("a million draws")
	}
	const n = 1_000_000
	expected := float64(n) * (n - 1) / 2 / math.Exp2(CouponBits)
	seen := make(map[string]struct{}, n)
	collisions := 0
	r := seeded(2)
	for range n {
		c, _ := NewCoupon(r)
		if _, dup := seen[c]; dup {
			collisions++
		}
		seen[c] = struct{}{}
	}
	t.Logf("%d draws: %d collisions (expected %.3f)", n, collisions, expected)
	if collisions > 6 {
		t.Errorf("%d collisions in %d draws; expected %.2f", collisions, n, expected)
	}
	// The same check on a 20-bit space, where collisions are many and the
	// count is checkable: 2000 draws from 2^20 expect C(2000,2)/2^20 ≈ 1.91.
	small := 0
	for trial := range 2000 {
		r := seeded(uint64(100 + trial))
		seen := map[string]bool{}
		for range 2000 {
			c, _ := NewCoupon(r)
			c = c[:7] // first 4 symbols: 20 bits
			if seen[c] {
				small++
			}
			seen[c] = true
		}
	}
	if mean := float64(small) / 2000; math.Abs(mean-1.906) > 0.15 {
		t.Errorf("20-bit prefix: %.3f collisions per 2000 draws; expected 1.906", mean)
	}
}

func TestValidCoupon(t *testing.T) {
	cases := map[string]bool{
		"WB-7KQ2-M9XD":  true,
		"WB-2222-ZZZZ":  true,
		"wb-7KQ2-M9XD":  false,
		"WB-7kq2-M9XD":  false,
		"WB-7KQ0-M9XD":  false,
		"WB-7KQO-M9XD":  false,
		"WB-7KQ1-M9XD":  false,
		"WB-7KQI-M9XD":  false,
		"WB-7KQ2M9XD":   false,
		"WB-7KQ2-M9X":   false,
		"WB-7KQ2-M9XDA": false,
		"XB-7KQ2-M9XD":  false,
		"WB_7KQ2-M9XD":  false,
		"WB-7KQ2_M9XD":  false,
		"WB-7KQ2-M9X ":  false,
		"WB-7KQ2-M9XÉ":  false,
		"":              false,
	}
	for c, want := range cases {
		if got := ValidCoupon(c); got != want {
			t.Errorf("ValidCoupon(%q) = %v", c, got)
		}
	}
}

// seeded is a reproducible random byte stream for tests.
func seeded(seed uint64) io.Reader {
	var key [32]byte
	key[0] = byte(seed)
	key[1] = byte(seed >> 8)
	return mrand.NewChaCha8(key)
}
