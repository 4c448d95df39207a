package clv

import (
	"math"
	"testing"
)

func TestGroup(t *testing.T) {
	negZero := math.Copysign(0, -1)
	cs := []Customer{
		{ID: "a", X: 2, Tx: 3, T: 10},
		{ID: "b", X: 0, Tx: 0, T: 10},
		{ID: "c", X: 2, Tx: 3, T: 10},
		{ID: "d", X: 0, Tx: negZero, T: 10}, // −0 and +0 are one history
		{ID: "e", X: 1, Tx: 3, T: 9},
	}
	d := Group(cs)
	want := []Triple{{0, 0, 10, 2}, {1, 3, 9, 1}, {2, 3, 10, 2}}
	if d.Customers != 5 || len(d.Triples) != len(want) {
		t.Fatalf("Group = %+v, want %v", d, want)
	}
	for i := range want {
		if d.Triples[i] != want[i] {
			t.Errorf("triple %d = %+v, want %+v", i, d.Triples[i], want[i])
		}
	}
}

// Group on a large simulated base against a plain map (the table grows
// several times on the way).
func TestGroupMatchesMap(t *testing.T) {
	cs, _ := SimulateBGNBD(BGNBD{R: 0.5, Alpha: 2, A: 0.8, B: 2}, SimOptions{N: 60000, TMin: 1, TMax: 52, Resolution: 1.0 / 7, Seed: 21})
	counts := map[[3]float64]float64{}
	for _, c := range cs {
		counts[[3]float64{c.X, c.Tx, c.T}]++
	}
	d := Group(cs)
	if len(d.Triples) != len(counts) {
		t.Fatalf("%d triples, want %d", len(d.Triples), len(counts))
	}
	for i, tr := range d.Triples {
		if counts[[3]float64{tr.X, tr.Tx, tr.T}] != tr.Count {
			t.Fatalf("triple %+v: count %v, want %v", tr, tr.Count, counts[[3]float64{tr.X, tr.Tx, tr.T}])
		}
		if i > 0 {
			p := d.Triples[i-1]
			if p.X > tr.X || (p.X == tr.X && (p.Tx > tr.Tx || (p.Tx == tr.Tx && p.T >= tr.T))) {
				t.Fatalf("triples %+v and %+v out of order", p, tr)
			}
		}
	}
}
