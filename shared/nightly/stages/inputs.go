package stages

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/winback/winback/shared/scoring"
)

// shardInputs is what the map stage hands the score stage for one shard
// (scores.KindInputs), so that scoring does not read the summaries again:
// every customer's scoring.Input, one column per figure, in customer id
// order, and the prospects' ids (a summary, but no paid order by the
// as-of day). RecencyDays, FirstDay and LastDay are not stored: they
// follow from AsOf, T and Tx. About 40 bytes a customer before gzip.
type shardInputs struct {
	AsOf        string   `json:"as_of"`
	IDs         []string `json:"ids"`
	X           []int    `json:"x"`
	Tx          []int    `json:"t_x"`
	T           []int    `json:"t"`
	RepeatSpend []int64  `json:"repeat_spend"`
	PaidOrders  []int    `json:"paid_orders"`
	TotalSpend  []int64  `json:"total_spend"`
	Prospects   []string `json:"prospects"`
}

// add appends a customer's input (of day si.AsOf).
func (si *shardInputs) add(in scoring.Input) {
	si.IDs = append(si.IDs, in.CustomerID)
	si.X = append(si.X, in.X)
	si.Tx = append(si.Tx, in.Tx)
	si.T = append(si.T, in.T)
	si.RepeatSpend = append(si.RepeatSpend, in.RepeatSpend)
	si.PaidOrders = append(si.PaidOrders, in.PaidOrders)
	si.TotalSpend = append(si.TotalSpend, in.TotalSpend)
}

// encodeInputs is si as the JSON the store keeps; empty columns are
// written as [] so that the encoding of a shard has one form.
func encodeInputs(si shardInputs) ([]byte, error) {
	for _, c := range []*[]string{&si.IDs, &si.Prospects} {
		if *c == nil {
			*c = []string{}
		}
	}
	for _, c := range []*[]int{&si.X, &si.Tx, &si.T, &si.PaidOrders} {
		if *c == nil {
			*c = []int{}
		}
	}
	for _, c := range []*[]int64{&si.RepeatSpend, &si.TotalSpend} {
		if *c == nil {
			*c = []int64{}
		}
	}
	data, err := json.Marshal(si)
	if err != nil {
		return nil, fmt.Errorf("encode inputs: %w", err)
	}
	return data, nil
}

// decodeInputs reads a shard's inputs back: the customers' scoring.Input
// exactly as scoring.InputOf gave them to the map stage, and the
// prospects' ids.
func decodeInputs(data []byte, asOf string) (ins []scoring.Input, prospects []string, err error) {
	var si shardInputs
	if err := json.Unmarshal(data, &si); err != nil {
		return nil, nil, fmt.Errorf("decode inputs: %w", err)
	}
	n := len(si.IDs)
	if len(si.X) != n || len(si.Tx) != n || len(si.T) != n || len(si.RepeatSpend) != n ||
		len(si.PaidOrders) != n || len(si.TotalSpend) != n {
		return nil, nil, fmt.Errorf("decode inputs: columns of unequal length (%d ids)", n)
	}
	if si.AsOf != asOf {
		return nil, nil, fmt.Errorf("decode inputs: as of %s, want %s", si.AsOf, asOf)
	}
	day, err := time.Parse(time.DateOnly, asOf)
	if err != nil {
		return nil, nil, fmt.Errorf("decode inputs: as of %q: %w", asOf, err)
	}
	days := map[int]string{} // days before the as-of day → YYYY-MM-DD
	dayBefore := func(k int) string {
		d, ok := days[k]
		if !ok {
			d = day.AddDate(0, 0, -k).Format(time.DateOnly)
			days[k] = d
		}
		return d
	}
	ins = make([]scoring.Input, n)
	for i, id := range si.IDs {
		x, tx, t := si.X[i], si.Tx[i], si.T[i]
		if x < 0 || tx < 0 || t < tx {
			return nil, nil, fmt.Errorf("decode inputs: customer %s: x %d, t_x %d, T %d", id, x, tx, t)
		}
		ins[i] = scoring.Input{
			CustomerID: id, AsOf: asOf, X: x, Tx: tx, T: t, RecencyDays: t - tx,
			RepeatSpend: si.RepeatSpend[i], PaidOrders: si.PaidOrders[i], TotalSpend: si.TotalSpend[i],
			FirstDay: dayBefore(t), LastDay: dayBefore(t - tx),
		}
	}
	return ins, si.Prospects, nil
}
