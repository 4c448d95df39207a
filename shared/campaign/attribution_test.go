package campaign

import (
	"math"
	"testing"
	"time"
)

// Newcombe (1998), Table II, method 10 (score, no continuity correction):
// the published 95% limits, to 4 decimals, as reproduced by several
// independent test suites (R propint; suites that also match statsmodels'
// confint_proportions_2indep(method="newcomb")). For (c) the lower limit
// of method 10 is 0.0582; 0.0342 in the same table is the
// Miettinen–Nurminen interval's. (e)–(h) also follow by hand from the
// Wilson limits of 0/n, z²/(n + z²).
func TestUpliftNewcombeTableII(t *testing.T) {
	cases := []struct {
		name               string
		m, n, x, y         int // m/n mailed, x/y holdout
		diff, lower, upper float64
	}{
		{"a 56/70-48/80", 56, 70, 48, 80, 0.2000, 0.0524, 0.3339},
		{"b 9/10-3/10", 9, 10, 3, 10, 0.6000, 0.1705, 0.8090},
		{"c 6/7-2/7", 6, 7, 2, 7, 0.5714, 0.0582, 0.8062},
		{"d 5/56-0/29", 5, 56, 0, 29, 0.0893, -0.0381, 0.1926},
		{"e 0/10-0/20", 0, 10, 0, 20, 0, -0.1611, 0.2775},
		{"f 0/10-0/10", 0, 10, 0, 10, 0, -0.2775, 0.2775},
		{"g 10/10-0/20", 10, 10, 0, 20, 1, 0.6791, 1},
		{"h 10/10-0/10", 10, 10, 0, 10, 1, 0.6075, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Uplift(c.m, c.n, c.x, c.y)
			if !got.Defined {
				t.Fatal("undefined")
			}
			for _, f := range []struct {
				what      string
				got, want float64
			}{{"difference", got.Estimate, c.diff}, {"lower", got.Lower, c.lower}, {"upper", got.Upper, c.upper}} {
				if math.Abs(f.got-f.want) > 0.00005 {
					t.Errorf("%s = %.5f; published %.4f", f.what, f.got, f.want)
				}
			}
		})
	}
}

func TestWilsonEdges(t *testing.T) {
	// Wilson 0/10: upper = z²/(n + z²) = 0.2775.
	if w := Wilson(0, 10); w.Lower != 0 || math.Abs(w.Upper-0.27753) > 0.00001 {
		t.Errorf("0/10: %+v", w)
	}
	if w := Wilson(10, 10); w.Upper != 1 || math.Abs(w.Lower-0.72247) > 0.00001 {
		t.Errorf("10/10: %+v", w)
	}
	for _, c := range [][2]int{{0, 0}, {1, 0}, {-1, 5}, {6, 5}} {
		if w := Wilson(c[0], c[1]); w.Defined || w != (Interval{}) {
			t.Errorf("Wilson(%d, %d) = %+v; want undefined zero", c[0], c[1], w)
		}
	}
}

func TestUpliftUndefined(t *testing.T) {
	for _, c := range [][4]int{{3, 10, 0, 0}, {0, 0, 1, 5}, {11, 10, 1, 5}, {1, 10, -1, 5}} {
		if got := Uplift(c[0], c[1], c[2], c[3]); got.Defined || got != (Interval{}) {
			t.Errorf("Uplift%v = %+v; want undefined", c, got)
		}
	}
}

// Properties over all small tables: the interval holds the estimate,
// stays within [−1, 1], and swapping the groups mirrors it.
func TestUpliftProperties(t *testing.T) {
	for n := 1; n <= 25; n++ {
		for m := 1; m <= 25; m += 3 {
			for a := 0; a <= n; a++ {
				for b := 0; b <= m; b++ {
					iv := Uplift(a, n, b, m)
					if !(iv.Lower <= iv.Estimate && iv.Estimate <= iv.Upper && iv.Lower >= -1 && iv.Upper <= 1) {
						t.Fatalf("Uplift(%d,%d,%d,%d) = %+v", a, n, b, m, iv)
					}
					sw := Uplift(b, m, a, n)
					if math.Abs(sw.Lower+iv.Upper) > 1e-12 || math.Abs(sw.Upper+iv.Lower) > 1e-12 {
						t.Fatalf("swap of (%d,%d,%d,%d): %+v vs %+v", a, n, b, m, iv, sw)
					}
					if a == 0 && b == 0 && iv.Estimate != 0 {
						t.Fatalf("0/%d vs 0/%d: %+v", n, m, iv)
					}
				}
			}
		}
	}
}

// At large counts the hybrid score interval approaches the Wald interval.
func TestUpliftLargeSampleNearWald(t *testing.T) {
	iv := Uplift(600, 10000, 450, 10000)
	p1, p2 := 0.06, 0.045
	se := math.Sqrt(p1*(1-p1)/10000 + p2*(1-p2)/10000)
	if math.Abs(iv.Lower-(0.015-Z95*se)) > 3e-4 || math.Abs(iv.Upper-(0.015+Z95*se)) > 3e-4 {
		t.Errorf("%+v; Wald ±%.5f", iv, Z95*se)
	}
}

func TestAttribute(t *testing.T) {
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	mailed := Contact{CustomerID: "c1", Group: GroupMailed, At: at, Coupon: "WB-7KQ2-M9XD"}
	held := Contact{CustomerID: "c2", Group: GroupHoldout, At: at}
	p := func(id string, after time.Duration, revenue, discount int64, codes ...string) Purchase {
		return Purchase{OrderID: id, At: at.Add(after), Revenue: revenue, Discount: discount, Codes: codes}
	}
	cases := []struct {
		name      string
		c         Contact
		purchases []Purchase
		want      Conversion
	}{
		{"nothing", mailed, nil, Conversion{}},
		{"before the mail", mailed, []Purchase{p("o1", -time.Second, 100, 0)}, Conversion{}},
		{"at the mail", mailed, []Purchase{p("o1", 0, 100, 0)}, Conversion{Converted: true, Orders: 1, Revenue: 100, FirstOrderID: "o1", FirstOrderAt: at}},
		{"last second of the window", mailed, []Purchase{p("o1", 14*day-time.Second, 100, 0)}, Conversion{Converted: true, Orders: 1, Revenue: 100, FirstOrderID: "o1", FirstOrderAt: at.Add(14*day - time.Second)}},
		{"window end", mailed, []Purchase{p("o1", 14*day, 100, 0)}, Conversion{}},
		{"late with the coupon", mailed, []Purchase{p("o1", 40*day, 900, 100, "wb-7kq2-m9xd ")}, Conversion{Converted: true, Orders: 1, Revenue: 900, Redeemed: 1, DiscountCost: 100, FirstOrderID: "o1", FirstOrderAt: at.Add(40 * day)}},
		{"late with another code", mailed, []Purchase{p("o1", 40*day, 900, 100, "SUMMER")}, Conversion{}},
		{"coupon before the mail", mailed, []Purchase{p("o1", -day, 900, 100, "WB-7KQ2-M9XD")}, Conversion{}},
		{"two orders, first by time", mailed, []Purchase{p("o9", 3*day, 50, 0), p("o2", 2*day, 70, 10, "WB-7KQ2-M9XD"), p("o3", 20*day, 80, 0)},
			Conversion{Converted: true, Orders: 2, Revenue: 120, Redeemed: 1, DiscountCost: 10, FirstOrderID: "o2", FirstOrderAt: at.Add(2 * day)}},
		{"tie by order id", mailed, []Purchase{p("o9", day, 50, 0), p("o2", day, 70, 0)},
			Conversion{Converted: true, Orders: 2, Revenue: 120, FirstOrderID: "o2", FirstOrderAt: at.Add(day)}},
		{"holdout in window", held, []Purchase{p("o1", 5*day, 300, 0)}, Conversion{Converted: true, Orders: 1, Revenue: 300, FirstOrderID: "o1", FirstOrderAt: at.Add(5 * day)}},
		{"holdout never redeems an empty code", held, []Purchase{p("o1", 40*day, 300, 0, "")}, Conversion{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Attribute(c.c, c.purchases, 14); got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}
