package clv

import (
	"math"
	"runtime"
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
// The formulas are those of Fader & Hardie (2005), "A Note on Deriving
// the Pareto/NBD Model and Related Expressions" (brucehardie.com/notes/009,
// cited below as "the note"). All of them rest on one integral, J, whose
// evaluation (without NaN, overflow or cancellation for any valid input)
// is described in the section comment "The integral J" below.
type ParetoNBD struct{ R, Alpha, S, Beta float64 }

var _ TransactionModel = ParetoNBD{}

// ParetoNBDNames are the Pareto/NBD parameter names in FitOptions.Starts order.
var ParetoNBDNames = []string{"r", "alpha", "s", "beta"}

// FitParetoNBD fits Pareto/NBD by maximum likelihood with the analytic
// gradient of the log-likelihood, from three starting points unless
// opts.Starts gives others (see Maximize for the search, the convergence
// test and the standard errors). FitResult.Model is "paretonbd" and
// Params has the keys r, alpha, s and beta.
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
		// logLik is safe for concurrent use, and from paretoChunkMin
		// triples it also splits each pass over the cores itself. The
		// starts still run in parallel: nested, the serial parts of each
		// start (the per-T and per-x terms, the line searches, the
		// standard errors) overlap with the others' passes. Measured on
		// 2 cores, 23,570 triples: 0.37–0.45 s nested, 0.63 s with
		// sequential starts, 0.85 s with a sequential likelihood; 8,595
		// triples: 0.11 s, 0.13 s, 0.12–0.26 s.
		Concurrent: true,
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
// (x, tx, T) (the note, §3):
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
	ab := newPnbdTerms(m.R, m.Alpha, m.S, m.Beta, T, c.la, c.lb, math.Log(m.Alpha), math.Log(m.Beta))
	return lgrx - lgr + ab.value(x) + l
}

// PAlive is the probability that a customer with history (x, tx, T) is
// still alive at T (the note, §5):
//
//	P(alive) = 1 / (1 + s·J/B1) = 1 / (1 + s·J·(α+T)^(r+x) (β+T)^s),
//
// with J and B1 as in CustomerLogLikelihood. It is 1 when tx = T.
func (m ParetoNBD) PAlive(x, tx, T float64) float64 {
	x, tx, T = clampHistory(x, tx, T)
	if !(T > tx) {
		return 1
	}
	if rho, ok := m.rhoFast(x, tx, T); ok {
		return 1 / (1 + rho)
	}
	c := m.customer(x, tx, T)
	l, _ := c.lnOnePlusRho(false, nil)
	return math.Exp(-l)
}

// rhoFast is the fast path of pnbdHistory.lnOnePlusRho without the gradient,
// for scoring: ρ = s/a · (G(tx) e^δ − κ G(T)), with e^δ from two log1p and
// one exponential. It reports false where lnOnePlusRho would integrate.
func (m ParetoNBD) rhoFast(x, tx, T float64) (float64, bool) {
	alpha, beta, r, s := m.Alpha, m.Beta, m.R, m.S
	hi, lo, eM := alpha, beta, r+x
	if alpha < beta {
		hi, lo, eM = beta, alpha, s+1
	}
	z1 := (hi - lo) / (hi + tx)
	gap := T - tx
	delta := (r+x)*math.Log1p(gap/(alpha+tx)) + s*math.Log1p(gap/(beta+tx))
	if !(delta <= 600) {
		return 0, false
	}
	ed, kappa := math.Exp(delta), 1.0
	if alpha < beta {
		ed *= (alpha + tx) / (beta + tx)
		kappa = (alpha + T) / (beta + T)
	}
	a := r + s + x
	g1, ok1 := gValue(a, eM, z1)
	g2, ok2 := gValue(a, eM, (hi-lo)/(hi+T))
	P1, P2 := g1*ed, g2*kappa
	rho := s / a * (P1 - P2)
	if !ok1 || !ok2 || !rhoAccurate(rho, s/a*P1, delta, lo/(hi+tx)+tx/(hi+tx)) {
		return 0, false
	}
	return rho, true
}

// ConditionalExpected is the expected number of purchases in (T, T+t] of a
// customer with history (x, tx, T) (the note, §6, after Schmittlein et
// al. 1987):
//
//	E = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive),
//
// with the factor (β+T)/(s−1) · [...] evaluated by pnbdLifetime, which is
// continuous through s = 1 (where E = (r+x)(β+T)/(α+T) · ln(1+t/(β+T)) ·
// P(alive)).
func (m ParetoNBD) ConditionalExpected(t, x, tx, T float64) float64 {
	if !(t > 0) {
		return 0
	}
	x, tx, T = clampHistory(x, tx, T)
	return capInf(m.aliveExpected(t, x, T) * m.PAlive(x, tx, T))
}

// aliveExpected is the expected number of purchases in (T, T+t] of a
// customer with x repeat purchases by T who is alive at T:
// (r+x)/(α+T) · pnbdLifetime(t, β+T, s). It does not depend on tx, so
// Predict and ScoreCustomers compute it once per (x, T) and horizon and
// multiply by PAlive.
func (m ParetoNBD) aliveExpected(t, x, T float64) float64 {
	if !(t > 0) {
		return 0
	}
	return capInf((m.R + x) / (m.Alpha + T) * pnbdLifetime(t, m.Beta+T, m.S))
}

// Expected is E[X(t)], the expected number of repeat purchases in (0, t]
// of a customer who made their first purchase at time 0 (Schmittlein et
// al. 1987; the note, §4):
//
//	E[X(t)] = rβ / (α(s−1)) · [1 − (β/(β+t))^(s−1)],
//
// evaluated as in ConditionalExpected (finite at s = 1).
func (m ParetoNBD) Expected(t float64) float64 {
	if !(t > 0) {
		return 0
	}
	return capInf(m.R / m.Alpha * pnbdLifetime(t, m.Beta, m.S))
}

// pnbdLifetime returns b/(s−1) · [1 − (b/(b+t))^(s−1)] for t > 0, which is
// E[(1−e^−μt)/μ] for μ ~ Gamma(s, rate b): the expected time alive in the
// next t time units of a customer alive now whose death rate has the
// posterior Gamma(s, b). With L = ln(1+t/b) it is b·L·ψ((s−1)L),
// ψ(y) = (1−e^−y)/y, ψ(0) = 1.
func pnbdLifetime(t, b, s float64) float64 {
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
		return capInf(b * l * psi)
	}
	// ψ(y) ≈ e^−y/(−y) overflows on its own.
	return capInf(math.Exp(math.Log(b) + math.Log(l) - y - math.Log(-y)))
}

// capInf maps +Inf to the largest float64 (a horizon or parameters so
// extreme that the expectation overflows) and leaves other values alone.
func capInf(v float64) float64 {
	if v > math.MaxFloat64 {
		return math.MaxFloat64
	}
	return v
}

func (m ParetoNBD) params() []float64 { return []float64{m.R, m.Alpha, m.S, m.Beta} }

// customer gathers the terms of one history for lnOnePlusRho.
func (m ParetoNBD) customer(x, tx, T float64) pnbdHistory {
	hi, lo := m.Alpha, m.Beta
	if m.Alpha < m.Beta {
		hi, lo = m.Beta, m.Alpha
	}
	p1, p2 := newPnbdPoint(tx, hi, lo), newPnbdPoint(T, hi, lo)
	return newPnbdHistory(&p1, &p2, newPnbdArgs(m.R, m.Alpha, m.S, m.Beta, x), m.R, m.Alpha, m.S, m.Beta, x)
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
// way round otherwise. Then a = eM + e − 1 = r+s+x and (the note, §3)
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
// exponential (the fast path). P(alive) and the likelihood need ln(1+ρ)
// to an absolute accuracy, not ρ to a relative one, so the difference is
// harmless unless both terms are large next to 1+ρ (rhoAccurate).
//
// Where that is slow or inaccurate, J/B1 is integrated directly
// (quadLnJB1): when G's evaluation does not converge quickly (z(tx) close
// to 1, i.e. n + tx ≪ d, with moderate a: see gNearOne in hyp2f1.go), when
// δ > 600 (e^δ would overflow: enormous x with T ≫ tx), and when the
// difference G(tx) e^δ − κ G(T) is not accurate enough (rhoAccurate). Both
// paths also give the gradient of ln(1+ρ) for the analytic gradient of the
// log-likelihood.
// ---------------------------------------------------------------------------

// pnbdPoint holds the terms of one time point τ (tx or T) for given α, β.
type pnbdPoint struct {
	tau    float64
	lm, ln float64 // ln(m+τ), ln(n+τ)
	im, in float64 // 1/(m+τ), 1/(n+τ)
	z      float64 // d/(m+τ)
	u, lu  float64 // u = (n+τ)/(m+τ) and ln u
}

func newPnbdPoint(tau, hi, lo float64) pnbdPoint {
	p := pnbdPoint{tau: tau, lm: math.Log(hi + tau), ln: math.Log(lo + tau), im: 1 / (hi + tau), in: 1 / (lo + tau)}
	p.z = (hi - lo) * p.im
	p.u = (lo + tau) * p.im
	p.lu = p.ln - p.lm
	return p
}

// pnbdEGrad holds partial derivatives with respect to eM, e (as independent
// variables; a = eM+e−1 follows them), m and n.
type pnbdEGrad struct{ eM, e, m, n float64 }

func (g pnbdEGrad) lin(c1 float64, h pnbdEGrad, c2 float64) pnbdEGrad {
	return pnbdEGrad{c1*g.eM + c2*h.eM, c1*g.e + c2*h.e, c1*g.m + c2*h.m, c1*g.n + c2*h.n}
}

// pnbdArgs are the parameters of J for one x: a = r+s+x, the exponents eM
// of (m+τ) and e of (n+τ), m = max(α, β), n = min(α, β).
type pnbdArgs struct{ a, eM, e, m, n float64 }

func newPnbdArgs(r, alpha, s, beta, x float64) pnbdArgs {
	if alpha < beta {
		return pnbdArgs{a: r + s + x, eM: s + 1, e: r + x, m: beta, n: alpha}
	}
	return pnbdArgs{a: r + s + x, eM: r + x, e: s + 1, m: alpha, n: beta}
}

// pnbdGrad holds partial derivatives with respect to (r, α, s, β).
type pnbdGrad [4]float64

// pnbdHistory is one customer's (x, tx, T) with the model's terms at tx and T.
type pnbdHistory struct {
	p1, p2            *pnbdPoint // at tx and T
	q                 pnbdArgs
	r, alpha, s, beta float64
	x                 float64
	swapped           bool // α < β: m = β, eM = s+1, e = r+x
	// ln B1 = −(r+x) ln(α+T) − s ln(β+T), and ln(α+T), ln(β+T),
	// 1/(α+T), 1/(β+T).
	lb1, la, lb, ia, ib float64
}

func newPnbdHistory(p1, p2 *pnbdPoint, q pnbdArgs, r, alpha, s, beta, x float64) pnbdHistory {
	h := pnbdHistory{p1: p1, p2: p2, q: q, r: r, alpha: alpha, s: s, beta: beta, x: x, swapped: alpha < beta,
		la: p2.lm, lb: p2.ln, ia: p2.im, ib: p2.in}
	if h.swapped {
		h.la, h.lb, h.ia, h.ib = p2.ln, p2.lm, p2.in, p2.im
	}
	h.lb1 = -(r+x)*h.la - s*h.lb
	return h
}

// toParams maps a gradient in (eM, e, m, n) to (r, α, s, β).
func (h *pnbdHistory) toParams(g pnbdEGrad) pnbdGrad {
	if h.swapped {
		return pnbdGrad{g.e, g.n, g.eM, g.m}
	}
	return pnbdGrad{g.eM, g.m, g.e, g.n}
}

// lnB1Grad is the gradient of ln B1 in (r, α, s, β).
func (h *pnbdHistory) lnB1Grad() pnbdGrad {
	return pnbdGrad{-h.la, -(h.r + h.x) * h.ia, -h.lb, -h.s * h.ib}
}

// delta returns δ = ln(E(tx)/B1) − ln G(tx) (see the section comment).
// The differences ln(α+T) − ln(α+tx) are taken from the tabulated
// logarithms while that costs at most ~1e-12 of absolute accuracy in δ,
// and from log1p otherwise.
func (h *pnbdHistory) delta() float64 {
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
func (h *pnbdHistory) g1(memo *gMemo, grad bool) (g, ga, gc, gz float64, ok bool) {
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
func (h *pnbdHistory) lnOnePlusRho(grad bool, memo *gMemo) (float64, pnbdGrad) {
	p1, p2, q := h.p1, h.p2, &h.q
	if !(p2.tau > p1.tau) {
		return 0, pnbdGrad{}
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
	sa := h.s / q.a
	if !grad {
		g1, _, _, _, ok1 := h.g1(memo, false)
		g2, ok2 := gValue(q.a, q.eM, p2.z)
		P1, P2 := g1*ed, g2*kappa
		rho := sa * (P1 - P2)
		if !ok1 || !ok2 || !rhoAccurate(rho, sa*P1, delta, p1.u) {
			return h.lnOnePlusRhoQuad(false)
		}
		return math.Log1p(rho), pnbdGrad{}
	}
	g1, ga1, gc1, gz1, ok1 := h.g1(memo, true)
	g2, ga2, gc2, gz2, ok2 := gDeriv(q.a, q.eM, p2.z)
	P1, P2 := g1*ed, g2*kappa
	rho := sa * (P1 - P2)
	if !ok1 || !ok2 || !rhoAccurate(rho, sa*P1, delta, p1.u) {
		return h.lnOnePlusRhoQuad(true)
	}
	// ρ = s/a (E(tx) − E(T))/B1. In (eM, e, m, n):
	// V = s/a (P1 ∂ln E(tx) − P2 ∂ln E(T)) − ρ/a (through a).
	e1 := lnEGrad(p1, q, ga1, gc1, gz1)
	e2 := lnEGrad(p2, q, ga2, gc2, gz2)
	v := e1.lin(sa*P1, e2, -sa*P2)
	v.eM -= rho / q.a
	v.e -= rho / q.a
	gv := h.toParams(v)
	gv[2] += rho / h.s
	// ∂ln(1+ρ) = ∂ρ/(1+ρ), ∂ρ = V + ρ/s (on s) − ρ ∂ln B1.
	gb := h.lnB1Grad()
	inv := 1 / (1 + rho)
	var out pnbdGrad
	for i := range out {
		out[i] = (gv[i] - rho*gb[i]) * inv
	}
	return math.Log1p(rho), out
}

// rhoAccurate reports whether ρ = s/a·(P1 − P2), P1 = G(tx)·e^δ, is
// accurate enough for the fast path: whether the rounding of P1 and P2,
// relative ~1e-16·(|δ| + 1/u(tx)) (the exponential's argument, and G's
// condition number 1/(1−z) in z), leaves ln(1+ρ) within 1e-11. It fails
// when T − tx is tiny next to large terms, or G is ill-conditioned (z
// near 1), and when P1 <= P2.
func rhoAccurate(rho, saP1, delta, u1 float64) bool {
	errRho := saP1 * 2e-16 * (8 + math.Abs(delta) + 1/u1)
	return rho > 0 && errRho <= 1e-11*(1+rho)
}

// lnEGrad returns the partial derivatives of ln E(τ) = −eM ln(m+τ)
// − (e−1) ln(n+τ) + ln G(a, eM; z(τ)), given those of ln G.
func lnEGrad(p *pnbdPoint, q *pnbdArgs, ga, gc, gz float64) pnbdEGrad {
	// ∂z/∂m = (n+τ)/(m+τ)² = u/(m+τ), ∂z/∂n = −1/(m+τ).
	return pnbdEGrad{
		eM: -p.lm + ga + gc,
		e:  -p.ln + ga,
		m:  -q.eM*p.im + gz*p.u*p.im,
		n:  -(q.e-1)*p.in - gz*p.im,
	}
}

// lnOnePlusRhoQuad is lnOnePlusRho from ln(J/B1) by quadrature.
func (h *pnbdHistory) lnOnePlusRhoQuad(grad bool) (float64, pnbdGrad) {
	l, g := h.quadLnJB1(grad)
	lrho := math.Log(h.s) + l
	sp, sig := softplusSigmoid(lrho)
	if !grad {
		return sp, pnbdGrad{}
	}
	g[2] += 1 / h.s
	for i := range g {
		g[i] *= sig
	}
	return sp, g
}

// Gauss–Kronrod 7/15 rule on [−1, 1] (QUADPACK's qk15): the nodes ±x_k
// and 0 with the Kronrod weights; the 7-point Gauss rule uses the nodes
// with odd k (and 0) and g7Weights.
var (
	gk15Nodes = [8]float64{0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
		0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
		0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
		0.207784955007898467600689403773245, 0}
	gk15Weights = [8]float64{0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
		0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
		0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
		0.204432940075298892414161999234649, 0.209482141084727828012999174891714}
	g7Weights = [4]float64{0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
		0.381830050505118944950369775488975, 0.417959183673469387755102040816327}
)

// gkPanel is one subinterval of the adaptive quadrature, its integrals
// (of the integrand and its four derivative weights) scaled by e^−scale,
// and its error estimate (same scale).
type gkPanel struct {
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
func (h *pnbdHistory) quadLnJB1(grad bool) (float64, pnbdGrad) {
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
	panel := func(a, b float64) gkPanel {
		c, hw := (a+b)/2, (b-a)/2
		var lf [15]float64
		var dw [15][4]float64
		mx := math.Inf(-1)
		for i := 0; i < 15; i++ {
			x := c
			if i < 7 {
				x = c - hw*gk15Nodes[i]
			} else if i < 14 {
				x = c + hw*gk15Nodes[i-7]
			}
			lf[i], dw[i] = f(x)
			mx = max(mx, lf[i])
		}
		p := gkPanel{a: a, b: b, scale: mx}
		var gauss float64
		for i := 0; i < 15; i++ {
			k := i % 7
			wk := gk15Weights[7]
			if i < 14 {
				wk = gk15Weights[k]
			}
			v := math.Exp(lf[i]-mx) * hw
			p.val[0] += wk * v
			for j := 0; j < 4 && grad; j++ {
				p.val[j+1] += wk * v * dw[i][j]
			}
			switch {
			case i == 14:
				gauss += g7Weights[3] * v
			case k%2 == 1:
				gauss += g7Weights[k/2] * v
			}
		}
		p.err = math.Abs(p.val[0] - gauss)
		return p
	}
	panels := []gkPanel{panel(0, W)}
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
		return l, pnbdGrad{}
	}
	return l, pnbdGrad{sum[1] / sum[0], sum[2] / sum[0], sum[3] / sum[0], sum[4] / sum[0]}
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
	tPts, txPts []pnbdPoint
	ab          []pnbdTerms // per T
	jq          []pnbdArgs  // per x
}

func newParetoEval(p *prepared) *paretoEval {
	ev := &paretoEval{p: p}
	ev.bufs.New = func() any {
		return &paretoBufs{
			tPts:  make([]pnbdPoint, len(p.tVals)),
			txPts: make([]pnbdPoint, len(p.txVals)),
			ab:    make([]pnbdTerms, len(p.tVals)),
			jq:    make([]pnbdArgs, len(p.xVals)),
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
	lna, lnb := math.Log(alpha), math.Log(beta)
	for j, v := range p.tVals {
		pt := newPnbdPoint(v, hi, lo)
		b.tPts[j] = pt
		la, lb := pt.lm, pt.ln
		if alpha < beta {
			la, lb = lb, la
		}
		b.ab[j] = newPnbdTerms(r, alpha, s, beta, v, la, lb, lna, lnb)
	}
	for j, v := range p.txVals {
		b.txPts[j] = newPnbdPoint(v, hi, lo)
	}
	// The terms that depend on x only: ln Γ(r+x) − ln Γ(r).
	lgr, _ := math.Lgamma(r)
	var psiR float64
	withGrad := grad != nil
	if withGrad {
		psiR = mathext.Digamma(r)
	}
	var ll, gR float64
	for k, x := range p.xVals {
		b.jq[k] = newPnbdArgs(r, alpha, s, beta, x)
		n := p.xCount[k]
		lgrx, _ := math.Lgamma(r + x)
		ll += n * (lgrx - lgr)
		if withGrad {
			gR += n * (mathext.Digamma(r+x) - psiR)
		}
	}
	// Per triple: r ln α + s ln β + ln B1, and ln(1+ρ).
	acc := paretoChunks(len(p.w), 5, func(lo, hi int, acc []float64) {
		var sll, sr, sal, ss, sb float64
		var memo gMemo
		for i := lo; i < hi; i++ {
			w, x, ti := p.w[i], p.x[i], p.ti[i]
			h := newPnbdHistory(&b.txPts[p.txi[i]], &b.tPts[ti], b.jq[p.xi[i]], r, alpha, s, beta, x)
			l, g := h.lnOnePlusRho(withGrad, &memo)
			ab := &b.ab[ti]
			sll += w * (ab.value(x) + l)
			if withGrad {
				gab := ab.grad(x)
				sr += w * (gab[0] + g[0])
				sal += w * (gab[1] + g[1])
				ss += w * (gab[2] + g[2])
				sb += w * (gab[3] + g[3])
			}
		}
		acc[0], acc[1], acc[2], acc[3], acc[4] = sll, sr, sal, ss, sb
	})
	ll += acc[0]
	if withGrad {
		grad[0] = gR + acc[1]
		grad[1] = acc[2]
		grad[2] = acc[3]
		grad[3] = acc[4]
	}
	return ll
}

// paretoChunkMin is the number of triples from which a likelihood pass is
// split over the cores.
const paretoChunkMin = 4096

// paretoChunks runs f over [0, n) in contiguous chunks, one per core when
// n >= paretoChunkMin, and adds up the k partial sums each chunk returns
// in acc, in chunk order (deterministic for a given GOMAXPROCS).
func paretoChunks(n, k int, f func(lo, hi int, acc []float64)) []float64 {
	workers := runtime.GOMAXPROCS(0)
	if n < paretoChunkMin || workers < 2 {
		acc := make([]float64, k)
		f(0, n, acc)
		return acc
	}
	parts := make([][]float64, workers)
	var wg sync.WaitGroup
	for w := range parts {
		parts[w] = make([]float64, k)
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Go(func() { f(lo, hi, parts[w]) })
	}
	wg.Wait()
	for _, part := range parts[1:] {
		for i := range parts[0] {
			parts[0][i] += part[i]
		}
	}
	return parts[0]
}

// pnbdTerms holds, for one T, what r ln α + s ln β + ln B1
// = −r ln(1+T/α) − x ln(α+T) − s ln(1+T/β) needs. Written with log1p, it
// keeps its digits when r or s is huge (then r ln α and (r+x) ln(α+T) are
// huge and nearly cancel).
type pnbdTerms struct {
	r, alpha, s, beta, T float64
	l1pa, l1pb, la       float64 // ln(1+T/α), ln(1+T/β), ln(α+T)
}

// newPnbdTerms returns the terms at T; la, lb are ln(α+T), ln(β+T) and
// lna, lnb are ln α, ln β. ln(1+T/α) is taken as la − lna while that
// loses at most ~1e-12 of absolute accuracy in value, from log1p otherwise.
func newPnbdTerms(r, alpha, s, beta, T, la, lb, lna, lnb float64) pnbdTerms {
	t := pnbdTerms{r: r, alpha: alpha, s: s, beta: beta, T: T, la: la}
	if r*math.Abs(la)+s*math.Abs(lb) < 1e4 {
		t.l1pa, t.l1pb = la-lna, lb-lnb
	} else {
		t.l1pa, t.l1pb = math.Log1p(T/alpha), math.Log1p(T/beta)
	}
	return t
}

// value is r ln α + s ln β + ln B1 for x.
func (t *pnbdTerms) value(x float64) float64 {
	return -t.r*t.l1pa - x*t.la - t.s*t.l1pb
}

// grad is the gradient of value in (r, α, s, β).
func (t *pnbdTerms) grad(x float64) pnbdGrad {
	ia, ib := 1/(t.alpha+t.T), 1/(t.beta+t.T)
	return pnbdGrad{-t.l1pa, t.r*t.T*ia/t.alpha - x*ia, -t.l1pb, t.s * t.T * ib / t.beta}
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
