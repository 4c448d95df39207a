package clv

import (
	"math"
	"sync"
	"time"

	"gonum.org/v1/gonum/mathext"
)

// ParetoNBD is a fitted Pareto/NBD model (Schmittlein, Morrison & Colombo
// 1987, "Counting Your Customers: Who Are They and What Will They Do
// Next?"): while alive a customer buys at Poisson rate λ ~ Gamma(R, Alpha)
// and stays alive for an exponential lifetime of rate μ ~ Gamma(S, Beta),
// λ and μ independent. Alpha and Beta are in the data's time unit.
//
// The formulas are those of Fader, Hardie & Lee (2005), "A Note on
// Deriving the Pareto/NBD Model and Related Expressions"
// (brucehardie.com/notes/009), evaluated in log space; see
// paretoLnJ for the one integral all of them share.
type ParetoNBD struct{ R, Alpha, S, Beta float64 }

var _ TransactionModel = ParetoNBD{}

// ParetoNBDNames are the Pareto/NBD parameter names in FitOptions.Starts order.
var ParetoNBDNames = []string{"r", "alpha", "s", "beta"}

// FitParetoNBD fits Pareto/NBD by maximum likelihood (see Maximize for
// the search, the convergence test and the standard errors).
func FitParetoNBD(d Data, opts FitOptions) (ParetoNBD, FitResult) {
	start := time.Now()
	if len(d.Triples) == 0 {
		return ParetoNBD{}, FitResult{Model: "paretonbd", LogLik: math.Inf(-1), Status: "no customers"}
	}
	p := prepare(d)
	ev := newParetoEval(p)
	par, res := Maximize(Problem{
		Model: "paretonbd", Names: ParetoNBDNames, Customers: p.customers,
		Starts: paretoStarts(p),
		LogLik: ev.logLik,
		// logLik is safe for concurrent use; below parallelMin triples it
		// runs on one goroutine, so the starts can run in parallel.
		Concurrent: len(p.w) < parallelMin,
	}, opts)
	res.Seconds = time.Since(start).Seconds()
	if par == nil {
		return ParetoNBD{}, res
	}
	return ParetoNBD{R: par[0], Alpha: par[1], S: par[2], Beta: par[3]}, res
}

// LogLikelihood is the model's log-likelihood of the data (the sum over
// customers, in the papers' units).
func (m ParetoNBD) LogLikelihood(d Data) float64 {
	return newParetoEval(prepare(d)).logLik(m.params(), nil)
}

// CustomerLogLikelihood is the log-likelihood of one customer's history
// (x, tx, T) (FHL 2005 note, eq. 22):
//
//	L = Γ(r+x) α^r β^s / Γ(r) · [ B1 + s·J ],   B1 = (α+T)^−(r+x) (β+T)^−s,
//	J = ∫_tx^T (α+τ)^−(r+x) (β+τ)^−(s+1) dτ,
//
// where s·J is the papers' s/(r+s+x) · A0 term.
func (m ParetoNBD) CustomerLogLikelihood(x, tx, T float64) float64 {
	x, tx, T = clampHistory(x, tx, T)
	c := m.customer(x, tx, T)
	l, _ := c.lnOnePlusRho(false, nil)
	lgrx, _ := math.Lgamma(m.R + x)
	lgr, _ := math.Lgamma(m.R)
	return lgrx - lgr + m.R*math.Log(m.Alpha) + m.S*math.Log(m.Beta) + c.lb1 + l
}

// PAlive is the probability that a customer with history (x, tx, T) is
// still alive at T (FHL 2005 note, eq. 18):
//
//	P(alive) = 1 / (1 + s·J/B1) = 1 / (1 + s·J·(α+T)^(r+x) (β+T)^s),
//
// with J and B1 as in CustomerLogLikelihood. It is 1 when tx = T.
func (m ParetoNBD) PAlive(x, tx, T float64) float64 {
	x, tx, T = clampHistory(x, tx, T)
	c := m.customer(x, tx, T)
	l, _ := c.lnOnePlusRho(false, nil)
	return math.Exp(-l)
}

// ConditionalExpected is the expected number of purchases in (T, T+t] of a
// customer with history (x, tx, T) (FHL 2005 note, eq. 21, after
// Schmittlein et al. 1987):
//
//	E = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive),
//
// with the factor (β+T)/(s−1) · [...] evaluated by lifetimeFactor, which is
// continuous through s = 1 (where E = (r+x)(β+T)/(α+T) · ln(1+t/(β+T)) ·
// P(alive)).
func (m ParetoNBD) ConditionalExpected(t, x, tx, T float64) float64 {
	if !(t > 0) {
		return 0
	}
	x, tx, T = clampHistory(x, tx, T)
	return finite(m.aliveExpected(t, x, T) * m.PAlive(x, tx, T))
}

// aliveExpected is the expected number of purchases in (T, T+t] of a
// customer with x repeat purchases by T who is alive at T:
// (r+x)/(α+T) · lifetimeFactor(t, β+T, s). It does not depend on tx, so
// Predict and ScoreCustomers compute it once per (x, T) and horizon and
// multiply by PAlive.
func (m ParetoNBD) aliveExpected(t, x, T float64) float64 {
	if !(t > 0) {
		return 0
	}
	return finite((m.R + x) / (m.Alpha + T) * lifetimeFactor(t, m.Beta+T, m.S))
}

// Expected is E[X(t)], the expected number of repeat purchases in (0, t]
// of a customer who made their first purchase at time 0 (Schmittlein et
// al. 1987; FHL 2005 note, eq. 17):
//
//	E[X(t)] = rβ / (α(s−1)) · [1 − (β/(β+t))^(s−1)],
//
// evaluated as in ConditionalExpected (finite at s = 1).
func (m ParetoNBD) Expected(t float64) float64 {
	if !(t > 0) {
		return 0
	}
	return finite(m.R / m.Alpha * lifetimeFactor(t, m.Beta, m.S))
}

// lifetimeFactor returns b/(s−1) · [1 − (b/(b+t))^(s−1)] for t > 0, which is
// E[(1−e^−μt)/μ] for μ ~ Gamma(s, rate b): the expected time alive in the
// next t time units of a customer alive now whose death rate has the
// posterior Gamma(s, b). With L = ln(1+t/b) it is b·L·ψ((s−1)L),
// ψ(y) = (1−e^−y)/y, ψ(0) = 1.
func lifetimeFactor(t, b, s float64) float64 {
	l := math.Log1p(t / b)
	if math.IsInf(l, 1) {
		l = math.Log(t) - math.Log(b)
	}
	y := (s - 1) * l
	if y > -700 {
		psi := 1.0
		if y != 0 {
			psi = -math.Expm1(-y) / y
		}
		return finite(b * l * psi)
	}
	// ψ(y) ≈ e^−y/(−y) overflows on its own.
	return finite(math.Exp(math.Log(b) + math.Log(l) - y - math.Log(-y)))
}

// finite maps +Inf to the largest float64 (a horizon or parameters so
// extreme that the expectation overflows) and leaves other values alone.
func finite(v float64) float64 {
	if v > math.MaxFloat64 {
		return math.MaxFloat64
	}
	return v
}

func (m ParetoNBD) params() []float64 { return []float64{m.R, m.Alpha, m.S, m.Beta} }

// customer gathers the terms of one history for lnOnePlusRho.
func (m ParetoNBD) customer(x, tx, T float64) history {
	hi, lo := m.Alpha, m.Beta
	if m.Alpha < m.Beta {
		hi, lo = m.Beta, m.Alpha
	}
	p1, p2 := newTauPoint(tx, hi, lo), newTauPoint(T, hi, lo)
	return newHistory(&p1, &p2, newJArgs(m.R, m.Alpha, m.S, m.Beta, x), m.R, m.Alpha, m.S, m.Beta, x)
}

// ---------------------------------------------------------------------------
// The integral J.
//
// Every Pareto/NBD expression above needs, for a history (x, tx, T),
//
//	J = ∫_tx^T (α+τ)^−(r+x) (β+τ)^−(s+1) dτ
//
// (the likelihood's s/(r+s+x)·A0 term is s·J), and only through the ratio
// ρ = s·J/B1 of the likelihood's two terms: P(alive) = 1/(1+ρ) and
// ln L = const + ln B1 + ln(1+ρ). Everything here is computed relative to
// B1, never as ln J and ln B1 apart: with large exponents (x, or s in the
// limit s, β → ∞ that optimisers like to explore) those logarithms are
// of order 1e9 and their difference would keep no digits.
//
// Write m = max(α, β), n = min(α, β), d = m − n, and eM, e for the
// exponents of (m+τ) and (n+τ): eM = r+x, e = s+1 when α >= β, the other
// way round otherwise. Then a = eM + e − 1 = r+s+x and (FHL 2005 note,
// eq. 19–20)
//
//	J = (E(tx) − E(T)) / a,
//	E(τ) = (m+τ)^−a · 2F1(a, e; a+1; z(τ)),   z(τ) = d/(m+τ),
//	     = (m+τ)^−eM · (n+τ)^−(e−1) · G(a, eM; z(τ))     (see hyp2f1.go).
//
// The papers (and lifetimes, BTYD) compute A0 = E(tx) − E(T) as a
// difference of two 2F1 values whose size they control with a log-sum-exp.
// Here E(T)/B1 is exactly κ·G(T), with κ = 1 (α >= β) or (α+T)/(β+T)
// (α < β), and E(tx)/B1 = G(tx)·e^δ with
//
//	δ = (r+x) ln((α+T)/(α+tx)) + s ln((β+T)/(β+tx)) [+ ln((α+tx)/(β+tx)) if α < β],
//
// so ρ = s/a · (G(tx) e^δ − κ G(T)) costs two G evaluations and one
// exponential (the fast path).
//
// Where that is slow or inaccurate, J/B1 is integrated directly
// (quadLnJB1): when z(tx) > zQuad (n + tx ≪ d, where G's continued
// fraction needs hundreds of steps), when δ > 600 (e^δ would overflow:
// enormous x with T ≫ tx), when T − tx is so small that G(tx) e^δ and
// κ G(T) agree to 9 digits (their difference would lose them), or when
// G's evaluation does not converge. Both paths also give the gradient of
// ln(1+ρ) for the analytic gradient of the log-likelihood.
// ---------------------------------------------------------------------------

// zQuad is the largest z(tx) the fast path is used for.
const zQuad = 0.99

// tauPoint holds the terms of one time point τ (tx or T) for given α, β.
type tauPoint struct {
	tau    float64
	lm, ln float64 // ln(m+τ), ln(n+τ)
	im, in float64 // 1/(m+τ), 1/(n+τ)
	z      float64 // d/(m+τ)
	u, lu  float64 // u = (n+τ)/(m+τ) and ln u
}

func newTauPoint(tau, hi, lo float64) tauPoint {
	p := tauPoint{tau: tau, lm: math.Log(hi + tau), ln: math.Log(lo + tau), im: 1 / (hi + tau), in: 1 / (lo + tau)}
	p.z = (hi - lo) * p.im
	p.u = (lo + tau) * p.im
	p.lu = p.ln - p.lm
	return p
}

// jGrad holds partial derivatives with respect to eM, e (as independent
// variables; a = eM+e−1 follows them), m and n.
type jGrad struct{ eM, e, m, n float64 }

func (g jGrad) lin(c1 float64, h jGrad, c2 float64) jGrad {
	return jGrad{c1*g.eM + c2*h.eM, c1*g.e + c2*h.e, c1*g.m + c2*h.m, c1*g.n + c2*h.n}
}

// jArgs are the parameters of J for one x: a = r+s+x, the exponents eM
// of (m+τ) and e of (n+τ), m = max(α, β), n = min(α, β).
type jArgs struct{ a, eM, e, m, n float64 }

func newJArgs(r, alpha, s, beta, x float64) jArgs {
	if alpha < beta {
		return jArgs{a: r + s + x, eM: s + 1, e: r + x, m: beta, n: alpha}
	}
	return jArgs{a: r + s + x, eM: r + x, e: s + 1, m: alpha, n: beta}
}

// pGrad holds partial derivatives with respect to (r, α, s, β).
type pGrad [4]float64

// history is one customer's (x, tx, T) with the model's terms at tx and T.
type history struct {
	p1, p2            *tauPoint // at tx and T
	q                 jArgs
	r, alpha, s, beta float64
	x                 float64
	swapped           bool // α < β: m = β, eM = s+1, e = r+x
	// ln B1 = −(r+x) ln(α+T) − s ln(β+T), and ln(α+T), ln(β+T),
	// 1/(α+T), 1/(β+T).
	lb1, la, lb, ia, ib float64
}

func newHistory(p1, p2 *tauPoint, q jArgs, r, alpha, s, beta, x float64) history {
	h := history{p1: p1, p2: p2, q: q, r: r, alpha: alpha, s: s, beta: beta, x: x, swapped: alpha < beta,
		la: p2.lm, lb: p2.ln, ia: p2.im, ib: p2.in}
	if h.swapped {
		h.la, h.lb, h.ia, h.ib = p2.ln, p2.lm, p2.in, p2.im
	}
	h.lb1 = -(r+x)*h.la - s*h.lb
	return h
}

// toParams maps a gradient in (eM, e, m, n) to (r, α, s, β).
func (h *history) toParams(g jGrad) pGrad {
	if h.swapped {
		return pGrad{g.e, g.n, g.eM, g.m}
	}
	return pGrad{g.eM, g.m, g.e, g.n}
}

// lnB1Grad is the gradient of ln B1 in (r, α, s, β).
func (h *history) lnB1Grad() pGrad {
	return pGrad{-h.la, -(h.r + h.x) * h.ia, -h.lb, -h.s * h.ib}
}

// delta returns δ = ln(E(tx)/B1) − ln G(tx) (see the section comment).
// The differences ln(α+T) − ln(α+tx) are taken from the tabulated
// logarithms while that costs at most ~1e-12 of absolute accuracy in δ,
// and from log1p otherwise.
func (h *history) delta() float64 {
	p1, p2 := h.p1, h.p2
	rx := h.r + h.x
	var dlm, dln float64 // ln((m+T)/(m+tx)), ln((n+T)/(n+tx))
	if (rx+h.s)*(math.Abs(p2.lm)+math.Abs(p2.ln)) < 1e4 {
		dlm, dln = p2.lm-p1.lm, p2.ln-p1.ln
	} else {
		gap := p2.tau - p1.tau
		dlm, dln = math.Log1p(gap*p1.im), math.Log1p(gap*p1.in)
	}
	if h.swapped {
		return rx*dln + h.s*dlm + p1.lu
	}
	return rx*dlm + h.s*dln
}

// gMemo remembers G and its derivatives at tx for one (x, tx): the
// likelihood's triples are sorted by x then tx, so consecutive triples
// (all those with x = 0, for one) often share it.
type gMemo struct {
	ok            bool
	x, tx         float64
	g, ga, gc, gz float64
	conv          bool
}

// g1 returns G(a, eM; z(tx)), when grad is set its log-derivatives, and
// whether it converged, from memo when it holds them.
func (h *history) g1(memo *gMemo, grad bool) (g, ga, gc, gz float64, ok bool) {
	if memo != nil && memo.ok && memo.x == h.x && memo.tx == h.p1.tau {
		return memo.g, memo.ga, memo.gc, memo.gz, memo.conv
	}
	if grad {
		g, ga, gc, gz, ok = gDeriv(h.q.a, h.q.eM, h.p1.z)
	} else {
		g, ok = gValue(h.q.a, h.q.eM, h.p1.z)
	}
	if memo != nil {
		*memo = gMemo{ok: true, x: h.x, tx: h.p1.tau, g: g, ga: ga, gc: gc, gz: gz, conv: ok}
	}
	return g, ga, gc, gz, ok
}

// lnOnePlusRho returns ln(1+ρ), ρ = s·J/B1 (see the section comment), and
// when grad is set its gradient in (r, α, s, β). memo may be nil.
func (h *history) lnOnePlusRho(grad bool, memo *gMemo) (float64, pGrad) {
	p1, p2, q := h.p1, h.p2, &h.q
	if !(p2.tau > p1.tau) {
		return 0, pGrad{}
	}
	if p1.z > zQuad {
		return h.lnOnePlusRhoQuad(grad)
	}
	delta := h.delta()
	if delta > 600 {
		return h.lnOnePlusRhoQuad(grad)
	}
	kappa := 1.0
	if h.swapped {
		kappa = p2.u // (α+T)/(β+T)
	}
	ed := math.Exp(delta)
	if !grad {
		g1, _, _, _, ok1 := h.g1(memo, false)
		g2, ok2 := gValue(q.a, q.eM, p2.z)
		P1, P2 := g1*ed, g2*kappa
		if !ok1 || !ok2 || !(P1-P2 > midGap*P1) {
			return h.lnOnePlusRhoQuad(false)
		}
		return math.Log1p(h.s / q.a * (P1 - P2)), pGrad{}
	}
	g1, ga1, gc1, gz1, ok1 := h.g1(memo, true)
	g2, ga2, gc2, gz2, ok2 := gDeriv(q.a, q.eM, p2.z)
	P1, P2 := g1*ed, g2*kappa
	if !ok1 || !ok2 || !(P1-P2 > midGap*P1) {
		return h.lnOnePlusRhoQuad(true)
	}
	sa := h.s / q.a
	rho := sa * (P1 - P2)
	// ρ = s/a (E(tx) − E(T))/B1. In (eM, e, m, n):
	// V = s/a (P1 ∂ln E(tx) − P2 ∂ln E(T)) − ρ/a (through a).
	e1 := eGrad(p1, q, ga1, gc1, gz1)
	e2 := eGrad(p2, q, ga2, gc2, gz2)
	v := e1.lin(sa*P1, e2, -sa*P2)
	v.eM -= rho / q.a
	v.e -= rho / q.a
	gv := h.toParams(v)
	gv[2] += rho / h.s
	// ∂ln(1+ρ) = ∂ρ/(1+ρ), ∂ρ = V + ρ/s (on s) − ρ ∂ln B1.
	gb := h.lnB1Grad()
	inv := 1 / (1 + rho)
	var out pGrad
	for i := range out {
		out[i] = (gv[i] - rho*gb[i]) * inv
	}
	return math.Log1p(rho), out
}

// midGap is the relative difference of E(tx) and E(T) below which J is
// integrated directly.
const midGap = 1e-9

// eGrad returns the partial derivatives of ln E(τ) = −eM ln(m+τ)
// − (e−1) ln(n+τ) + ln G(a, eM; z(τ)), given those of ln G.
func eGrad(p *tauPoint, q *jArgs, ga, gc, gz float64) jGrad {
	// ∂z/∂m = (n+τ)/(m+τ)² = u/(m+τ), ∂z/∂n = −1/(m+τ).
	return jGrad{
		eM: -p.lm + ga + gc,
		e:  -p.ln + ga,
		m:  -q.eM*p.im + gz*p.u*p.im,
		n:  -(q.e-1)*p.in - gz*p.im,
	}
}

// lnOnePlusRhoQuad is lnOnePlusRho from ln(J/B1) by quadrature.
func (h *history) lnOnePlusRhoQuad(grad bool) (float64, pGrad) {
	l, g := h.quadLnJB1(grad)
	lrho := math.Log(h.s) + l
	sp, sig := softplusSigmoid(lrho)
	if !grad {
		return sp, pGrad{}
	}
	g[2] += 1 / h.s
	for i := range g {
		g[i] *= sig
	}
	return sp, g
}

// Gauss–Kronrod 7/15 nodes on [−1, 1] (QUADPACK's qk15): xgk[1], xgk[3],
// xgk[5], xgk[7] are the Gauss nodes.
var (
	xgk = [8]float64{0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
		0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
		0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
		0.207784955007898467600689403773245, 0}
	wgk = [8]float64{0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
		0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
		0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
		0.204432940075298892414161999234649, 0.209482141084727828012999174891714}
	wg = [4]float64{0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
		0.381830050505118944950369775488975, 0.417959183673469387755102040816327}
)

// quadPanel is one subinterval of the adaptive quadrature, its integrals
// (of the integrand and its four derivative weights) scaled by e^−scale,
// and its error estimate (same scale).
type quadPanel struct {
	a, b, scale float64
	val         [5]float64
	err         float64
}

// quadLnJB1 returns ln(J/B1) and, when grad is set, its gradient in
// (r, α, s, β), by globally adaptive Gauss–Kronrod (7/15) quadrature of
//
//	J/B1 = ∫_tx^T ((α+T)/(α+τ))^(r+x) ((β+T)/(β+τ))^s / (β+τ) dτ
//
// in w = ln(1 + (τ−tx)/(n+tx)), n = min(α, β), which resolves the
// integrand's scales near τ = −n (dτ = (n+τ) dw), to a relative accuracy
// of 1e-13. The gradient integrates ∂ln(integrand)/∂θ with the same nodes.
func (h *history) quadLnJB1(grad bool) (float64, pGrad) {
	tx, T := h.p1.tau, h.p2.tau
	rx, s, alpha, beta := h.r+h.x, h.s, h.alpha, h.beta
	n := min(alpha, beta)
	gap := T - tx
	base := n + tx
	W := math.Log1p(gap / base)
	// f evaluates ln of the integrand in w and the derivative weights.
	f := func(w float64) (float64, [4]float64) {
		em := math.Expm1(w)
		tau := tx + base*em
		rest := max(gap-base*em, 0) // T − τ
		la := math.Log1p(rest / (alpha + tau))
		lb := math.Log1p(rest / (beta + tau))
		ib := 1 / (beta + tau)
		// ln integrand + ln(dτ/dw) with dτ/dw = n+τ = base·e^w.
		lf := rx*la + s*lb - math.Log(beta+tau) + math.Log(base) + w
		if !grad {
			return lf, [4]float64{}
		}
		return lf, [4]float64{
			la,
			-rx * rest / ((alpha + T) * (alpha + tau)),
			lb,
			-s*rest*ib/(beta+T) - ib,
		}
	}
	panel := func(a, b float64) quadPanel {
		c, hw := (a+b)/2, (b-a)/2
		var lf [15]float64
		var dw [15][4]float64
		mx := math.Inf(-1)
		for i := 0; i < 15; i++ {
			x := c
			if i < 7 {
				x = c - hw*xgk[i]
			} else if i < 14 {
				x = c + hw*xgk[i-7]
			}
			lf[i], dw[i] = f(x)
			mx = max(mx, lf[i])
		}
		p := quadPanel{a: a, b: b, scale: mx}
		var gauss float64
		for i := 0; i < 15; i++ {
			k := i % 7
			wk := wgk[7]
			if i < 14 {
				wk = wgk[k]
			}
			v := math.Exp(lf[i]-mx) * hw
			p.val[0] += wk * v
			for j := 0; j < 4 && grad; j++ {
				p.val[j+1] += wk * v * dw[i][j]
			}
			switch {
			case i == 14:
				gauss += wg[3] * v
			case k%2 == 1:
				gauss += wg[k/2] * v
			}
		}
		p.err = math.Abs(p.val[0] - gauss)
		return p
	}
	panels := []quadPanel{panel(0, W)}
	for iter := 0; iter < 200; iter++ {
		top := panels[0].scale
		for _, p := range panels {
			top = max(top, p.scale)
		}
		var total, errSum float64
		worst, worstErr := 0, -1.0
		for i, p := range panels {
			sc := math.Exp(p.scale - top)
			total += p.val[0] * sc
			e := p.err * sc
			errSum += e
			if e > worstErr {
				worst, worstErr = i, e
			}
		}
		if errSum <= 1e-13*total || !(total > 0) {
			break
		}
		p := panels[worst]
		mid := (p.a + p.b) / 2
		if !(mid > p.a && mid < p.b) {
			break // the panel cannot be split further
		}
		panels[worst] = panel(p.a, mid)
		panels = append(panels, panel(mid, p.b))
	}
	top := panels[0].scale
	for _, p := range panels {
		top = max(top, p.scale)
	}
	var sum [5]float64
	for _, p := range panels {
		sc := math.Exp(p.scale - top)
		for j := range sum {
			sum[j] += p.val[j] * sc
		}
	}
	l := top + math.Log(sum[0])
	if !grad {
		return l, pGrad{}
	}
	return l, pGrad{sum[1] / sum[0], sum[2] / sum[0], sum[3] / sum[0], sum[4] / sum[0]}
}

// ---------------------------------------------------------------------------
// Fitting.

// paretoEval evaluates the Pareto/NBD log-likelihood and its gradient over
// prepared data. The τ-dependent terms are computed once per distinct T
// and t_x, the x-dependent ones once per distinct x; each triple then
// costs two evaluations of G (hyp2f1.go), or one when it shares x and t_x
// with the triple before it. It is safe for concurrent use.
type paretoEval struct {
	p    *prepared
	bufs sync.Pool // of *paretoBufs
}

// paretoBufs are the per-evaluation tables.
type paretoBufs struct {
	tPts, txPts []tauPoint
	jq          []jArgs // per x
}

func newParetoEval(p *prepared) *paretoEval {
	ev := &paretoEval{p: p}
	ev.bufs.New = func() any {
		return &paretoBufs{
			tPts:  make([]tauPoint, len(p.tVals)),
			txPts: make([]tauPoint, len(p.txVals)),
			jq:    make([]jArgs, len(p.xVals)),
		}
	}
	return ev
}

// logLik is the total log-likelihood at par = (r, α, s, β), with its
// gradient stored in grad when grad is non-nil (a LogLikFunc).
func (ev *paretoEval) logLik(par, grad []float64) float64 {
	r, alpha, s, beta := par[0], par[1], par[2], par[3]
	p := ev.p
	b := ev.bufs.Get().(*paretoBufs)
	defer ev.bufs.Put(b)
	hi, lo := alpha, beta
	if alpha < beta {
		hi, lo = beta, alpha
	}
	for j, v := range p.tVals {
		b.tPts[j] = newTauPoint(v, hi, lo)
	}
	for j, v := range p.txVals {
		b.txPts[j] = newTauPoint(v, hi, lo)
	}
	// The terms that depend on x only: ln Γ(r+x) − ln Γ(r) + r ln α + s ln β.
	lnAlpha, lnBeta := math.Log(alpha), math.Log(beta)
	lgr, _ := math.Lgamma(r)
	var psiR float64
	withGrad := grad != nil
	if withGrad {
		psiR = mathext.Digamma(r)
	}
	var ll, gR, gAlpha, gS, gBeta float64
	for k, x := range p.xVals {
		b.jq[k] = newJArgs(r, alpha, s, beta, x)
		n := p.xCount[k]
		lgrx, _ := math.Lgamma(r + x)
		ll += n * (lgrx - lgr + r*lnAlpha + s*lnBeta)
		if withGrad {
			gR += n * (mathext.Digamma(r+x) - psiR + lnAlpha)
			gAlpha += n * r / alpha
			gS += n * lnBeta
			gBeta += n * s / beta
		}
	}
	// Per triple: ln B1 + ln(1+ρ).
	acc := sumChunks(len(p.w), 5, func(lo, hi int, acc []float64) {
		var sll, sr, sal, ss, sb float64
		var memo gMemo
		for i := lo; i < hi; i++ {
			w := p.w[i]
			h := newHistory(&b.txPts[p.txi[i]], &b.tPts[p.ti[i]], b.jq[p.xi[i]], r, alpha, s, beta, p.x[i])
			l, g := h.lnOnePlusRho(withGrad, &memo)
			sll += w * (h.lb1 + l)
			if withGrad {
				gb := h.lnB1Grad()
				sr += w * (gb[0] + g[0])
				sal += w * (gb[1] + g[1])
				ss += w * (gb[2] + g[2])
				sb += w * (gb[3] + g[3])
			}
		}
		acc[0], acc[1], acc[2], acc[3], acc[4] = sll, sr, sal, ss, sb
	})
	ll += acc[0]
	if withGrad {
		grad[0] = gR + acc[1]
		grad[1] = gAlpha + acc[2]
		grad[2] = gS + acc[3]
		grad[3] = gBeta + acc[4]
	}
	return ll
}

// paretoStarts are default starting points for (r, α, s, β): α from the
// observed purchase rate, β from the observation span, and one neutral
// point.
func paretoStarts(p *prepared) [][]float64 {
	rate := p.rateGuess()
	span := max(p.maxTime, 1e-3)
	return [][]float64{
		{1, 1 / rate, 1, span},
		{0.5, 0.5 / rate, 0.5, 0.5 * span},
		{1, 1, 1, 1},
	}
}
