package clv

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// This file holds what BG/NBD and MBG/NBD share. Both models have, for a
// customer with history (x, t_x, T),
//
//	ln L = ln Γ(r+x) − ln Γ(r) + r ln α − (r+x) ln(α+T)
//	     + ln Γ(a+b) + ln Γ(b+x+m) − ln Γ(b) − ln Γ(a+b+x+m)
//	     + δ · softplus( ln a − ln(b+x+m−1) + (r+x)(ln(α+T) − ln(α+t_x)) )
//
// with m = 0, δ = [x > 0] for BG/NBD (Fader, Hardie & Lee 2005) and
// m = 1, δ = 1 for MBG/NBD (Batislam, Denizel & Filiztekin 2007), where a
// customer may also drop out right after the first purchase. softplus(z)
// = ln(1+e^z) is computed without overflow, so the log-likelihood stays
// finite for any x, t_x, T and any positive parameters.

// softplusSigmoid returns ln(1+e^z) and 1/(1+e^-z) from one exponential.
func softplusSigmoid(z float64) (sp, sig float64) {
	if z >= 0 {
		e := math.Exp(-z)
		return z + log1pSmall(e), 1 / (1 + e)
	}
	e := math.Exp(z)
	return log1pSmall(e), e / (1 + e)
}

// log1pSmall is ln(1+e) for 0 <= e <= 1 to within about 2 ulps; it is the
// hot spot of the likelihood passes, about 3x faster than math.Log.
// With j = round(128e) and u_j = 1 + j/128,
//
//	ln(1+e) = ln(u_j) + ln(1 + r),   r = (e − j/128)/u_j,   |r| <= 1/256,
//
// where ln(u_j) comes from a table and ln(1+r) from its Taylor series to
// r^7 (truncation error below 1e-20).
func log1pSmall(e float64) float64 {
	j := int(e*128 + 0.5)
	if uint(j) > 128 {
		return math.Log1p(e) // outside [0, 1]: not used by this package
	}
	r := (e - float64(j)*(1.0/128)) * log1pInv[j]
	r2 := r * r
	// r − r²/2 + r³/3 − r⁴/4 + r⁵/5 − r⁶/6 + r⁷/7, in Estrin's scheme.
	p01 := r - 0.5*r2
	p23 := 1.0/3 - 0.25*r
	p45 := 1.0/5 - 1.0/6*r
	return log1pTab[j] + (p01 + r2*r*(p23+r2*(p45+r2*(1.0/7))))
}

// log1pTab[j] = ln(1 + j/128) and log1pInv[j] = 1/(1 + j/128).
var log1pTab, log1pInv = func() (t, inv [129]float64) {
	for j := range t {
		u := 1 + float64(j)/128
		t[j] = math.Log(u)
		inv[j] = 1 / u
	}
	return t, inv
}()

// betaGeoLogLik is the total log-likelihood of BG/NBD (modified=false) or
// MBG/NBD (modified=true) over prepared data, with its gradient in
// (r, alpha, a, b) when grad is non-nil and its Hessian (row-major 4×4)
// when hess is non-nil too.
func betaGeoLogLik(p *prepared, modified bool, par, grad, hess []float64) float64 {
	r, alpha, a, b := par[0], par[1], par[2], par[3]
	m := 0.0
	if modified {
		m = 1
	}
	withGrad := grad != nil
	withHess := withGrad && hess != nil
	// h holds the upper triangle: rr rα ra rb αα αa αb aa ab bb.
	var h [10]float64
	// Per distinct T: the −(r+x)·ln(α+T) term of every triple, summed.
	var ll, gR, gAlpha, gA, gB float64
	lt := make([]float64, len(p.tVals))
	it := make([]float64, len(p.tVals))
	for j, v := range p.tVals {
		lt[j] = math.Log(alpha + v)
		it[j] = 1 / (alpha + v)
		wrx := r*p.tW[j] + p.tWX[j]
		ll -= wrx * lt[j]
		gR -= p.tW[j] * lt[j]
		gAlpha -= wrx * it[j]
		if withHess {
			h[1] -= p.tW[j] * it[j]
			h[4] += wrx * it[j] * it[j]
		}
	}
	ltx := make([]float64, len(p.txVals))
	itx := make([]float64, len(p.txVals))
	for j, v := range p.txVals {
		ltx[j] = math.Log(alpha + v)
		itx[j] = 1 / (alpha + v)
	}
	// Per distinct x: the terms that do not depend on T or t_x.
	lnA := math.Log(a)
	lgr, _ := math.Lgamma(r)
	lgab, _ := math.Lgamma(a + b)
	lgb, _ := math.Lgamma(b)
	psiR := mathext.Digamma(r)
	psiAB := mathext.Digamma(a + b)
	psiB := mathext.Digamma(b)
	var triR, triAB, triB float64
	if withHess {
		triR, triAB, triB = trigamma(r), trigamma(a+b), trigamma(b)
	}
	lnAlpha := math.Log(alpha)
	zOff := make([]float64, len(p.xVals)) // ln a − ln(b+x+m−1)
	dzdb := make([]float64, len(p.xVals)) // −1/(b+x+m−1)
	for k, x := range p.xVals {
		n := p.xCount[k]
		lgrx, _ := math.Lgamma(r + x)
		lgbx, _ := math.Lgamma(b + x + m)
		lgabx, _ := math.Lgamma(a + b + x + m)
		ll += n * (lgrx - lgr + r*lnAlpha + lgab + lgbx - lgb - lgabx)
		if withGrad {
			psiABX := mathext.Digamma(a + b + x + m)
			gR += n * (mathext.Digamma(r+x) - psiR + lnAlpha)
			gAlpha += n * r / alpha
			gA += n * (psiAB - psiABX)
			gB += n * (psiAB + mathext.Digamma(b+x+m) - psiB - psiABX)
			if withHess {
				triABX := trigamma(a + b + x + m)
				h[0] += n * (trigamma(r+x) - triR)
				h[1] += n / alpha
				h[4] -= n * r / (alpha * alpha)
				h[7] += n * (triAB - triABX)
				h[8] += n * (triAB - triABX)
				h[9] += n * (triAB + trigamma(b+x+m) - triB - triABX)
			}
		}
		if modified || x > 0 {
			zOff[k] = lnA - math.Log(b+x+m-1)
			dzdb[k] = -1 / (b + x + m - 1)
		}
	}
	// Per triple with δ = 1: the softplus term. Triples are sorted by x,
	// so for BG/NBD those with x = 0 (δ = 0) come first and are skipped.
	first := 0
	if !modified {
		first = p.firstPositive
	}
	nAcc := 5
	if withHess {
		nAcc = 15
	}
	acc := sumChunks(len(p.w)-first, nAcc, func(lo, hi int, acc []float64) {
		var sll, sr, sal, sa, sb float64
		// Softplus Hessian: w·[σ(1−σ)·∇z∇zᵀ + σ·∇²z], with
		// ∇z = (dl, rx·(it−itx), 1/a, dzdb); the 1/a factors are applied
		// after the loop.
		var hrr, hral, hra, hrb, halal, hala, halb, haa, hab, hbb float64
		for i := lo + first; i < hi+first; i++ {
			w := p.w[i]
			rx := r + p.x[i]
			ti, txi, xk := p.ti[i], p.txi[i], p.xi[i]
			dl := lt[ti] - ltx[txi]
			sp, sig := softplusSigmoid(zOff[xk] + rx*dl)
			sll += w * sp
			if !withGrad {
				continue
			}
			ws := w * sig
			di := it[ti] - itx[txi]
			zal := rx * di
			zb := dzdb[xk]
			sr += ws * dl
			sal += ws * zal
			sa += ws
			sb += ws * zb
			if withHess {
				s2 := ws * (1 - sig)
				hrr += s2 * dl * dl
				hral += s2*dl*zal + ws*di
				hra += s2 * dl
				hrb += s2 * dl * zb
				halal += s2*zal*zal - ws*rx*di*(it[ti]+itx[txi])
				hala += s2 * zal
				halb += s2 * zal * zb
				haa += s2 - ws
				hab += s2 * zb
				hbb += (s2 + ws) * zb * zb
			}
		}
		acc[0], acc[1], acc[2], acc[3], acc[4] = sll, sr, sal, sa, sb
		if withHess {
			copy(acc[5:], []float64{hrr, hral, hra, hrb, halal, hala, halb, haa, hab, hbb})
		}
	})
	ll += acc[0]
	if withGrad {
		grad[0] = gR + acc[1]
		grad[1] = gAlpha + acc[2]
		grad[2] = gA + acc[3]/a
		grad[3] = gB + acc[4]
	}
	if withHess {
		ia := 1 / a
		scale := [10]float64{1, 1, ia, 1, 1, ia, 1, ia * ia, ia, 1}
		for i := range h {
			h[i] += acc[5+i] * scale[i]
		}
		fillSym4(hess, h)
	}
	return ll
}

// fillSym4 writes the upper triangle u (rr rα ra rb αα αa αb aa ab bb
// order) of a symmetric 4×4 matrix into row-major m.
func fillSym4(m []float64, u [10]float64) {
	k := 0
	for i := 0; i < 4; i++ {
		for j := i; j < 4; j++ {
			m[i*4+j] = u[k]
			m[j*4+i] = u[k]
			k++
		}
	}
}

// trigamma is ψ'(x) for x > 0: the recurrence ψ'(x) = ψ'(x+1) + 1/x² up to
// x >= 10, then the asymptotic series (relative error below 1e-12).
func trigamma(x float64) float64 {
	var r float64
	for x < 10 {
		r += 1 / (x * x)
		x++
	}
	ix := 1 / x
	ix2 := ix * ix
	return r + ix + ix2/2 + ix*ix2*(1.0/6-ix2*(1.0/30-ix2*(1.0/42-ix2*(1.0/30))))
}

// betaGeoStarts are default starting points for (r, alpha, a, b).
func betaGeoStarts(p *prepared) [][]float64 {
	rate := p.rateGuess()
	return [][]float64{
		{1, 1 / rate, 1, 1},
		{0.5, 0.5 / rate, 0.5, 2},
		{1, 1, 1, 1},
	}
}

// betaGeoPAlive is P(alive | x, t_x, T); m and δ as in the file comment.
func betaGeoPAlive(r, alpha, a, b float64, modified bool, x, tx, T float64) float64 {
	x, tx, T = clampHistory(x, tx, T)
	m := 0.0
	if modified {
		m = 1
	} else if x == 0 {
		return 1
	}
	lr := math.Log((alpha + T) / (alpha + tx))
	if math.IsInf(lr, 0) {
		lr = math.Log(alpha+T) - math.Log(alpha+tx)
	}
	z := math.Log(a) - math.Log(b+x+m-1) + (r+x)*lr
	if math.IsNaN(z) {
		return 0.5
	}
	_, sig := softplusSigmoid(-z)
	return sig
}

// clampHistory maps a history onto the valid domain: x >= 0,
// 0 <= t_x <= T. NaN inputs become 0.
func clampHistory(x, tx, T float64) (float64, float64, float64) {
	if !(x > 0) {
		x = 0
	}
	if !(T > 0) {
		T = 0
	}
	if !(tx > 0) {
		tx = 0
	}
	if tx > T {
		tx = T
	}
	if math.IsInf(x, 1) {
		x = math.MaxFloat64
	}
	return x, tx, T
}

// aliveSeries is the expected number of purchases in the next t time units
// of a BG/NBD-type customer known to be alive, whose purchase rate is
// Gamma(shape rr, rate aa) and whose drop-out probability is Beta(a, bb):
//
//	E = Σ_{k≥1} P(N ≥ k) · (bb)_{k−1} / (a+bb)_{k−1},   N ~ NB(rr, t/(aa+t)),
//
// (purchase k happens if the Poisson-gamma count reaches k and the customer
// survived the k−1 purchases before it). This equals FHL's closed form
// (a+bb−1)/(a−1) · [1 − (aa/(aa+t))^rr · 2F1(rr, bb; a+bb−1; t/(aa+t))]
// but has only positive terms: no cancellation, no singularity at a = 1
// and no overflow for large rr. It is summed as Σ_k P(N = k) S_k with
// S_k = Σ_{j<k} (bb)_j/(a+bb)_j, starting at N's mode when P(N = 0)
// underflows.
func aliveSeries(t, rr, aa, a, bb float64) float64 {
	if !(t > 0) {
		return 0
	}
	if math.IsInf(t, 1) {
		t = math.MaxFloat64
	}
	z := t / (aa + t)         // NB success probability
	lq := -math.Log1p(t / aa) // ln(1−z), accurate for small t/aa
	if z >= 1 || lq < -700*64 {
		// The horizon dwarfs aa: as good as infinite.
		z = math.Nextafter(1, 0)
		lq = math.Log1p(-z)
	}
	// The series needs about mean + 40 sd terms of N (from zero) or 80 sd
	// (from the mode); beyond maxSeriesTerms, integrate over p instead.
	q := -math.Expm1(lq)
	mean := rr * q / (1 - q)
	sd := math.Sqrt(rr*q) / (1 - q)
	if rr*lq > -600 {
		if mean+40*sd < maxSeriesTerms {
			return aliveSeriesFromZero(z, math.Exp(rr*lq), rr, a, bb)
		}
	} else if 80*sd < maxSeriesTerms {
		return aliveSeriesFromMode(z, lq, rr, a, bb)
	}
	return aliveQuadrature(t, rr, aa, a, bb)
}

const seriesTol = 1e-14

// maxSeriesTerms bounds the work of one series evaluation. It is only
// exceeded for horizons thousands of times longer than alpha+T, where
// aliveQuadrature takes over.
const maxSeriesTerms = 20_000

// aliveQuadrature is aliveSeries as the integral over the drop-out
// probability p ~ Beta(a, bb) of (1 − (aa/(aa+p·t))^rr)/p (the expected
// purchases of an alive customer with drop-out probability p, averaged
// over the purchase rate), by tanh-sinh quadrature, which copes with
// the integrable singularities at p = 0 and p = 1. Relative accuracy is
// about 1e-10; it serves the regime where the series would need too many
// terms (horizon ≫ aa).
func aliveQuadrature(t, rr, aa, a, bb float64) float64 {
	lgab, _ := math.Lgamma(a + bb)
	lga, _ := math.Lgamma(a)
	lgb, _ := math.Lgamma(bb)
	lnB := lga + lgb - lgab
	ta := t / aa
	// term(u) is the integrand times dp/du = p(1−p)·π·cosh(u), with
	// p = 1/(1+e^(−2v)), v = (π/2)·sinh(u): p^(a−1) (1−p)^bb and the
	// normalising beta function are combined in log space so that points
	// within 1e-300 of either end still count.
	term := func(u float64) float64 {
		v := math.Pi / 2 * math.Sinh(u)
		lp := -softplus(-2 * v)
		l1p := -softplus(2 * v)
		p := math.Exp(lp)
		// 1 − (1+p·t/aa)^−rr = −expm1(−rr·log1p(p·t/aa)).
		g := -math.Expm1(-rr * math.Log1p(p*ta))
		v = math.Exp((a-1)*lp+bb*l1p-lnB) * g * math.Pi * math.Cosh(u)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0
		}
		return v
	}
	const h = 1.0 / 32
	sum := term(0)
	for _, dir := range []float64{1, -1} {
		small := 0
		for k := 1; k <= 320 && small < 8; k++ {
			v := term(dir * float64(k) * h)
			sum += v
			if v <= 1e-17*sum {
				small++
			} else {
				small = 0
			}
		}
	}
	return sum * h
}

// softplus is ln(1+e^z) without overflow.
func softplus(z float64) float64 {
	sp, _ := softplusSigmoid(z)
	return sp
}

func aliveSeriesFromZero(z, p0, rr, a, bb float64) float64 {
	pk := p0 // P(N = k)
	s := 0.0 // S_k
	u := 1.0 // (bb)_k / (a+bb)_k
	sum := 0.0
	for k := 0.0; k < maxSeriesTerms; k++ {
		// Move to k+1; one division serves both ratios.
		inv := 1 / ((k + 1) * (a + bb + k))
		pk *= (rr + k) * z * (a + bb + k) * inv
		s += u
		u *= (bb + k) * (k + 1) * inv
		term := pk * s
		sum += term
		if int(k)&7 == 7 {
			// Remaining terms are bounded by a geometric series in the
			// pmf ratio, times the at most linear growth of S.
			ratio := max((rr+k+1)/(k+2)*z, z)
			if ratio < 1 && term*(1+1/(s*(1-ratio)))/(1-ratio) <= seriesTol*sum {
				break
			}
		}
	}
	return sum
}

func aliveSeriesFromMode(z, lq, rr, a, bb float64) float64 {
	// Mode of NB(rr, z).
	mode := math.Floor((rr - 1) * z / (1 - z))
	if mode < 0 {
		mode = 0
	}
	lgrk, _ := math.Lgamma(rr + mode)
	lgr, _ := math.Lgamma(rr)
	lgk, _ := math.Lgamma(mode + 1)
	lpm := lgrk - lgr - lgk + rr*lq + mode*math.Log(z)
	pm := math.Exp(lpm) // ~ 1/sd, representable
	sm, um := partialS(mode, a, bb)
	sum := pm * sm
	// Forward.
	pk, s, u := pm, sm, um
	for k := mode; k < mode+maxSeriesTerms; k++ {
		pk *= (rr + k) / (k + 1) * z
		s += u
		u *= (bb + k) / (a + bb + k)
		term := pk * s
		sum += term
		ratio := max((rr+k+1)/(k+2)*z, z)
		if ratio < 1 && k > mode+2 && term*(1+1/(s*(1-ratio)))/(1-ratio) <= seriesTol*sum {
			break
		}
	}
	// Backward.
	pk, s, u = pm, sm, um
	for k := mode; k > 0 && k > mode-maxSeriesTerms; k-- {
		pk *= k / ((rr + k - 1) * z)
		u *= (a + bb + k - 1) / (bb + k - 1)
		s -= u
		if s < 0 {
			s = 0
		}
		term := pk * s
		sum += term
		if term <= seriesTol*sum {
			break
		}
	}
	return sum
}

// partialS returns S_k = Σ_{j<k} (bb)_j/(a+bb)_j and u_k = (bb)_k/(a+bb)_k.
func partialS(k, a, bb float64) (s, u float64) {
	if k <= 200_000 {
		u = 1
		for j := 0.0; j < k; j++ {
			s += u
			u *= (bb + j) / (a + bb + j)
		}
		return s, u
	}
	l1, _ := math.Lgamma(bb + k)
	l2, _ := math.Lgamma(bb)
	l3, _ := math.Lgamma(a + bb + k)
	l4, _ := math.Lgamma(a + bb)
	u = math.Exp(l1 - l2 - l3 + l4)
	// S_k = (c/(a−1)) · (1 − (bb)_k/(c)_k), c = a+bb−1, with
	// ln((bb)_k/(c)_k) = −ε(ψ(bb+k) − ψ(bb)) − ε²/2 (ψ'(bb+k) − ψ'(bb)) + O(ε³)
	// for ε = a−1 near 0, where the lgamma differences would cancel.
	eps := a - 1
	c := a + bb - 1
	dpsi := mathext.Digamma(bb+k) - mathext.Digamma(bb)
	if math.Abs(eps) < 1e-3 {
		dtri := trigamma(bb+k) - trigamma(bb)
		// −expm1(ratio)/ε with ratio = −ε·dpsi − ε²/2·dtri.
		ratio := -eps*dpsi - eps*eps/2*dtri
		if eps == 0 {
			return bb * dpsi, u
		}
		return c / eps * -math.Expm1(ratio), u
	}
	l5, s5 := math.Lgamma(c + k)
	l6, s6 := math.Lgamma(c)
	ratio := l1 - l2 - l5 + l6
	// Γ(c) < 0 when −1 < c < 0 (x = 0, a + b < 1): (c)_k is then negative.
	return c / eps * (1 - float64(s5*s6)*math.Exp(ratio)), u
}
