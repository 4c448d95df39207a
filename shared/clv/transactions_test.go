package clv

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func day(s string) time.Time {
	d, err := time.Parse(DateLayout, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestReadTransactions(t *testing.T) {
	in := "\ufeffamount, customer_id ,date,channel\n10.5,a,2024-01-01,web\n0,b,2024-01-02T15:04:05+02:00,shop\n\n3,a,2024-01-01,web\n"
	txs, err := ReadTransactions(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Transaction{
		{CustomerID: "a", Date: day("2024-01-01"), Amount: 10.5, Line: 2},
		{CustomerID: "b", Date: day("2024-01-02"), Amount: 0, Line: 3},
		{CustomerID: "a", Date: day("2024-01-01"), Amount: 3, Line: 5},
	}
	if len(txs) != len(want) {
		t.Fatalf("got %d transactions, want %d", len(txs), len(want))
	}
	for i := range want {
		if txs[i] != want[i] {
			t.Errorf("tx %d = %+v, want %+v", i, txs[i], want[i])
		}
	}
}

func TestReadTransactionsErrors(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"empty", "", "line 1: empty input"},
		{"no rows", "customer_id,date,amount\n", "line 2: no transactions"},
		{"missing columns", "id,date,value\n1,2024-01-01,3\n", "line 1: header lacks column(s) customer_id,amount"},
		{"bad date", "customer_id,date,amount\n1,2024-01-01,3\n2,1/2/2024,3\n", `line 3: bad date "1/2/2024"`},
		{"negative", "customer_id,date,amount\n1,2024-01-01,-1\n", "line 2: negative amount -1"},
		{"nan", "customer_id,date,amount\n1,2024-01-01,NaN\n", `line 2: amount "NaN" is not a number`},
		{"inf", "customer_id,date,amount\n1,2024-01-01,+Inf\n", `line 2: amount "+Inf" is not a number`},
		{"short", "customer_id,date,amount\n1,2024-01-01\n", "line 2: 2 field(s)"},
		{"quote", "customer_id,date,amount\n\"1,2024-01-01,3\n", "line 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadTransactions(strings.NewReader(c.in))
			if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want ErrMalformed containing %q", err, c.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tx := func(id, d string, a float64) Transaction {
		return Transaction{CustomerID: id, Date: day(d), Amount: a}
	}
	txs := []Transaction{
		// Customer 10: two purchases on the first day, a same-day pair later,
		// a zero-value purchase, one holdout purchase, one after the end.
		tx("10", "2024-01-01", 5), tx("10", "2024-01-01", 7),
		tx("10", "2024-01-15", 10), tx("10", "2024-01-15", 20),
		tx("10", "2024-01-29", 0),
		tx("10", "2024-02-10", 8),
		tx("10", "2024-04-01", 100),
		// Customer 9: a single purchase on the calibration end day.
		tx("9", "2024-01-31", 3),
		// Customer 11: first purchase in the holdout period: left out.
		tx("11", "2024-02-02", 4),
	}
	p := Period{CalibrationEnd: day("2024-01-31"), ObservationEnd: day("2024-02-29"), Unit: Week}
	s, err := Summarize(txs, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || s[0].ID != "9" || s[1].ID != "10" {
		t.Fatalf("summaries %+v, want customers 9 and 10 in numeric order", s)
	}
	c9, c10 := s[0], s[1]
	if c9.X != 0 || c9.Tx != 0 || c9.T != 0 || c9.Monetary != 0 {
		t.Errorf("customer 9 = %+v, want all zero", c9.Customer)
	}
	if c10.X != 2 || c10.Tx != 4 || math.Abs(c10.T-30.0/7) > 1e-12 || c10.Monetary != 15 {
		t.Errorf("customer 10 = %+v, want x=2 t_x=4 T=30/7 monetary=15", c10.Customer)
	}
	if c10.HoldoutX != 1 || c10.HoldoutValue != 8 {
		t.Errorf("customer 10 holdout = %v purchases worth %v, want 1 worth 8", c10.HoldoutX, c10.HoldoutValue)
	}
	// Days: same counts, times times 7.
	p.Unit = Day
	s, _ = Summarize(txs, p)
	if s[1].Tx != 28 || s[1].T != 30 {
		t.Errorf("in days: t_x=%v T=%v, want 28 and 30", s[1].Tx, s[1].T)
	}
	// Defaults: observation end is the last transaction, no holdout.
	s, _ = Summarize(txs, Period{})
	if s[1].X != 4 || s[1].HoldoutX != 0 {
		t.Errorf("default period: %+v", s[1])
	}
	if _, err := Summarize(txs, Period{CalibrationEnd: day("2024-03-01"), ObservationEnd: day("2024-02-01")}); !errors.Is(err, ErrInvalid) {
		t.Errorf("calibration after observation: err %v, want ErrInvalid", err)
	}
}
