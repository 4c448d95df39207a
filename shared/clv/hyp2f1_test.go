package clv

import (
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

// gCases are (a, c) pairs as they occur in the Pareto/NBD likelihood
// (a = r+s+x, c = r+x or s+1), including c close to 0 and close to a+1.
var gCases = []struct{ a, c float64 }{
	{1.16, 0.55}, {1.16, 1.6}, {2.5, 2.5}, {0.2, 0.15}, {3, 1.5}, {3, 2},
	{12.6, 12}, {12.6, 1.6}, {50.6, 50}, {0.05, 0.01}, {4, 4.99},
}

// With b = a+1−c, 2F1(a, b; a+1; z) = (1−z)^(1−b) G(a, c; z).
func TestGMatchesGonumHypergeo(t *testing.T) {
	for _, gc := range gCases {
		b := gc.a + 1 - gc.c
		for _, z := range []float64{0, 1e-9, 0.05, 0.3, 0.5, 0.75, 0.76, 0.9, 0.99} {
			if gc.a > 13 && z > 0.9 {
				continue // gonum's Hypergeo loses digits there (see TestGNearOne)
			}
			g, _ := gValue(gc.a, gc.c, z)
			got := g * math.Pow(1-z, 1-b)
			want := mathext.Hypergeo(gc.a, b, gc.a+1, z)
			if math.Abs(got/want-1) > 1e-12 {
				t.Errorf("a=%v c=%v z=%v: G form %.16g, Hypergeo %.16g", gc.a, gc.c, z, got, want)
			}
		}
	}
}

// gBrute sums G's power series term by term (compensated), slowly but
// without any cleverness: the reference near z = 1. It also returns
// ∂ln G/∂z from the differentiated series.
func gBrute(a, c, z float64) (g, dz float64) {
	sum, comp, t, sumk := 1.0, 0.0, 1.0, 0.0
	for k := 0.0; k < 5e7; k++ {
		t *= (c + k) / (a + 1 + k) * z
		y := t - comp
		s := sum + y
		comp = (s - sum) - y
		sum = s
		sumk += (k + 1) * t
		if (k+1)*t < 1e-18*sum {
			break
		}
	}
	return sum, sumk / (z * sum)
}

// gFull is gDeriv without the step budget above gNearOne.
func gFull(a, c, z float64) (g, da, dc, dz float64) {
	if z <= gSeriesMax {
		g, da, dc, dz, _ = gDeriv(a, c, z)
		return g, da, dc, dz
	}
	g, d, ok := cfG(a, c, z, true, gMaxSteps)
	if !ok {
		panic("continued fraction did not converge")
	}
	return g, d[0], d[1], d[2]
}

func TestGNearOne(t *testing.T) {
	for _, gc := range gCases {
		for _, z := range []float64{0.9, 0.99, 0.999, 1 - 1e-4} {
			got, _, _, gotDz := gFull(gc.a, gc.c, z)
			want, wantDz := gBrute(gc.a, gc.c, z)
			if math.Abs(got/want-1) > 1e-11 {
				t.Errorf("a=%v c=%v z=%v: G = %.16g, series %.16g", gc.a, gc.c, z, got, want)
			}
			if math.Abs(gotDz/wantDz-1) > 1e-11 {
				t.Errorf("a=%v c=%v z=%v: dlnG/dz = %.16g, series %.16g", gc.a, gc.c, z, gotDz, wantDz)
			}
		}
	}
}

// The power series (z <= gSeriesMax) and the continued fraction must
// agree, with their derivatives, where both converge.
func TestGSeriesMatchesContinuedFraction(t *testing.T) {
	for _, gc := range gCases {
		for _, z := range []float64{0.2, 0.5, gSeriesMax} {
			g, da, dc, dz, _ := gDeriv(gc.a, gc.c, z)
			cg, cd, _ := cfG(gc.a, gc.c, z, true, gMaxSteps)
			cda, cdc, cdz := cd[0], cd[1], cd[2]
			for _, v := range []struct {
				name      string
				got, want float64
			}{{"G", g, cg}, {"dlnG/da", da, cda}, {"dlnG/dc", dc, cdc}, {"dlnG/dz", dz, cdz}} {
				if math.Abs(v.got-v.want) > 1e-12*math.Max(1, math.Abs(v.want)) {
					t.Errorf("a=%v c=%v z=%v %s: series %.16g, continued fraction %.16g", gc.a, gc.c, z, v.name, v.got, v.want)
				}
			}
		}
	}
}

func TestGDerivativesMatchFiniteDifferences(t *testing.T) {
	for _, gc := range gCases {
		for _, z := range []float64{0, 0.1, 0.45, gSeriesMax, gSeriesMax + 0.01, 0.9, 0.999, 1 - 1e-4} {
			// Near z = 1 the z-derivative is checked against the
			// differentiated series in TestGNearOne: there the continued
			// fraction's last-digit noise swamps a finite difference in z.
			t.Run(fmt.Sprintf("a=%v,c=%v,z=%v", gc.a, gc.c, z), func(t *testing.T) {
				g, da, dc, dz := gFull(gc.a, gc.c, z)
				if v, ok := gValue(gc.a, gc.c, z); ok && math.Abs(v/g-1) > 1e-12 {
					t.Errorf("gValue %.16g != gDeriv %.16g", v, g)
				}
				lg := func(a, c, z float64) float64 {
					v, _, _, _ := gFull(a, c, z)
					return math.Log(v)
				}
				ha, hc := 1e-5*gc.a, 1e-5*math.Min(gc.c, gc.a+1-gc.c)
				hz := 1e-6 * math.Min(1-z, 0.1)
				fa := (lg(gc.a+ha, gc.c, z) - lg(gc.a-ha, gc.c, z)) / (2 * ha)
				fc := (lg(gc.a, gc.c+hc, z) - lg(gc.a, gc.c-hc, z)) / (2 * hc)
				var fz float64
				if z == 0 {
					fz = (lg(gc.a, gc.c, hz) - lg(gc.a, gc.c, 0)) / hz
				} else {
					fz = (lg(gc.a, gc.c, z+hz) - lg(gc.a, gc.c, z-hz)) / (2 * hz)
				}
				for _, v := range []struct {
					name      string
					got, want float64
				}{{"a", da, fa}, {"c", dc, fc}, {"z", dz, fz}} {
					if v.name == "z" && z > 0.9 {
						continue
					}
					if math.Abs(v.got-v.want) > 2e-6*math.Max(1, math.Abs(v.want)) {
						t.Errorf("dlnG/d%s = %.10g, finite difference %.10g", v.name, v.got, v.want)
					}
				}
			})
		}
	}
}

// Above gNearOne the budgeted evaluation either converges (large a) or
// says it did not; it never returns a wrong value as converged.
func TestGNearOneBudget(t *testing.T) {
	for _, gc := range append(gCases, struct{ a, c float64 }{1e4, 1e4 - 0.5}, struct{ a, c float64 }{1e6, 1e6 - 0.3}) {
		for _, z := range []float64{0.995, 0.999, 1 - 1e-4, 1 - 1e-6} {
			// G's condition number in z is about 1/(1−z).
			tol := 1e-13 + 1e-14/(1-z)
			g, ok := gValue(gc.a, gc.c, z)
			gd, _, _, _, okd := gDeriv(gc.a, gc.c, z)
			if ok != okd || (ok && math.Abs(g/gd-1) > tol) {
				t.Errorf("a=%v c=%v z=%v: gValue %v %v, gDeriv %v %v", gc.a, gc.c, z, g, ok, gd, okd)
			}
			if !ok {
				continue
			}
			want, _, ok := cfG(gc.a, gc.c, z, false, 1_000_000)
			if !ok || math.Abs(g/want-1) > tol {
				t.Errorf("a=%v c=%v z=%v: budgeted %.16g, unbudgeted %.16g", gc.a, gc.c, z, g, want)
			}
		}
	}
}
