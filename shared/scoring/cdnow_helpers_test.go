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
