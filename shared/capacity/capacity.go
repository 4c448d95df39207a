// Package capacity describes what a storage operation cost in DynamoDB
// terms, so that handlers and jobs can log and report it without importing
// the DynamoDB adapter.
package capacity

// Usage is what one operation cost: round trips and capacity units.
type Usage struct {
	RoundTrips int `json:"round_trips"`
	// ReadUnits and WriteUnits are the capacity DynamoDB reported
	// (ReturnConsumedCapacity). DynamoDB Local's figures for transactions
	// and for reads of missing items differ from AWS's billing.
	ReadUnits  float64 `json:"read_units"`
	WriteUnits float64 `json:"write_units"`
	// BilledReadUnits and BilledWriteUnits apply AWS's published on-demand
	// rules to the sizes of the items read and written: a read of up to 4 KB
	// is 0.5 unit eventually consistent, 1 strongly consistent (a missing
	// item too); a transactional write is 2 units per started KB.
	BilledReadUnits  float64 `json:"billed_read_units"`
	BilledWriteUnits float64 `json:"billed_write_units"`
}

// Add accumulates u2 into u.
func (u *Usage) Add(u2 Usage) {
	u.RoundTrips += u2.RoundTrips
	u.ReadUnits += u2.ReadUnits
	u.WriteUnits += u2.WriteUnits
	u.BilledReadUnits += u2.BilledReadUnits
	u.BilledWriteUnits += u2.BilledWriteUnits
}
