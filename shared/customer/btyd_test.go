package customer

import (
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/winback/winback/shared/clv"
	"github.com/winback/winback/shared/order"
)

// TestBTYDMatchesTheTransactionLogPipeline turns the CDNOW sample into
// orders, folds them into summaries one by one, and checks that the model
// inputs read off the summaries equal those clv.Summarize computes from the
// transaction log: ingestion and the analysts' CLI feed the models alike.
func TestBTYDMatchesTheTransactionLogPipeline(t *testing.T) {
	f, err := os.Open("../../testdata/cdnow/cdnow_sample_tx.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	txs, err := clv.ReadTransactions(f)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC)
	want, err := clv.Summarize(txs, clv.Period{ObservationEnd: end, Unit: clv.Week})
	if err != nil {
		t.Fatal(err)
	}

	sums := map[string]Summary{}
	for i, tx := range txs {
		cents := int64(math.Round(tx.Amount * 100))
		o := order.Order{
			ID: fmt.Sprintf("tx-%d", i), Customer: order.Customer{ID: tx.CustomerID},
			CreatedAt: tx.Date.Add(time.Duration(i%20) * time.Hour), // several orders a day merge
			Currency:  "USD", Total: cents, Status: order.StatusPaid,
		}
		sums[tx.CustomerID], _ = Apply(sums[tx.CustomerID], o, time.UTC)
	}
	if len(sums) != len(want) || len(want) != 2357 {
		t.Fatalf("%d summaries, %d from the log; want 2357", len(sums), len(want))
	}
	for _, w := range want {
		got, ok := sums[w.ID].BTYD(end, time.UTC, 7)
		if !ok {
			t.Fatalf("customer %s: no model input", w.ID)
		}
		if got.X != w.X || math.Abs(got.Tx-w.Tx) > 1e-9 || math.Abs(got.T-w.T) > 1e-9 || math.Abs(got.Monetary/100-w.Monetary) > 1e-6 {
			t.Fatalf("customer %s: from summary %+v, from the log %+v", w.ID, got, w.Customer)
		}
	}
}
