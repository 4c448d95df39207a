package clv

import (
	"cmp"
	"slices"
)

// Customer is one customer's purchase history reduced to the models' inputs.
type Customer struct {
	ID string
	// X is the number of repeat purchase periods (frequency): distinct
	// purchase days after the first one.
	X float64
	// Tx is the time of the last purchase, measured from the first (recency).
	Tx float64
	// T is the customer's age: time from the first purchase to the end of observation.
	T float64
	// Monetary is the mean value of the repeat purchases (0 when X == 0).
	Monetary float64
}

// Triple is a distinct (x, t_x, T) with the number of customers who share it.
// The transaction models' likelihoods depend on customers only through it.
type Triple struct {
	X, Tx, T float64
	Count    float64
}

// Data is a set of customers grouped into distinct triples, the form the
// fitting code works on.
type Data struct {
	Triples   []Triple
	Customers int
}

// Group collapses customers with identical (x, t_x, T) into weighted triples.
// The triples are sorted by x, then t_x, then T so that results are deterministic.
func Group(cs []Customer) Data {
	tab := newTripleTable(0)
	var counts []float64
	for i := range cs {
		c := &cs[i]
		// +0 turns −0 into +0 so that both land in one triple.
		k, isNew := tab.index(c.X+0, c.Tx+0, c.T+0)
		if isNew {
			counts = append(counts, 0)
		}
		counts[k]++
	}
	ts := tab.keys
	for k := range ts {
		ts[k].Count = counts[k]
	}
	slices.SortFunc(ts, func(a, b Triple) int {
		if c := cmp.Compare(a.X, b.X); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Tx, b.Tx); c != 0 {
			return c
		}
		return cmp.Compare(a.T, b.T)
	})
	return Data{Triples: ts, Customers: len(cs)}
}

// FitResult is the outcome of a maximum-likelihood fit of one model.
type FitResult struct {
	Model string `json:"model"`
	// Params holds the fitted parameters by their names in the papers
	// (r, alpha, a, b; r, alpha, s, beta; p, q, gamma).
	Params map[string]float64 `json:"params"`
	// StdErr holds the standard errors from the inverse Hessian of the
	// negative log-likelihood, when it is positive definite; nil otherwise.
	StdErr map[string]float64 `json:"std_err,omitempty"`
	// LogLik is the maximised log-likelihood, in the papers' units
	// (the sum over customers, constants included).
	LogLik    float64 `json:"log_likelihood"`
	Customers int     `json:"customers"`
	Converged bool    `json:"converged"`
	// Status explains a failed fit ("" when Converged).
	Status     string  `json:"status,omitempty"`
	Iterations int     `json:"iterations"`
	Seconds    float64 `json:"seconds"`
}

// TransactionModel is a fitted purchase-count model (BG/NBD, MBG/NBD or Pareto/NBD).
type TransactionModel interface {
	// PAlive is the probability that a customer with history (x, tx, T) is still active.
	PAlive(x, tx, T float64) float64
	// ConditionalExpected is the expected number of purchases in the next t
	// time units for a customer with history (x, tx, T).
	ConditionalExpected(t, x, tx, T float64) float64
	// Expected is E[X(t)]: expected purchases in (0, t] for a new customer.
	Expected(t float64) float64
}
