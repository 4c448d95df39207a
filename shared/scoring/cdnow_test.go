package scoring

import (
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/winback/winback/shared/clv"
	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
)

// cdnow reads the CDNOW sample, turns it into orders (several a day, which
// merge into purchase days) and each customer's orders into the summary
// ingestion stores, and summarises the log as the analysts' CLI does.
func cdnow(t *testing.T, end time.Time) (sums []customer.Summary, want []clv.Summary) {
	t.Helper()
	txs := readCDNOW(t)
	want, err := clv.Summarize(txs, clv.Period{ObservationEnd: end, Unit: clv.Week})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string][]order.Order{}
	for i, tx := range txs {
		o := order.Order{
			ID: fmt.Sprintf("tx-%d", i), Customer: order.Customer{ID: tx.CustomerID},
			CreatedAt: tx.Date.Add(time.Duration(i%20) * time.Hour), // several orders a day merge
			Currency:  "USD", Total: int64(math.Round(tx.Amount * 100)), Status: order.StatusPaid,
		}
		byID[tx.CustomerID] = append(byID[tx.CustomerID], o)
	}
	if len(byID) != len(want) || len(want) != 2357 {
		t.Fatalf("%d summaries, %d from the log; want 2357", len(byID), len(want))
	}
	for _, w := range want {
		sums = append(sums, customer.Recompute(byID[w.ID], time.UTC))
	}
	return sums, want
}

// readCDNOW reads the CDNOW sample transaction log.
func readCDNOW(t *testing.T) []clv.Transaction {
	t.Helper()
	f, err := os.Open("../../testdata/cdnow/cdnow_sample_tx.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	txs, err := clv.ReadTransactions(f)
	if err != nil {
		t.Fatal(err)
	}
	return txs
}

// TestInputsMatchTheTransactionLogPipeline checks that the model inputs
// read off the summaries equal those clv.Summarize computes from the
// transaction log: ingestion and the analysts' CLI feed the models alike.
func TestInputsMatchTheTransactionLogPipeline(t *testing.T) {
	end := time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC)
	sums, want := cdnow(t, end)
	got := Inputs(sums, InputOptions{AsOf: end, Location: time.UTC, Unit: clv.Week, Exponent: 2})
	if len(got) != len(want) {
		t.Fatalf("%d inputs; want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.ID || g.X != w.X || math.Abs(g.Tx-w.Tx) > 1e-9 || math.Abs(g.T-w.T) > 1e-9 || math.Abs(g.Monetary-w.Monetary) > 1e-6 {
			t.Fatalf("customer %s: from summary %+v, from the log %+v", w.ID, g, w.Customer)
		}
	}
}

// TestScoresMatchCLV runs the whole pipeline on the CDNOW summaries and
// checks the fits and every score against shared/clv applied directly to
// the transaction log.
func TestScoresMatchCLV(t *testing.T) {
	end := time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC)
	sums, want := cdnow(t, end)
	opts := clv.ScoreOptions{Months: 12, MonthlyDiscount: 0.01, Unit: clv.Week}

	cs := Inputs(sums, InputOptions{AsOf: end, Location: time.UTC, Unit: clv.Week, Exponent: 2})
	m, err := FitCustomers(cs)
	if err != nil {
		t.Fatal(err)
	}
	got := ScoreCustomers(m, cs, opts)

	direct := clv.Customers(want)
	bg, _ := clv.FitBGNBD(clv.Group(direct), clv.FitOptions{})
	gg, _ := clv.FitGammaGamma(direct, clv.FitOptions{})
	wantScores := clv.ScoreCustomers(bg, gg, direct, opts)

	close := func(a, b float64) bool {
		return a == b || math.Abs(a-b) <= 1e-6*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
	}
	params := [][2]float64{
		{m.Purchases.R, bg.R}, {m.Purchases.Alpha, bg.Alpha}, {m.Purchases.A, bg.A}, {m.Purchases.B, bg.B},
		{m.Spend.P, gg.P}, {m.Spend.Q, gg.Q}, {m.Spend.Gamma, gg.Gamma},
	}
	for i, p := range params {
		if !close(p[0], p[1]) {
			t.Errorf("parameter %d: %v from the summaries, %v from the log", i, p[0], p[1])
		}
	}
	if len(got) != len(wantScores) {
		t.Fatalf("%d scores; want %d", len(got), len(wantScores))
	}
	for i, w := range wantScores {
		g := got[i].Score
		if got[i].Customer.ID != direct[i].ID || !close(g.PAlive, w.PAlive) || !close(g.Expected, w.Expected) ||
			!close(g.CLV, w.CLV) || !close(g.AverageValue, w.AverageValue) ||
			!(close(g.NextPurchase, w.NextPurchase) || math.IsInf(g.NextPurchase, 1) && math.IsInf(w.NextPurchase, 1)) {
			t.Fatalf("customer %s: scored %+v, clv directly %+v", direct[i].ID, g, w)
		}
	}

	ranked := Rank(got)
	if len(ranked) != len(got) {
		t.Fatalf("Rank returned %d of %d", len(ranked), len(got))
	}
	for i := 1; i < len(ranked); i++ {
		if ranked[i].WinBackValue() > ranked[i-1].WinBackValue() {
			t.Fatalf("rank %d (%s) is worth more than rank %d", i, ranked[i].Customer.ID, i-1)
		}
	}
	if ranked[0].WinBackValue() <= 0 {
		t.Errorf("top candidate %s has no win-back value", ranked[0].Customer.ID)
	}
}
