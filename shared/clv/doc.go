// Package clv fits the "buy 'til you die" models (BG/NBD, MBG/NBD,
// Pareto/NBD, Gamma-Gamma) and scores customers with them: P(alive),
// expected purchases, expected spend, customer lifetime value and an
// expected next purchase date.
//
// Everything here is pure computation on values: no I/O, no AWS types.
//
// # From transactions to model inputs
//
// ReadTransactions reads a CSV log customer_id,date,amount; Summarize cuts
// it at a calibration end into one Customer per buyer:
//
//   - Time is in days or weeks (Unit); a customer's clock starts at their
//     first purchase day. T runs to the calibration end day (whole days /
//     unit: CDNOW's customer 1, first purchase 1997-01-01, has T =
//     272/7 = 38.86 weeks at 1997-09-30), t_x to the last repeat purchase
//     day. All inputs of one fit must share the unit; the rate parameters
//     (alpha, beta) are in that unit.
//   - All purchases of a customer on one calendar day are one purchase
//     occasion, worth the sum of their amounts. X counts the occasions
//     after the first.
//   - A zero-value purchase is a purchase: it counts in X and t_x and
//     enters the mean value as 0. A customer whose repeat purchases are all
//     zero-valued is left out of the Gamma-Gamma fit (SpendCustomers), which
//     needs positive values.
//   - Refunds (negative amounts) are rejected with the line number: net them
//     into the purchase they refund before exporting.
//   - Monetary is the mean value of the repeat purchase occasions in the
//     calibration period; the first purchase is excluded, as in Fader,
//     Hardie & Lee (2005).
//   - Purchases after the calibration end, up to the observation end, are
//     the holdout (Summary.HoldoutX), used by Evaluate.
//
// # Fitting
//
// FitBGNBD, FitMBGNBD, FitParetoNBD and FitGammaGamma maximise the
// likelihood (Maximize: log-parameters, several starts, gonum's optimize,
// Newton's method with analytic Hessians for BG/NBD, MBG/NBD and
// Gamma-Gamma, standard errors from the Hessian). Transaction-model
// likelihoods are computed on Data, the customers grouped into distinct
// (x, t_x, T) triples, with the terms that depend on x, T or t_x alone
// computed once per distinct value. Log-likelihoods are in the papers'
// units (sums over customers, constants included), so CDNOW gives
// −9582.4 for BG/NBD as published.
//
// # Scoring
//
// PAlive, ConditionalExpected (purchases in the next t) and Expected
// (E[X(t)]) are the TransactionModel methods; Predict and ScoreCustomers
// apply them to many customers in parallel, computing each distinct
// history once. For BG/NBD and MBG/NBD the conditional expectation is
// summed as a series of positive terms (see aliveSeries) rather than through
// the Gaussian hypergeometric function: no cancellation, no singularity at
// a = 1, no overflow for large x. ScoreCustomers adds the Gamma-Gamma
// expected order value, CLV over monthly steps with a monthly discount rate
// (as lifetimes computes it) and the next purchase date, defined as the
// time at which the conditional expected number of purchases reaches one
// (never, within a cap, for customers who are probably gone).
//
// Simulate* draw customer bases from the models' generative processes, for
// tests and benchmarks.
package clv
