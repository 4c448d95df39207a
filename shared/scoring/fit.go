package scoring

import (
	"fmt"
	"math"
	"strings"

	"github.com/winback/winback/shared/clv"
	"gonum.org/v1/gonum/mathext"
)

// Fit chooses and fits the shop's models from its statistics:
//
//   - Transaction model: unless the shop is young, every model in
//     cfg.Models is fitted by maximum likelihood on all the customers'
//     (x, t_x, T) triples, and the converged fit with the highest
//     log-likelihood is chosen (they all have 4 parameters, so this is
//     also the lowest AIC and BIC); a fit that does not converge, or
//     converges without standard errors (parameters not identified), is
//     skipped. A young shop (fewer than cfg.MinRepeatCustomers repeat
//     customers or fewer than cfg.MinHistoryDays days of history), or a
//     shop where no fit converges, gets the empirical model (see
//     Empirical). Model.Reason says which and why.
//   - Spend model: Gamma-Gamma fitted on the repeat customers' (x, mean
//     repeat-day spend) pairs; with fewer than cfg.MinSpendCustomers such
//     customers, or when the fit does not converge, the fixed fallback
//     p=1, q=2, gamma=the shop's mean repeat-day spend (see SpendReason).
//   - RFM cut points from the shop-wide histograms, spend-tier thresholds
//     from the predicted CLV distribution (see RULES.md).
//
// The result depends only on the merged statistics, not on how they were
// split or merged (timings are zeroed).
func Fit(s Stats, cfg Config) (Model, error) {
	if err := cfg.Validate(); err != nil {
		return Model{}, err
	}
	if s.mixed {
		return Model{}, fmt.Errorf("%w (latest %s)", ErrMixedAsOf, s.asOf)
	}
	if s.n.Customers == 0 {
		return Model{}, ErrNoCustomers
	}
	m := Model{
		AsOf: s.asOf, Customers: s.n.Customers, RepeatCustomers: s.n.RepeatCustomers,
		HistoryDays: s.n.MaxT, Config: cfg,
	}
	m.RFM = rfmCuts(s)

	var young []string
	if s.n.RepeatCustomers < int64(cfg.MinRepeatCustomers) {
		young = append(young, fmt.Sprintf("%d repeat customers (fewer than %d)", s.n.RepeatCustomers, cfg.MinRepeatCustomers))
	}
	if s.n.MaxT < int64(cfg.MinHistoryDays) {
		young = append(young, fmt.Sprintf("%d days of history (fewer than %d)", s.n.MaxT, cfg.MinHistoryDays))
	}
	if len(young) > 0 {
		m.useEmpirical(s, "young shop: "+strings.Join(young, " and "))
	} else {
		d := s.data()
		for _, name := range cfg.Models {
			m.Candidates = append(m.Candidates, fitTransaction(name, d))
		}
		best, reason := chooseModel(m.Candidates)
		if best < 0 {
			m.useEmpirical(s, reason)
		} else {
			m.Name, m.Params, m.Reason = m.Candidates[best].Model, m.Candidates[best].Params, reason
		}
	}
	m.fitSpend(s)
	m.Tiers = tierCuts(s, m)
	return m, nil
}

// data is the statistics' triples as the fitting code's input (what
// clv.Group returns for the same customers).
func (s Stats) data() clv.Data {
	ts := s.sortedTriples()
	d := clv.Data{Triples: make([]clv.Triple, len(ts)), Customers: int(s.n.Customers)}
	for i, t := range ts {
		d.Triples[i] = clv.Triple{X: float64(t[0]), Tx: float64(t[1]), T: float64(t[2]), Count: float64(t[3])}
	}
	return d
}

// fitTransaction fits one transaction model; timings are zeroed.
func fitTransaction(name string, d clv.Data) clv.FitResult {
	var res clv.FitResult
	switch name {
	case ModelBGNBD:
		_, res = clv.FitBGNBD(d, clv.FitOptions{})
	case ModelMBGNBD:
		_, res = clv.FitMBGNBD(d, clv.FitOptions{})
	case ModelParetoNBD:
		_, res = clv.FitParetoNBD(d, clv.FitOptions{})
	}
	res.Model = name
	return finiteResult(res)
}

// finiteResult zeroes the timing and a non-finite log-likelihood (a fit
// that could not be evaluated; Status says why), so that the result is
// deterministic and JSON-serialisable.
func finiteResult(r clv.FitResult) clv.FitResult {
	r.Seconds = 0
	if math.IsNaN(r.LogLik) || math.IsInf(r.LogLik, 0) {
		r.LogLik = 0
		r.Converged = false
	}
	return r
}

// chooseModel returns the index of the usable fit with the highest
// log-likelihood (the first on a tie), or −1 when none is usable, and the
// reason in words. A fit is usable when it converged and its parameters
// are identified: the observed information is positive definite, so it
// has standard errors (a fit that runs to the edge of the parameter
// space, as when nobody bought twice, has none).
func chooseModel(cands []clv.FitResult) (int, string) {
	best := -1
	var notes []string
	for i, c := range cands {
		if !c.Converged || c.Params == nil || c.StdErr == nil {
			status := c.Status
			if status == "" {
				status = "no parameters"
			}
			verb := "did not converge"
			if c.Converged {
				verb = "is not identified"
			}
			notes = append(notes, fmt.Sprintf("%s %s (%s)", c.Model, verb, status))
			continue
		}
		notes = append(notes, fmt.Sprintf("%s LL=%.2f", c.Model, c.LogLik))
		if best < 0 || c.LogLik > cands[best].LogLik {
			best = i
		}
	}
	if best < 0 {
		if len(cands) == 0 {
			return -1, "no transaction model configured"
		}
		return -1, "no transaction model converged with identified parameters: " + strings.Join(notes, "; ")
	}
	return best, fmt.Sprintf("%s: highest log-likelihood among the converged, identified fits (all have 4 parameters, so also the lowest AIC and BIC): %s",
		cands[best].Model, strings.Join(notes, "; "))
}

// useEmpirical makes m the empirical model, with reason.
func (m *Model) useEmpirical(s Stats, reason string) {
	e := empiricalOf(s, m.Config)
	m.Name = ModelEmpirical
	m.Params = map[string]float64{"gap_days": e.Gap, "k": e.K}
	m.Reason = fmt.Sprintf("%s: empirical model: each customer's purchase rate (x+k)/(t_x+k·gap) from their own purchase days shrunk toward the shop's mean gap of %.4g days (k=%g), P(alive) = exp(−rate·recency)",
		reason, e.Gap, e.K)
}

// empiricalOf is the empirical model of the statistics: the shop's mean
// gap between purchase days Σt_x/Σx, or, when nobody bought twice, the
// shop's history length (at least a day).
func empiricalOf(s Stats, cfg Config) Empirical {
	gap := float64(max(s.n.MaxT, 1))
	if s.n.SumX > 0 {
		gap = float64(s.n.SumTx) / float64(s.n.SumX)
	}
	return Empirical{Gap: max(gap, 1), K: cfg.EmpiricalPriorGaps}
}

// Empirical is the young shop's transaction model, a clv.TransactionModel
// with no fitted parameters: a customer's purchase rate, per day, is
// rate = (x + K)/(t_x + K·Gap), their own x gaps over t_x days shrunk
// toward the shop's mean gap Gap with the weight of K gaps (a one-time
// buyer's rate is 1/Gap); gaps are taken as exponential, so P(alive) is
// the probability of a gap at least as long as the current recency,
// exp(−rate·(T − t_x)), and the expected purchases in the next t days
// are P(alive)·rate·t.
type Empirical struct {
	Gap float64 // the shop's mean gap between purchase days, days
	K   float64 // prior weight, in gaps
}

var _ clv.TransactionModel = Empirical{}

func (e Empirical) rate(x, tx float64) float64 {
	if !(x > 0) {
		x = 0
	}
	if !(tx > 0) {
		tx = 0
	}
	return (x + e.K) / (tx + e.K*e.Gap)
}

// PAlive is exp(−rate·(T − t_x)).
func (e Empirical) PAlive(x, tx, T float64) float64 {
	rec := T - tx
	if !(rec > 0) {
		return 1
	}
	return math.Exp(-e.rate(x, tx) * rec)
}

// ConditionalExpected is P(alive)·rate·t.
func (e Empirical) ConditionalExpected(t, x, tx, T float64) float64 {
	if !(t > 0) {
		return 0
	}
	return e.PAlive(x, tx, T) * e.rate(x, tx) * t
}

// Expected is E[X(t)] of a new customer, t·K/(K·Gap) = t/Gap.
func (e Empirical) Expected(t float64) float64 {
	if !(t > 0) {
		return 0
	}
	return e.rate(0, 0) * t
}

// transactionModel is the model m scores with.
func (m Model) transactionModel() clv.TransactionModel {
	p := m.Params
	switch m.Name {
	case ModelBGNBD:
		return clv.BGNBD{R: p["r"], Alpha: p["alpha"], A: p["a"], B: p["b"]}
	case ModelMBGNBD:
		return clv.MBGNBD{R: p["r"], Alpha: p["alpha"], A: p["a"], B: p["b"]}
	case ModelParetoNBD:
		return clv.ParetoNBD{R: p["r"], Alpha: p["alpha"], S: p["s"], Beta: p["beta"]}
	}
	return Empirical{Gap: p["gap_days"], K: p["k"]}
}

// spendModel is the Gamma-Gamma model m scores with (fitted or fixed).
func (m Model) spendModel() clv.GammaGamma {
	p := m.Spend.Params
	return clv.GammaGamma{P: p["p"], Q: p["q"], Gamma: p["gamma"]}
}

// fitSpend fits Gamma-Gamma or sets the fixed fallback.
func (m *Model) fitSpend(s Stats) {
	rows := s.sortedSpend()
	var pos []spendRow
	var n int64
	for _, r := range rows {
		if r.M > 0 {
			pos = append(pos, r)
			n += r.Count
		}
	}
	var reason string
	if n < int64(m.Config.MinSpendCustomers) {
		reason = fmt.Sprintf("%d repeat customers with a positive repeat spend (fewer than %d)", n, m.Config.MinSpendCustomers)
	} else {
		res := fitGammaGamma(pos, n)
		if res.Converged && res.Params != nil && res.Params["q"] > 1 {
			m.Spend = res
			m.SpendReason = "gammagamma fitted on the repeat customers' mean repeat-day spend (rounded to 4 significant digits)"
			return
		}
		if res.Converged && res.Params != nil {
			reason = fmt.Sprintf("the gammagamma fit has q = %.4g <= 1 (infinite mean spend)", res.Params["q"])
		} else {
			reason = fmt.Sprintf("the gammagamma fit did not converge (%s)", res.Status)
		}
		m.Spend = res // keep the diagnostics; the parameters are replaced below
	}
	mean := shopMeanSpend(s)
	m.Spend = clv.FitResult{
		Model: "fixed", Params: map[string]float64{"p": 1, "q": 2, "gamma": mean},
		Customers: int(n), Status: m.Spend.Status,
	}
	m.SpendReason = fmt.Sprintf("%s: expected order value is the shop's mean repeat-day spend %.4g shrunk with a customer's own repeat-day mean, (mean + x·own)/(x + 1) (Gamma-Gamma with fixed p=1, q=2)", reason, mean)
}

// shopMeanSpend is the shop's mean spend per repeat purchase day, or,
// when nobody bought twice (or repeat days were free), per purchase day.
func shopMeanSpend(s Stats) float64 {
	if s.n.SumX > 0 && s.n.RepeatSpend > 0 {
		return float64(s.n.RepeatSpend) / float64(s.n.SumX)
	}
	if days := s.n.Customers + s.n.SumX; days > 0 && s.n.TotalSpend > 0 {
		return float64(s.n.TotalSpend) / float64(days)
	}
	return 0
}

// fitGammaGamma fits Gamma-Gamma by maximum likelihood on weighted (x, m)
// rows, the likelihood of clv.FitGammaGamma (Fader & Hardie 2013 eq. 3)
// with each row counted Count times.
func fitGammaGamma(rows []spendRow, n int64) clv.FitResult {
	var sw, sm float64
	for _, r := range rows {
		sw += float64(r.Count)
		sm += float64(r.Count) * r.M
	}
	mean := sm / sw
	ll := func(par, grad, hess []float64) float64 { return ggLogLik(rows, par, grad, hess) }
	_, res := clv.Maximize(clv.Problem{
		Model: "gammagamma", Names: clv.GammaGammaNames, Customers: int(n),
		Starts:     [][]float64{{1, 1, 1}, {2, 3, 2 * mean}, {6, 4, 15 * mean / 35}},
		LogLikHess: ll, Concurrent: true,
	}, clv.FitOptions{})
	return finiteResult(res)
}

// ggLogLik is Σ count · [ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ +
// (px−1) ln m + px ln x − (px+q) ln(γ+xm)] with its gradient and Hessian
// in (p, q, γ).
func ggLogLik(rows []spendRow, par, grad, hess []float64) float64 {
	p, q, g := par[0], par[1], par[2]
	lgq, _ := math.Lgamma(q)
	lnG := math.Log(g)
	psiQ := mathext.Digamma(q)
	var triQ float64
	withGrad, withHess := grad != nil, grad != nil && hess != nil
	if withHess {
		triQ = trigamma(q)
	}
	var ll, gp, gq, gg, hpp, hpq, hpg, hqq, hqg, hgg float64
	for _, r := range rows {
		w, x, lnM := float64(r.Count), float64(r.X), math.Log(r.M)
		px := p * x
		a, _ := math.Lgamma(px + q)
		b, _ := math.Lgamma(px)
		den := g + x*r.M
		lden := math.Log(den)
		lnX := math.Log(x)
		ll += w * (a - b - lgq + q*lnG + (px-1)*lnM + px*lnX - (px+q)*lden)
		if !withGrad {
			continue
		}
		pa := mathext.Digamma(px + q)
		gp += w * x * (pa - mathext.Digamma(px) + lnM + lnX - lden)
		gq += w * (pa - psiQ + lnG - lden)
		gg += w * (q/g - (px+q)/den)
		if withHess {
			ta := trigamma(px + q)
			hpp += w * x * x * (ta - trigamma(px))
			hpq += w * x * ta
			hpg -= w * x / den
			hqq += w * (ta - triQ)
			hqg += w * (1/g - 1/den)
			hgg += w * (-q/(g*g) + (px+q)/(den*den))
		}
	}
	if withGrad {
		grad[0], grad[1], grad[2] = gp, gq, gg
	}
	if withHess {
		copy(hess, []float64{hpp, hpq, hpg, hpq, hqq, hqg, hpg, hqg, hgg})
	}
	return ll
}

// trigamma is ψ'(x) for x > 0 (recurrence to x >= 10, then the
// asymptotic series).
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
