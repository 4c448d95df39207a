package clv

import (
	"fmt"
	"math"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// FitOptions tunes a maximum-likelihood fit. The zero value is ready to use.
type FitOptions struct {
	// Starts are starting points for the optimiser, each a full parameter
	// vector on the natural scale (all entries > 0) in the model's parameter
	// order (r, alpha, a, b for BG/NBD; r, alpha, s, beta for Pareto/NBD;
	// p, q, gamma for Gamma-Gamma). When empty the model's default starts
	// are used. Invalid vectors (wrong length, non-positive or non-finite
	// entries) are skipped.
	Starts [][]float64
	// MaxIterations caps the optimiser's major iterations per start
	// (0 means 500).
	MaxIterations int
}

// LogLikFunc evaluates a model's total log-likelihood (the sum over
// customers, in the papers' units) at params, given on the natural scale
// (all > 0). When grad is non-nil it also stores dLL/dparams in grad
// (len(grad) == len(params)). It must not modify params and should return
// -Inf (not NaN) where the likelihood is zero or cannot be evaluated.
type LogLikFunc func(params, grad []float64) float64

// LogLikHessFunc is a LogLikFunc that can also return the Hessian: when
// hess is non-nil (then grad is non-nil too) it stores d²LL/dparams²,
// row-major k×k, in it.
type LogLikHessFunc func(params, grad, hess []float64) float64

// Problem is a maximum-likelihood problem for Maximize.
type Problem struct {
	// Model names the model in the FitResult ("bgnbd", "paretonbd", ...).
	Model string
	// Names are the parameter names, in the order LogLik expects them.
	Names []string
	// LogLik is the log-likelihood with its analytic gradient (required
	// unless LogLikHess is set).
	LogLik LogLikFunc
	// LogLikHess, when set, is used instead of LogLik: the search is then
	// Newton's method (a few iterations instead of dozens), with BFGS as
	// a fallback, and standard errors use the analytic Hessian.
	LogLikHess LogLikHessFunc
	// Starts are the model's default starting points (natural scale),
	// used when FitOptions.Starts is empty.
	Starts [][]float64
	// Customers is the number of customers behind the likelihood; it is
	// copied into the result and used to scale the objective.
	Customers int
	// Concurrent says LogLik may be called from several goroutines at
	// once; the starts then run in parallel. Leave it false when LogLik
	// keeps state. A LogLik that is itself parallel may set it too, and
	// the goroutines then nest: whether that pays is a measurement, not a
	// rule (it does for Pareto/NBD, see FitParetoNBD; BG/NBD and
	// Gamma-Gamma run their starts in parallel only below parallelMin
	// triples, where their likelihood passes are sequential).
	Concurrent bool
}

// maxLogParam bounds |log(param)| during the search: beyond it the
// objective is treated as infeasible, which keeps exp() finite.
const maxLogParam = 40

// Maximize fits a model by maximum likelihood and is shared by all models
// of this package (and usable by any model with an analytic gradient).
//
// It searches in log-parameter space (theta = log(param)), so every
// parameter stays positive, from each start (in parallel when
// Problem.Concurrent) and keeps the best optimum, converged ones first.
// The search is gonum's Newton method when Problem.LogLikHess is set, with
// BFGS from the same start as the fallback when Newton does not converge,
// and gonum's BFGS otherwise. The
// objective is the mean negative log-likelihood per customer, so
// convergence thresholds do not depend on the data size; the reported
// LogLik is the total, in the papers' units. A fit is Converged
// when the optimiser stopped on a convergence criterion and the gradient
// with respect to log-parameters is numerically zero (max-norm below 1e-4
// per customer), or when that max-norm is below 1e-6 whatever the
// optimiser's status (a line search that cannot improve on a stationary
// point); otherwise Status says why not.
//
// Standard errors come from the inverse of the observed information (the
// Hessian of the negative total log-likelihood in log space: analytic when
// LogLikHess is set, else by central differences of the analytic
// gradient), transformed to the natural scale by the delta method. They are omitted when that matrix is not positive
// definite, and Status then says so even for a converged fit: the data do
// not pin every parameter down (e.g. nobody ever made a repeat purchase).
//
// It returns the best parameter vector (natural scale; nil if no start
// could be evaluated) and the filled FitResult (Seconds covers the search
// and the Hessian).
func Maximize(p Problem, opts FitOptions) ([]float64, FitResult) {
	start := time.Now()
	k := len(p.Names)
	res := FitResult{Model: p.Model, Customers: p.Customers, LogLik: math.Inf(-1)}
	starts := validStarts(opts.Starts, k)
	if len(starts) == 0 {
		starts = validStarts(p.Starts, k)
	}
	if len(starts) == 0 {
		res.Status = "no valid starting point"
		res.Seconds = time.Since(start).Seconds()
		return nil, res
	}
	maxIter := opts.MaxIterations
	if maxIter <= 0 {
		maxIter = 500
	}
	scale := 1.0
	if p.Customers > 0 {
		scale = float64(p.Customers)
	}
	runs := make([]startRun, len(starts))
	if p.Concurrent && len(starts) > 1 {
		var wg sync.WaitGroup
		for i, s := range starts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runs[i] = runStart(p, s, scale, maxIter)
			}()
		}
		wg.Wait()
	} else {
		for i, s := range starts {
			runs[i] = runStart(p, s, scale, maxIter)
		}
	}

	var best []float64
	bestF := math.Inf(1)
	bestConverged := false
	var bestStatus string
	for _, r := range runs {
		res.Iterations += r.iterations
		if r.theta == nil {
			continue
		}
		// Prefer converged optima; among equals, the higher likelihood.
		better := r.f < bestF-1e-12
		if r.converged && !bestConverged {
			better = true
		} else if !r.converged && bestConverged {
			better = false
		}
		if best == nil || better {
			best = r.theta
			bestF = r.f
			bestConverged = r.converged
			bestStatus = r.status
		}
	}
	obj := newLogObjective(p, k, scale, p.LogLikHess != nil)
	if best == nil {
		res.Status = "log-likelihood not finite at any starting point"
		res.Seconds = time.Since(start).Seconds()
		return nil, res
	}
	params := make([]float64, k)
	res.Params = make(map[string]float64, k)
	for i, th := range best {
		params[i] = math.Exp(th)
		res.Params[p.Names[i]] = params[i]
	}
	res.LogLik = obj.ll(params, nil)
	res.Converged = bestConverged
	res.Status = bestStatus
	if se := stdErrors(obj, best); se != nil {
		res.StdErr = make(map[string]float64, k)
		for i, v := range se {
			res.StdErr[p.Names[i]] = v
		}
	} else if res.Status == "" {
		res.Status = "observed information not positive definite: no standard errors (an estimate may be at the edge of the parameter space)"
	}
	res.Seconds = time.Since(start).Seconds()
	return params, res
}

// startRun is the outcome of one optimiser run.
type startRun struct {
	theta      []float64 // optimum in log space; nil if the run failed
	f          float64
	converged  bool
	status     string
	iterations int
}

func runStart(p Problem, s []float64, scale float64, maxIter int) startRun {
	run := optimiseFrom(p, s, scale, maxIter, p.LogLikHess != nil)
	if !run.converged && p.LogLikHess != nil {
		// Newton's method can stall where the Hessian is far from
		// definite; BFGS from the same start is the fallback.
		alt := optimiseFrom(p, s, scale, maxIter, false)
		alt.iterations += run.iterations
		if alt.theta != nil && (alt.converged || run.theta == nil || alt.f < run.f) {
			return alt
		}
		run.iterations = alt.iterations
	}
	return run
}

func optimiseFrom(p Problem, s []float64, scale float64, maxIter int, newton bool) startRun {
	k := len(s)
	obj := newLogObjective(p, k, scale, newton)
	theta := make([]float64, k)
	for i, v := range s {
		theta[i] = math.Log(v)
	}
	if f := obj.value(theta); math.IsInf(f, 1) {
		return startRun{}
	}
	settings := &optimize.Settings{
		// On the mean negative log-likelihood per customer, w.r.t. log
		// parameters: far below what 3 significant figures need, and above
		// the rounding noise where line searches stall.
		GradientThreshold: 1e-8,
		MajorIterations:   maxIter,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-14, Relative: 1e-14, Iterations: 8},
	}
	prob := optimize.Problem{Func: obj.value, Grad: obj.gradient}
	var method optimize.Method = &optimize.BFGS{}
	if newton {
		prob.Hess = obj.hessian
		method = &optimize.Newton{}
	}
	r, err := optimize.Minimize(prob, theta, settings, method)
	if r == nil {
		return startRun{}
	}
	f := obj.value(r.X)
	if math.IsInf(f, 1) || math.IsNaN(f) {
		return startRun{iterations: r.MajorIterations}
	}
	g := make([]float64, k)
	obj.gradient(g, r.X)
	gnorm := 0.0
	for _, v := range g {
		gnorm = math.Max(gnorm, math.Abs(v))
	}
	// A line search that fails at a stationary point (no further
	// decrease representable) is a converged fit too.
	conv := gnorm < 1e-6 || (err == nil && !r.Status.Early() && gnorm < 1e-4)
	status := ""
	if !conv {
		status = fmt.Sprintf("optimizer stopped with %v (max |gradient| %.3g)", r.Status, gnorm)
		if err != nil {
			status = fmt.Sprintf("optimizer: %v (max |gradient| %.3g)", err, gnorm)
		}
	}
	return startRun{theta: append([]float64(nil), r.X...), f: f, converged: conv, status: status, iterations: r.MajorIterations}
}

func validStarts(starts [][]float64, k int) [][]float64 {
	var out [][]float64
	for _, s := range starts {
		if len(s) != k {
			continue
		}
		ok := true
		for _, v := range s {
			if !(v > 0) || math.IsInf(v, 1) || math.Abs(math.Log(v)) > maxLogParam {
				ok = false
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// logObjective is the mean negative log-likelihood as a function of
// log-parameters. It caches the last point so that gonum's separate Func,
// Grad and Hess calls at the same x cost one likelihood pass.
type logObjective struct {
	ll     LogLikFunc
	llh    LogLikHessFunc // nil: no Hessian
	scale  float64
	params []float64
	grad   []float64
	hess   []float64
	lastX  []float64
	lastF  float64
	lastG  []float64
	lastH  []float64 // log-space Hessian of the objective, row-major
	valid  bool
}

func newLogObjective(p Problem, k int, scale float64, withHess bool) *logObjective {
	o := &logObjective{
		ll: p.LogLik, scale: scale,
		params: make([]float64, k), grad: make([]float64, k),
		lastX: make([]float64, k), lastG: make([]float64, k),
	}
	if p.LogLikHess != nil {
		o.ll = func(par, grad []float64) float64 { return p.LogLikHess(par, grad, nil) }
		if withHess {
			o.llh = p.LogLikHess
			o.hess = make([]float64, k*k)
			o.lastH = make([]float64, k*k)
		}
	}
	return o
}

func (o *logObjective) eval(theta []float64) {
	if o.valid {
		same := true
		for i, v := range theta {
			if v != o.lastX[i] {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	copy(o.lastX, theta)
	o.valid = true
	bad := func() {
		o.lastF = math.Inf(1)
		clear(o.lastG)
		clear(o.lastH)
	}
	for i, th := range theta {
		if math.IsNaN(th) || math.Abs(th) > maxLogParam {
			bad()
			return
		}
		o.params[i] = math.Exp(th)
	}
	var ll float64
	if o.llh != nil {
		ll = o.llh(o.params, o.grad, o.hess)
	} else {
		ll = o.ll(o.params, o.grad)
	}
	if math.IsNaN(ll) || math.IsInf(ll, 0) {
		bad()
		return
	}
	o.lastF = -ll / o.scale
	k := len(theta)
	for i := range o.grad {
		g := -o.grad[i] * o.params[i] / o.scale
		if math.IsNaN(g) || math.IsInf(g, 0) {
			bad()
			return
		}
		o.lastG[i] = g
	}
	if o.llh != nil {
		// d²f/dθi dθj = −(p_i p_j H_ij + δ_ij p_i G_i) / n.
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				h := -o.hess[i*k+j] * o.params[i] * o.params[j] / o.scale
				if i == j {
					h += o.lastG[i]
				}
				if math.IsNaN(h) || math.IsInf(h, 0) {
					bad()
					return
				}
				o.lastH[i*k+j] = h
			}
		}
	}
}

func (o *logObjective) value(theta []float64) float64 {
	o.eval(theta)
	return o.lastF
}

func (o *logObjective) gradient(grad, theta []float64) {
	o.eval(theta)
	copy(grad, o.lastG)
}

func (o *logObjective) hessian(h *mat.SymDense, theta []float64) {
	o.eval(theta)
	k := len(theta)
	for i := 0; i < k; i++ {
		for j := i; j < k; j++ {
			h.SetSym(i, j, o.lastH[i*k+j])
		}
	}
}

// stdErrors returns natural-scale standard errors at the optimum theta, or
// nil when the observed information is not positive definite.
func stdErrors(o *logObjective, theta []float64) []float64 {
	k := len(theta)
	h := mat.NewSymDense(k, nil)
	if o.llh != nil {
		o.hessian(h, theta)
		h.ScaleSym(o.scale, h)
		return invertSE(h, theta)
	}
	gp := make([]float64, k)
	gm := make([]float64, k)
	x := make([]float64, k)
	cols := make([][]float64, k)
	for j := 0; j < k; j++ {
		step := 1e-4
		copy(x, theta)
		x[j] = theta[j] + step
		o.gradient(gp, x)
		fp := o.lastF
		x[j] = theta[j] - step
		o.gradient(gm, x)
		fm := o.lastF
		if math.IsInf(fp, 1) || math.IsInf(fm, 1) {
			return nil
		}
		cols[j] = make([]float64, k)
		for i := 0; i < k; i++ {
			// Hessian of the total negative log-likelihood.
			cols[j][i] = (gp[i] - gm[i]) / (2 * step) * o.scale
		}
	}
	for i := 0; i < k; i++ {
		for j := i; j < k; j++ {
			h.SetSym(i, j, (cols[i][j]+cols[j][i])/2)
		}
	}
	return invertSE(h, theta)
}

// invertSE inverts the log-space observed information h and returns
// natural-scale standard errors, or nil when h is not positive definite.
func invertSE(h *mat.SymDense, theta []float64) []float64 {
	k := len(theta)
	var chol mat.Cholesky
	if !chol.Factorize(h) {
		return nil
	}
	var cov mat.SymDense
	if err := chol.InverseTo(&cov); err != nil {
		return nil
	}
	se := make([]float64, k)
	for i := 0; i < k; i++ {
		v := cov.At(i, i)
		if !(v > 0) || math.IsInf(v, 0) {
			return nil
		}
		// Delta method: d param / d theta = param.
		se[i] = math.Exp(theta[i]) * math.Sqrt(v)
	}
	return se
}
