package stages

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/order"
	"github.com/winback/winback/shared/scoring"
	"github.com/winback/winback/shared/store/storetest"
)

// TestInputsRoundTrip: what the score stage decodes is exactly what
// scoring.InputOf gave the map stage, prospects included, across time
// zones, daylight-saving changes and as-of days before some customers'
// first order.
func TestInputsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tz := range []string{"UTC", "Europe/Berlin", "America/Los_Angeles", "Pacific/Auckland"} {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Date(2023, 1, 1, 0, 0, 0, 0, loc)
		var sums []customer.Summary
		for i := range 300 {
			id := fmt.Sprintf("c%04d", i)
			var orders []order.Order
			for k := range 1 + rng.IntN(6) {
				at := start.Add(time.Duration(rng.IntN(900*24)) * time.Hour).Add(time.Duration(rng.IntN(3600)) * time.Second)
				orders = append(orders, storetest.Order(fmt.Sprintf("%d-%d", i, k), id, at, int64(100+rng.IntN(20000))))
			}
			sums = append(sums, customer.Recompute(orders, loc))
		}
		for _, asOf := range []string{"2023-03-26", "2024-06-30", "2025-12-31"} {
			si := shardInputs{AsOf: asOf}
			var want []scoring.Input
			var wantProspects []string
			for _, sum := range sums {
				if in, ok := scoring.InputOf(sum, asOf, loc); ok {
					si.add(in)
					want = append(want, in)
				} else {
					si.Prospects = append(si.Prospects, sum.CustomerID)
					wantProspects = append(wantProspects, sum.CustomerID)
				}
			}
			data, err := encodeInputs(si)
			if err != nil {
				t.Fatal(err)
			}
			ins, prospects, err := decodeInputs(data, asOf)
			if err != nil {
				t.Fatalf("%s %s: %v", tz, asOf, err)
			}
			if !slices.Equal(ins, want) || !slices.Equal(prospects, wantProspects) {
				t.Fatalf("%s %s: the decoded inputs differ from InputOf's (%d customers, %d prospects)", tz, asOf, len(want), len(wantProspects))
			}
		}
	}
}

// TestInputsOfAnEmptyShard: a shard without customers has one encoding,
// and it decodes to nothing.
func TestInputsOfAnEmptyShard(t *testing.T) {
	data, err := encodeInputs(shardInputs{AsOf: "2025-04-30"})
	if err != nil {
		t.Fatal(err)
	}
	ins, prospects, err := decodeInputs(data, "2025-04-30")
	if err != nil || len(ins) != 0 || len(prospects) != 0 {
		t.Fatalf("decode %s: %d inputs, %d prospects, %v", data, len(ins), len(prospects), err)
	}
	if _, _, err := decodeInputs(data, "2025-05-01"); err == nil {
		t.Fatal("inputs of another day: no error")
	}
}
