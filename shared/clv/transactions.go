package clv

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrMalformed is wrapped by every error about a malformed transaction file.
var ErrMalformed = errors.New("malformed transaction file")

// ErrInvalid is wrapped by errors about invalid arguments (periods, units).
var ErrInvalid = errors.New("invalid argument")

// Transaction is one line of a transaction log.
type Transaction struct {
	CustomerID string
	// Date is the purchase day (midnight UTC); the models work at day resolution.
	Date time.Time
	// Amount is the purchase value, >= 0.
	Amount float64
	// Line is the 1-based line of the CSV file it came from (0 if not read from a file).
	Line int
}

// maxAmount bounds amounts so that sums and means stay finite.
const maxAmount = 1e15

// DateLayout is the date format of transaction files and CLI flags.
const DateLayout = "2006-01-02"

// ReadTransactions reads a CSV transaction log with the header
// customer_id,date,amount (any column order, extra columns ignored).
// Dates are YYYY-MM-DD (an RFC 3339 timestamp is also accepted and
// truncated to its calendar day). Amounts are non-negative decimals below
// 1e15;
// a negative amount (a refund) is rejected: net refunds into the purchase
// they refund before exporting. Every error wraps ErrMalformed and names
// the offending line.
func ReadTransactions(r io.Reader) ([]Transaction, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: line 1: empty input, want header customer_id,date,amount", ErrMalformed)
	}
	if err != nil {
		return nil, csvError(err)
	}
	col := map[string]int{"customer_id": -1, "date": -1, "amount": -1}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if j, ok := col[h]; ok && j < 0 {
			col[h] = i
		}
	}
	var missing []string
	for _, name := range []string{"customer_id", "date", "amount"} {
		if col[name] < 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: line 1: header lacks column(s) %s, want customer_id,date,amount",
			ErrMalformed, strings.Join(missing, ","))
	}
	need := max(col["customer_id"], col["date"], col["amount"]) + 1
	var txs []Transaction
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < need {
			return nil, fmt.Errorf("%w: line %d: %d field(s), want at least %d (customer_id,date,amount)",
				ErrMalformed, line, len(rec), need)
		}
		id := strings.TrimSpace(rec[col["customer_id"]])
		if id == "" {
			return nil, fmt.Errorf("%w: line %d: empty customer_id", ErrMalformed, line)
		}
		ds := strings.TrimSpace(rec[col["date"]])
		d, err := parseDay(ds)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: bad date %q, want YYYY-MM-DD", ErrMalformed, line, ds)
		}
		as := strings.TrimSpace(rec[col["amount"]])
		a, err := strconv.ParseFloat(as, 64)
		if err != nil || math.IsNaN(a) || math.IsInf(a, 0) {
			return nil, fmt.Errorf("%w: line %d: amount %q is not a number", ErrMalformed, line, as)
		}
		if a >= maxAmount {
			return nil, fmt.Errorf("%w: line %d: amount %s is implausibly large", ErrMalformed, line, as)
		}
		if a < 0 {
			return nil, fmt.Errorf("%w: line %d: negative amount %s (refunds must be netted into the refunded purchase)",
				ErrMalformed, line, as)
		}
		txs = append(txs, Transaction{CustomerID: id, Date: d, Amount: a, Line: line})
	}
	if len(txs) == 0 {
		return nil, fmt.Errorf("%w: line 2: no transactions after the header", ErrMalformed)
	}
	return txs, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: line %d: %v", ErrMalformed, pe.Line, pe.Err)
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

// parseDay parses YYYY-MM-DD, or an RFC 3339 timestamp truncated to its
// calendar day, into midnight UTC.
func parseDay(s string) (time.Time, error) {
	if d, err := time.Parse(DateLayout, s); err == nil {
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}

// ParseDate parses a YYYY-MM-DD date into midnight UTC.
func ParseDate(s string) (time.Time, error) {
	d, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: date %q, want YYYY-MM-DD", ErrInvalid, s)
	}
	return d, nil
}

// Unit is the time unit of the model inputs.
type Unit string

// The supported time units.
const (
	Week Unit = "week"
	Day  Unit = "day"
)

// Days is the length of the unit in days.
func (u Unit) Days() float64 {
	if u == Day {
		return 1
	}
	return 7
}

// ParseUnit parses "week" or "day" (also "weeks", "days", "w", "d").
func ParseUnit(s string) (Unit, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "week", "weeks", "w", "":
		return Week, nil
	case "day", "days", "d":
		return Day, nil
	}
	return "", fmt.Errorf("%w: unit %q, want week or day", ErrInvalid, s)
}

// Period says how a transaction log is cut into model inputs.
type Period struct {
	// CalibrationEnd is the last day of the calibration period (inclusive).
	// Zero means ObservationEnd (no holdout).
	CalibrationEnd time.Time
	// ObservationEnd is the last day of data used (inclusive); later
	// transactions are ignored. Zero means the last transaction's day.
	ObservationEnd time.Time
	// Unit is the time unit of X's companions Tx and T ("" means Week).
	Unit Unit
}

// Summary is one customer's calibration-period model input plus what
// happened in the holdout period.
type Summary struct {
	Customer
	// First is the day of the first purchase.
	First time.Time
	// Last is the day of the last calibration purchase.
	Last time.Time
	// HoldoutX is the number of purchase days in the holdout period
	// (CalibrationEnd, ObservationEnd].
	HoldoutX float64
	// HoldoutValue is the total amount spent in the holdout period.
	HoldoutValue float64
}

// Summarize turns a transaction log into per-customer model inputs.
//
// Conventions (those of the BTYD literature and the CDNOW papers):
//   - all purchases of one customer on one calendar day are one purchase
//     occasion whose value is the sum of their amounts;
//   - the customer's first purchase day starts the clock and is not a
//     repeat purchase: X counts the other purchase days up to and including
//     CalibrationEnd, Tx is the time from the first to the last of them
//     (0 when X = 0), and T the time from the first purchase to
//     CalibrationEnd (whole days divided by the unit's length, so a
//     customer who first bought on the calibration end day has T = 0);
//   - a zero-value purchase is still a purchase: it counts in X and Tx and
//     enters Monetary as a 0 (so Monetary is the mean over repeat purchase
//     days, zero-value ones included); refunds (negative amounts) are
//     rejected by ReadTransactions;
//   - Monetary is the mean value of the repeat purchase days in the
//     calibration period (the first purchase is excluded, 0 when X = 0);
//   - customers whose first purchase is after CalibrationEnd are left out;
//     purchases after ObservationEnd are ignored.
//
// The result is sorted by customer id (numerically when all ids are integers).
func Summarize(txs []Transaction, p Period) ([]Summary, error) {
	if len(txs) == 0 {
		return nil, fmt.Errorf("%w: no transactions", ErrInvalid)
	}
	unit := p.Unit
	if unit == "" {
		unit = Week
	}
	if unit != Week && unit != Day {
		return nil, fmt.Errorf("%w: unit %q", ErrInvalid, unit)
	}
	obsEnd := p.ObservationEnd
	if obsEnd.IsZero() {
		for _, t := range txs {
			if t.Date.After(obsEnd) {
				obsEnd = t.Date
			}
		}
	}
	calEnd := p.CalibrationEnd
	if calEnd.IsZero() {
		calEnd = obsEnd
	}
	if calEnd.After(obsEnd) {
		return nil, fmt.Errorf("%w: calibration end %s is after observation end %s",
			ErrInvalid, calEnd.Format(DateLayout), obsEnd.Format(DateLayout))
	}
	// Sort a copy by customer and day, then walk the runs.
	idx := make([]int, len(txs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool {
		a, b := &txs[idx[i]], &txs[idx[j]]
		if a.CustomerID != b.CustomerID {
			return a.CustomerID < b.CustomerID
		}
		return a.Date.Before(b.Date)
	})
	days := unit.Days()
	var out []Summary
	for i := 0; i < len(idx); {
		j := i
		id := txs[idx[i]].CustomerID
		for j < len(idx) && txs[idx[j]].CustomerID == id {
			j++
		}
		first := txs[idx[i]].Date
		if first.After(calEnd) {
			i = j
			continue
		}
		s := Summary{First: first, Last: first}
		s.ID = id
		var repeatValue float64
		for k := i; k < j; {
			d := txs[idx[k]].Date
			v := 0.0
			for k < j && txs[idx[k]].Date.Equal(d) {
				v += txs[idx[k]].Amount
				k++
			}
			switch {
			case d.Equal(first):
			case !d.After(calEnd):
				s.X++
				s.Last = d
				repeatValue += v
			case !d.After(obsEnd):
				s.HoldoutX++
				s.HoldoutValue += v
			}
		}
		s.Tx = dayDiff(first, s.Last) / days
		s.T = dayDiff(first, calEnd) / days
		if s.X > 0 {
			s.Monetary = repeatValue / s.X
		}
		out = append(out, s)
		i = j
	}
	sortByID(out)
	return out, nil
}

// dayDiff is the number of calendar days from a to b.
func dayDiff(a, b time.Time) float64 {
	return math.Round(b.Sub(a).Hours() / 24)
}

// sortByID orders summaries by id, numerically when every id is an integer.
func sortByID(s []Summary) {
	nums := make([]int64, len(s))
	numeric := true
	for i := range s {
		n, err := strconv.ParseInt(s[i].ID, 10, 64)
		if err != nil {
			numeric = false
			break
		}
		nums[i] = n
	}
	if !numeric {
		sort.SliceStable(s, func(i, j int) bool { return s[i].ID < s[j].ID })
		return
	}
	order := make([]int, len(s))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return nums[order[i]] < nums[order[j]] })
	sorted := make([]Summary, len(s))
	for i, o := range order {
		sorted[i] = s[o]
	}
	copy(s, sorted)
}

// Customers extracts the model inputs from summaries.
func Customers(s []Summary) []Customer {
	cs := make([]Customer, len(s))
	for i := range s {
		cs[i] = s[i].Customer
	}
	return cs
}
