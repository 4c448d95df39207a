package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/winback/winback/shared/clv"
)

// clvHelp describes the transaction file every clv subcommand reads.
const clvHelp = `FILE.csv has the header customer_id,date,amount (dates YYYY-MM-DD, amounts >= 0).
Same-day purchases are one purchase; zero-value purchases count as purchases.
`

// clvScoreHelp describes what "clv score" prints.
const clvScoreHelp = `
The CSV printed has the columns
customer_id,frequency,recency,T,monetary,p_alive,expected_purchases,clv,next_purchase_date
`

// clvFlags are the flags of every clv subcommand.
type clvFlags struct {
	transactions string
	calEnd       string
	obsEnd       string
	unit         string
	model        string
	predictions  string
	horizon      float64
	months       int
	discount     float64
	nextCap      float64
}

// clvCommand is "winback clv fit|evaluate|score".
func clvCommand(cmd string) func(fs *flag.FlagSet) action {
	return func(fs *flag.FlagSet) action {
		f := &clvFlags{}
		fs.StringVar(&f.transactions, "transactions", "", "transaction log CSV (customer_id,date,amount); required")
		fs.StringVar(&f.calEnd, "calibration-end", "", "last day of the calibration period, YYYY-MM-DD (default: observation end; required by evaluate)")
		fs.StringVar(&f.obsEnd, "observation-end", "", "last day of data used, YYYY-MM-DD (default: the last transaction's day)")
		fs.StringVar(&f.unit, "unit", "week", "time unit of the models: week or day")
		defModel := "all"
		if cmd == "score" {
			defModel = "bgnbd"
		}
		fs.StringVar(&f.model, "model", defModel, "bgnbd, mbgnbd, paretonbd, gammagamma or all (score: the transaction model; Gamma-Gamma is always used for spend)")
		if cmd == "evaluate" {
			fs.StringVar(&f.predictions, "predictions", "", "also write per-customer holdout predictions to this CSV (customer_id,actual,<model>...)")
		}
		if cmd == "score" {
			fs.Float64Var(&f.horizon, "horizon", 365, "horizon of expected_purchases, in days")
			fs.IntVar(&f.months, "months", 12, "CLV horizon in months (months of 4.345 weeks or 30 days, as lifetimes)")
			fs.Float64Var(&f.discount, "discount", 0.01, "monthly discount rate of the CLV")
			fs.Float64Var(&f.nextCap, "next-purchase-cap", 365, "how many days ahead next_purchase_date is looked for (empty when no purchase is expected by then)")
		}
		return func(_ context.Context, stdout io.Writer) error {
			in, err := loadCLVInput(cmd, f)
			if err != nil {
				return err
			}
			switch cmd {
			case "fit":
				return clvFit(in, f, stdout)
			case "evaluate":
				return clvEvaluate(in, f, stdout)
			default:
				return clvScore(in, f, stdout)
			}
		}
	}
}

// clvInput is a transaction file cut into model inputs.
type clvInput struct {
	summaries []clv.Summary
	period    clv.Period
	unit      clv.Unit
}

func loadCLVInput(cmd string, f *clvFlags) (*clvInput, error) {
	if f.transactions == "" {
		return nil, usageErrorf("--transactions FILE.csv is required")
	}
	unit, err := clv.ParseUnit(f.unit)
	if err != nil {
		return nil, err
	}
	var p clv.Period
	p.Unit = unit
	if f.calEnd != "" {
		if p.CalibrationEnd, err = clv.ParseDate(f.calEnd); err != nil {
			return nil, fmt.Errorf("--calibration-end: %w", err)
		}
	} else if cmd == "evaluate" {
		return nil, errors.New("--calibration-end is required: evaluate forecasts the period after it")
	}
	if f.obsEnd != "" {
		if p.ObservationEnd, err = clv.ParseDate(f.obsEnd); err != nil {
			return nil, fmt.Errorf("--observation-end: %w", err)
		}
	}
	file, err := os.Open(f.transactions)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	txs, err := clv.ReadTransactions(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.transactions, err)
	}
	if p.ObservationEnd.IsZero() {
		for _, t := range txs {
			if t.Date.After(p.ObservationEnd) {
				p.ObservationEnd = t.Date
			}
		}
	}
	if p.CalibrationEnd.IsZero() {
		p.CalibrationEnd = p.ObservationEnd
	}
	s, err := clv.Summarize(txs, p)
	if err != nil {
		return nil, err
	}
	if len(s) == 0 {
		return nil, fmt.Errorf("no customer made a first purchase by %s", p.CalibrationEnd.Format(clv.DateLayout))
	}
	return &clvInput{summaries: s, period: p, unit: unit}, nil
}

// txModel is a transaction model the CLI can fit.
type txModel struct {
	name string
	fit  func(clv.Data, clv.FitOptions) (clv.TransactionModel, clv.FitResult)
}

// transactionModels lists the transaction models in output order.
var transactionModels = []txModel{
	{"bgnbd", func(d clv.Data, o clv.FitOptions) (clv.TransactionModel, clv.FitResult) {
		m, r := clv.FitBGNBD(d, o)
		return m, r
	}},
	{"mbgnbd", func(d clv.Data, o clv.FitOptions) (clv.TransactionModel, clv.FitResult) {
		m, r := clv.FitMBGNBD(d, o)
		return m, r
	}},
	{"paretonbd", func(d clv.Data, o clv.FitOptions) (clv.TransactionModel, clv.FitResult) {
		m, r := clv.FitParetoNBD(d, o)
		return m, r
	}},
}

// selectModels resolves --model into transaction models and whether
// Gamma-Gamma is included.
func selectModels(name string) ([]txModel, bool, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "all" {
		return transactionModels, true, nil
	}
	if name == "gammagamma" {
		return nil, true, nil
	}
	for _, m := range transactionModels {
		if m.name == name {
			return []txModel{m}, false, nil
		}
	}
	return nil, false, fmt.Errorf("--model %q: want bgnbd, mbgnbd, paretonbd, gammagamma or all (available: %s)", name, availableModels())
}

func availableModels() string {
	var names []string
	for _, m := range transactionModels {
		names = append(names, m.name)
	}
	return strings.Join(append(names, "gammagamma", "all"), ", ")
}

// clvHeader is the part of the JSON output that says what was fitted.
type clvHeader struct {
	Transactions   string `json:"transactions"`
	Unit           string `json:"unit"`
	CalibrationEnd string `json:"calibration_end"`
	ObservationEnd string `json:"observation_end"`
	Customers      int    `json:"customers"`
}

func (in *clvInput) header(f *clvFlags) clvHeader {
	return clvHeader{
		Transactions:   f.transactions,
		Unit:           string(in.unit),
		CalibrationEnd: in.period.CalibrationEnd.Format(clv.DateLayout),
		ObservationEnd: in.period.ObservationEnd.Format(clv.DateLayout),
		Customers:      len(in.summaries),
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func clvFit(in *clvInput, f *clvFlags, stdout io.Writer) error {
	tms, gg, err := selectModels(f.model)
	if err != nil {
		return err
	}
	cs := clv.Customers(in.summaries)
	out := struct {
		clvHeader
		Models []clv.FitResult `json:"models"`
	}{clvHeader: in.header(f)}
	if len(tms) > 0 {
		start := time.Now()
		d := clv.Group(cs)
		group := time.Since(start).Seconds()
		for _, tm := range tms {
			_, res := tm.fit(d, clv.FitOptions{})
			res.Seconds += group
			out.Models = append(out.Models, res)
		}
	}
	if gg {
		_, res := clv.FitGammaGamma(cs, clv.FitOptions{})
		out.Models = append(out.Models, res)
	}
	return writeJSON(stdout, out)
}

// spendEvaluation compares Gamma-Gamma's expected average value with the
// mean value of the holdout purchases, over customers who bought in both periods.
type spendEvaluation struct {
	Model     string  `json:"model"`
	Customers int     `json:"customers"`
	Predicted float64 `json:"predicted_mean_value"`
	Actual    float64 `json:"actual_mean_value"`
	// Correlation and MAE are per customer, over expected versus actual
	// mean holdout purchase value.
	Correlation float64 `json:"correlation"`
	MAE         float64 `json:"mae"`
}

func clvEvaluate(in *clvInput, f *clvFlags, stdout io.Writer) error {
	tms, gg, err := selectModels(f.model)
	if err != nil {
		return err
	}
	holdout := math.Round(in.period.ObservationEnd.Sub(in.period.CalibrationEnd).Hours()/24) / in.unit.Days()
	if holdout <= 0 {
		return fmt.Errorf("empty holdout period: --observation-end %s is not after --calibration-end %s",
			in.period.ObservationEnd.Format(clv.DateLayout), in.period.CalibrationEnd.Format(clv.DateLayout))
	}
	type modelEval struct {
		clv.Evaluation
		Fit clv.FitResult `json:"fit"`
	}
	out := struct {
		clvHeader
		Holdout float64           `json:"holdout_length"`
		Models  []modelEval       `json:"models"`
		Spend   []spendEvaluation `json:"spend,omitempty"`
	}{clvHeader: in.header(f), Holdout: holdout}
	cs := clv.Customers(in.summaries)
	d := clv.Group(cs)
	var perCustomer [][]float64
	for _, tm := range tms {
		m, res := tm.fit(d, clv.FitOptions{})
		e, pred := clv.Evaluate(m, tm.name, in.summaries, holdout)
		out.Models = append(out.Models, modelEval{Evaluation: e, Fit: res})
		perCustomer = append(perCustomer, pred)
	}
	if f.predictions != "" {
		if err := writePredictions(f.predictions, in.summaries, tms, perCustomer); err != nil {
			return err
		}
	}
	if gg {
		g, res := clv.FitGammaGamma(cs, clv.FitOptions{})
		se := spendEvaluation{Model: "gammagamma"}
		if res.Params != nil {
			var pred, act []float64
			for _, s := range in.summaries {
				if s.X > 0 && s.HoldoutX > 0 {
					pred = append(pred, g.ExpectedAverageValue(s.X, s.Monetary))
					act = append(act, s.HoldoutValue/s.HoldoutX)
				}
			}
			se.Customers = len(pred)
			se.Predicted, se.Actual, se.Correlation, se.MAE = meanCompare(pred, act)
		}
		out.Spend = append(out.Spend, se)
	}
	return writeJSON(stdout, out)
}

// writePredictions writes customer_id,actual,<model>... rows.
func writePredictions(path string, s []clv.Summary, tms []txModel, preds [][]float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	head := []string{"customer_id", "actual"}
	for _, tm := range tms {
		head = append(head, tm.name)
	}
	_ = w.Write(head)
	for i, c := range s {
		rec := []string{c.ID, strconv.FormatFloat(c.HoldoutX, 'f', 0, 64)}
		for _, p := range preds {
			rec = append(rec, strconv.FormatFloat(p[i], 'f', 6, 64))
		}
		_ = w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// meanCompare returns the means of two series, their Pearson correlation
// and the mean absolute difference.
func meanCompare(pred, act []float64) (mp, ma, corr, mae float64) {
	n := float64(len(pred))
	if n == 0 {
		return 0, 0, 0, 0
	}
	for i := range pred {
		mp += pred[i] / n
		ma += act[i] / n
		mae += math.Abs(pred[i]-act[i]) / n
	}
	var cov, vp, va float64
	for i := range pred {
		cov += (pred[i] - mp) * (act[i] - ma)
		vp += (pred[i] - mp) * (pred[i] - mp)
		va += (act[i] - ma) * (act[i] - ma)
	}
	if vp > 0 && va > 0 {
		corr = cov / math.Sqrt(vp*va)
	}
	return mp, ma, corr, mae
}

func clvScore(in *clvInput, f *clvFlags, stdout io.Writer) error {
	tms, _, err := selectModels(f.model)
	if err != nil {
		return err
	}
	if len(tms) != 1 {
		return fmt.Errorf("--model %q: score needs one transaction model (%s)", f.model, availableModels())
	}
	if f.horizon <= 0 || f.months <= 0 || f.nextCap <= 0 || f.discount < 0 || math.IsNaN(f.discount) {
		return errors.New("--horizon, --months and --next-purchase-cap must be positive and --discount >= 0")
	}
	cs := clv.Customers(in.summaries)
	m, res := tms[0].fit(clv.Group(cs), clv.FitOptions{})
	if res.Params == nil {
		return fmt.Errorf("%s fit failed: %s", tms[0].name, res.Status)
	}
	g, gres := clv.FitGammaGamma(cs, clv.FitOptions{})
	if gres.Params == nil {
		return fmt.Errorf("gammagamma fit failed: %s", gres.Status)
	}
	days := in.unit.Days()
	scores := clv.ScoreCustomers(m, g, cs, clv.ScoreOptions{
		Horizon:         f.horizon / days,
		Months:          f.months,
		MonthlyDiscount: f.discount,
		Unit:            in.unit,
		NextPurchaseCap: f.nextCap / days,
	})
	w := csv.NewWriter(stdout)
	if err := w.Write([]string{"customer_id", "frequency", "recency", "T", "monetary", "p_alive", "expected_purchases", "clv", "next_purchase_date"}); err != nil {
		return err
	}
	ff := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	for i, s := range scores {
		c := cs[i]
		next := ""
		if !math.IsInf(s.NextPurchase, 1) {
			d := in.period.CalibrationEnd.AddDate(0, 0, int(math.Ceil(s.NextPurchase*days-1e-9)))
			next = d.Format(clv.DateLayout)
		}
		rec := []string{c.ID, ff(c.X, 0), ff(c.Tx, 4), ff(c.T, 4), ff(c.Monetary, 4),
			ff(s.PAlive, 6), ff(s.Expected, 6), ff(s.CLV, 2), next}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}
