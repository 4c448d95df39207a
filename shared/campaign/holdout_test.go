package campaign

import (
	"fmt"
	"math"
	"testing"
)

// Over 100,000 ids the holdout share is within 3σ of 10%
// (σ = √(0.1·0.9/100000) ≈ 0.00095), for several campaigns.
func TestHoldoutShare(t *testing.T) {
	const n, share = 100000, 0.10
	sigma := math.Sqrt(share * (1 - share) / n)
	for _, campaign := range []string{"cmp-1", "cmp-2", "2025-03-winback"} {
		held := 0
		for i := range n {
			if InHoldout(fmt.Sprintf("cust-%d", i), campaign, share) {
				held++
			}
		}
		got := float64(held) / n
		t.Logf("%s: %d of %d held out (%.4f; 3σ = %.4f)", campaign, held, n, got, 3*sigma)
		if math.Abs(got-share) > 3*sigma {
			t.Errorf("%s: share %.4f, more than 3σ from %.2f", campaign, got, share)
		}
	}
}

// The draw is uniform: each tenth of [0, 1) gets ~10% of 100,000 draws
// (chi-square with 9 degrees of freedom below 27.88, its 0.999 quantile).
func TestHoldoutDrawUniform(t *testing.T) {
	const n = 100000
	var bins [10]int
	for i := range n {
		u := HoldoutDraw(fmt.Sprintf("cust-%d", i), "cmp-1")
		if u < 0 || u >= 1 {
			t.Fatalf("draw %v outside [0, 1)", u)
		}
		bins[int(u*10)]++
	}
	chi2 := 0.0
	for _, b := range bins {
		d := float64(b) - n/10
		chi2 += d * d / (n / 10)
	}
	if chi2 > 27.88 {
		t.Errorf("chi-square %.2f over %v", chi2, bins)
	}
}

func TestHoldoutStable(t *testing.T) {
	// Pinned draws, computed independently (Python hmac + struct): changing
	// the rule would re-assign the groups of live campaigns.
	for _, c := range []struct {
		customer, campaign string
		want               float64
	}{
		{"cust-1", "cmp-1", 0.9740085132890807},
		{"cust-2", "cmp-1", 0.1671626044275959},
		{"cust-1", "cmp-2", 0.6923803666161281},
	} {
		if got := HoldoutDraw(c.customer, c.campaign); got != c.want {
			t.Errorf("HoldoutDraw(%s, %s) = %v; want %v", c.customer, c.campaign, got, c.want)
		}
	}
	if InHoldout("cust-1", "cmp-1", 0.1) || !InHoldout("cust-2", "cmp-1", 0.2) {
		t.Error("pinned assignments changed")
	}
	// Ids are not concatenated: ("ab", "c") and ("a", "bc") differ.
	if HoldoutDraw("c", "ab") == HoldoutDraw("bc", "a") {
		t.Error("ambiguous encoding")
	}
}

func TestHoldoutEdges(t *testing.T) {
	for i := range 1000 {
		id := fmt.Sprint(i)
		if InHoldout(id, "c", 0) || InHoldout(id, "c", -1) || InHoldout(id, "c", math.NaN()) {
			t.Fatal("share ≤ 0 held someone out")
		}
		if !InHoldout(id, "c", 1) {
			t.Fatal("share 1 let someone through")
		}
	}
	// Monotone in share: held out at 5% ⇒ held out at 10%.
	for i := range 10000 {
		id := fmt.Sprint(i)
		if InHoldout(id, "c", 0.05) && !InHoldout(id, "c", 0.10) {
			t.Fatalf("%s: held out at 5%% but not at 10%%", id)
		}
	}
}

// A small shop: 20 selected customers, each held out with probability
// 0.1, in every campaign the same way.
func TestHoldoutSmallShop(t *testing.T) {
	total := 0
	for c := range 1000 {
		for i := range 20 {
			if InHoldout(fmt.Sprintf("c%d", i), fmt.Sprintf("cmp-%d", c), 0.1) {
				total++
			}
		}
	}
	// 20,000 draws: mean 2,000, σ ≈ 42.
	if total < 2000-3*43 || total > 2000+3*43 {
		t.Errorf("%d held out of 20000", total)
	}
}
