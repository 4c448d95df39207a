package clv

import "math"

// This file evaluates the Gaussian hypergeometric function in the one
// shape the Pareto/NBD model needs (Schmittlein, Morrison & Colombo 1987;
// Fader & Hardie 2005, "A Note on Deriving the Pareto/NBD Model and
// Related Expressions"):
//
//	2F1(a, b; a+1; z),   a > 0, b > 0, 0 <= z < 1.
//
// Euler's transformation 2F1(A,B;C;z) = (1−z)^(C−A−B) 2F1(C−A,C−B;C;z)
// (Abramowitz & Stegun 15.3.3) turns it into
//
//	2F1(a, b; a+1; z) = (1−z)^(1−b) · G(a, c; z),   c = a+1−b,
//	G(a, c; z) = 2F1(1, c; a+1; z) = Σ_k (c)_k / (a+1)_k · z^k.
//
// In the Pareto/NBD likelihood c is r+x or s+1, so 0 < c < a+1: every term
// of G is positive, 1 <= G <= 1/(1−z), and the large factor (1−z)^(1−b)
// is folded into the caller's other powers (paretonbd.go). There is no
// cancellation, no overflow for large b, and no special case at integer b
// (the s = 1 and integer r+x cases that break the usual z → 1−z
// connection formulas, A&S 15.3.6 and 15.3.11).
//
// For z <= gSeriesMax G is summed as its power series (the term ratio is
// below z). Above, it is evaluated as Gauss's continued fraction, the one
// Numerical Recipes uses for the incomplete beta function ("betacf"):
// 2F1(1, c; a+1; z) = 1/(1+ d1/(1+ d2/(1+ ...))) with
//
//	d(2m+1) = −(a+m)(c+m) z / ((a+2m)(a+2m+1)),
//	d(2m)   =  m(c−a−m) z    / ((a+2m−1)(a+2m)),
//
// which converges for every z < 1 (it is a Stieltjes fraction), in a
// number of steps that grows like 1/sqrt(1−z) for moderate a (about 200 at
// z = 0.99, 2,000 at 1−1e-4) but stays at a handful for large a (a = 1e4
// takes 12 steps at z = 0.99). Above z = gNearOne it is given only
// gNearOneSteps steps: enough for large a; for moderate a the evaluation
// reports that it did not converge, and the Pareto/NBD code integrates
// instead, which is then cheaper.
//
// Both paths also return the partial derivatives of ln G with respect to
// a, c and z, for the analytic gradient of the log-likelihood: term by term
// for the series, by evaluating the differentiated fraction backwards for
// the continued fraction (see cfG).

const (
	// gSeriesMax is the largest z summed as a power series (about where
	// the continued fraction becomes cheaper).
	gSeriesMax = 0.75
	// gTol is the relative accuracy targeted by both evaluations.
	gTol = 1e-16
	// gMaxSteps bounds the work of one evaluation; an evaluation that has
	// not converged by then reports it (the Pareto/NBD code then
	// integrates instead).
	gMaxSteps = 3000
	// gNearOne and gNearOneSteps: above z = gNearOne the continued
	// fraction gets at most gNearOneSteps steps.
	gNearOne      = 0.99
	gNearOneSteps = 40
)

// gValue returns G(a, c; z) = 2F1(1, c; a+1; z) for a > 0, 0 < c < a+1,
// 0 <= z < 1 (see the file comment), and whether it converged.
func gValue(a, c, z float64) (float64, bool) {
	if z <= 0 {
		return 1, true
	}
	if z <= gSeriesMax {
		// The term ratio is below z <= gSeriesMax: at most ~130 terms.
		sum, t := 1.0, 1.0
		for k := 0.0; k < gMaxSteps; k++ {
			t *= (c + k) / (a + 1 + k) * z
			sum += t
			if t <= gTol*sum {
				break
			}
		}
		return sum, true
	}
	g, _, ok := cfG(a, c, z, false, cfSteps(z))
	return g, ok
}

// gDeriv returns G(a, c; z), the partial derivatives of ln G with respect
// to a (c held fixed), c and z, and whether the evaluation converged.
func gDeriv(a, c, z float64) (g, da, dc, dz float64, ok bool) {
	if z <= 0 {
		// G = 1 + c z/(a+1) + O(z²).
		return 1, 0, 0, c / (a + 1), true
	}
	if z <= gSeriesMax {
		// t_k = Π_{j<k} (c+j)/(a+1+j) · z^k; ∂t_k/∂a = −t_k Σ_{j<k} 1/(a+1+j),
		// ∂t_k/∂c = t_k Σ_{j<k} 1/(c+j), ∂t_k/∂z = k t_k / z.
		sum, t := 1.0, 1.0
		var sa, sc, suma, sumc, sumz float64
		for k := 0.0; k < gMaxSteps; k++ {
			ak, ck := a+1+k, c+k
			inv := 1 / (ak * ck)
			ia, ic := ck*inv, ak*inv
			t *= ck * ia * z
			sa += ia
			sc += ic
			sum += t
			suma += t * sa
			sumc += t * sc
			sumz += t * (k + 1)
			if t*(k+1) <= gTol*sum {
				break
			}
		}
		return sum, -suma / sum, sumc / sum, sumz / (z * sum), true
	}
	g, d, ok := cfG(a, c, z, true, cfSteps(z))
	return g, d[0], d[1], d[2], ok
}

// cfSteps is the step budget of the continued fraction at z.
func cfSteps(z float64) int {
	if z > gNearOne {
		return gNearOneSteps
	}
	return gMaxSteps
}

// cfTerm returns the continued fraction's partial numerator d_n (n >= 1)
// and, when deriv is set, ∂ln|d_n|/∂(a, c, z).
func cfTerm(n int, a, c, z float64, deriv bool) (d float64, ld [3]float64) {
	m := float64(n / 2)
	if n%2 == 1 {
		d = -(a + m) * (c + m) * z / ((a + 2*m) * (a + 2*m + 1))
		if deriv {
			ld = [3]float64{1/(a+m) - 1/(a+2*m) - 1/(a+2*m+1), 1 / (c + m), 1 / z}
		}
		return d, ld
	}
	d = m * (c - a - m) * z / ((a + 2*m - 1) * (a + 2*m))
	if deriv {
		ldc := 1 / (c - a - m)
		ld = [3]float64{-ldc - 1/(a+2*m-1) - 1/(a+2*m), ldc, 1 / z}
	}
	return d, ld
}

// cfG evaluates G(a, c; z) = 1/(1+ d1/(1+ d2/(1+ ...))) and, when deriv is
// set, the partial derivatives of ln G with respect to a, c and z, and
// reports whether it converged within maxSteps.
//
// The value comes from the forward recurrence A_n = A_{n−1} + d_{n−1}
// A_{n−2} (and the same for B) of the convergents A_n/B_n, which also
// finds the depth N at which they have converged. The derivatives come
// from evaluating the fraction backwards from a little deeper than N:
// with f_{N'+1} = 1 and f_k = 1 + d_k/f_{k+1}, G = 1/f_1 and
//
//	∂ln f_k = (1 − 1/f_k) (∂ln|d_k| − ∂ln f_{k+1}),
//
// which, unlike differentiating the forward recurrence, does not lose
// digits over thousands of steps.
func cfG(a, c, z float64, deriv bool, maxSteps int) (g float64, dg [3]float64, ok bool) {
	// Convergents n−2 and n−1: A0/B0 = 0/1, A1/B1 = 1/1.
	a2, a1, b2, b1 := 0.0, 1.0, 1.0, 1.0
	g = 1.0
	depth := 0
	for n := 1; n <= maxSteps; n++ {
		d, _ := cfTerm(n, a, c, z, false)
		an := a1 + d*a2
		s := 1 / (b1 + d*b2) // renormalise so that B_n = 1
		a2, a1, b2, b1 = a1*s, an*s, b1*s, 1.0
		prev := g
		g = a1
		if n > 2 && math.Abs(g-prev) <= gTol*g {
			depth = n
			break
		}
	}
	if depth == 0 {
		return g, dg, false
	}
	if !deriv {
		return g, dg, true
	}
	depth += depth/4 + 8
	f := 1.0
	var lf [3]float64
	for k := depth; k >= 1; k-- {
		d, ld := cfTerm(k, a, c, z, true)
		f = 1 + d/f
		w := 1 - 1/f
		for i := range lf {
			lf[i] = w * (ld[i] - lf[i])
		}
	}
	for i := range dg {
		dg[i] = -lf[i]
	}
	return 1 / f, dg, true
}
