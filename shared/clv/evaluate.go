package clv

import "math"

// Evaluation compares a transaction model's holdout predictions with what
// customers actually did.
type Evaluation struct {
	Model string `json:"model"`
	// Customers is the number of customers compared.
	Customers int `json:"customers"`
	// Holdout is the length of the holdout period, in the data's unit.
	Holdout float64 `json:"holdout_length"`
	// Predicted and Actual are total repeat purchases in the holdout period.
	Predicted float64 `json:"predicted_total"`
	Actual    float64 `json:"actual_total"`
	// Correlation is Pearson's correlation of predicted and actual
	// purchases per customer (0 when either is constant).
	Correlation float64 `json:"correlation"`
	// MAE is the mean absolute error per customer.
	MAE float64 `json:"mae"`
	// RMSE is the root mean squared error per customer.
	RMSE float64 `json:"rmse"`
}

// Evaluate predicts each customer's purchases over the holdout period of
// length holdout from their calibration history and compares them with
// HoldoutX. It also returns the per-customer predictions.
func Evaluate(m TransactionModel, model string, s []Summary, holdout float64) (Evaluation, []float64) {
	cs := Customers(s)
	preds := Predict(m, cs, holdout, 0)
	pred := make([]float64, len(s))
	act := make([]float64, len(s))
	for i := range s {
		pred[i] = preds[i].Expected
		act[i] = s[i].HoldoutX
	}
	e := Evaluation{Model: model, Customers: len(s), Holdout: holdout}
	e.Predicted, e.Actual, e.Correlation, e.MAE, e.RMSE = compare(pred, act)
	return e, pred
}

// compare returns the totals, Pearson correlation, MAE and RMSE of two series.
func compare(pred, act []float64) (sp, sa, corr, mae, rmse float64) {
	n := float64(len(pred))
	if n == 0 {
		return
	}
	for i := range pred {
		sp += pred[i]
		sa += act[i]
		d := pred[i] - act[i]
		mae += math.Abs(d)
		rmse += d * d
	}
	mp, ma := sp/n, sa/n
	var cov, vp, va float64
	for i := range pred {
		dp, da := pred[i]-mp, act[i]-ma
		cov += dp * da
		vp += dp * dp
		va += da * da
	}
	if vp > 0 && va > 0 {
		corr = cov / math.Sqrt(vp*va)
	}
	return sp, sa, corr, mae / n, math.Sqrt(rmse / n)
}
