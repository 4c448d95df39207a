package clv

import "math"

// tripleTable assigns dense indices to distinct (x, t_x, T) triples: an
// open-addressing hash table on the values' bits, several times faster
// than a Go map with a struct key on large inputs.
type tripleTable struct {
	keys  []Triple // Count unused
	slots []int32  // index into keys, +1; 0 = empty
	mask  uint64
}

func newTripleTable(hint int) *tripleTable {
	size := 1024
	for size < 2*hint {
		size *= 2
	}
	return &tripleTable{slots: make([]int32, size), mask: uint64(size - 1)}
}

// index returns the triple's index and whether it is new. Callers pass
// x+0 etc. if −0 and +0 must share an index.
func (t *tripleTable) index(x, tx, T float64) (int, bool) {
	for j := tripleHash(x, tx, T) & t.mask; ; j = (j + 1) & t.mask {
		k := t.slots[j]
		if k == 0 {
			t.keys = append(t.keys, Triple{X: x, Tx: tx, T: T})
			t.slots[j] = int32(len(t.keys))
			if 2*len(t.keys) > len(t.slots) {
				t.grow()
			}
			return len(t.keys) - 1, true
		}
		if tr := &t.keys[k-1]; tr.X == x && tr.Tx == tx && tr.T == T {
			return int(k - 1), false
		}
	}
}

// grow quadruples the table, keeping the load factor below 1/2.
func (t *tripleTable) grow() {
	size := 4 * len(t.slots)
	t.mask = uint64(size - 1)
	t.slots = make([]int32, size)
	for k := range t.keys {
		tr := &t.keys[k]
		j := tripleHash(tr.X, tr.Tx, tr.T) & t.mask
		for t.slots[j] != 0 {
			j = (j + 1) & t.mask
		}
		t.slots[j] = int32(k + 1)
	}
}

// tripleHash mixes the bits of a triple (a multiply-xorshift hash).
func tripleHash(x, tx, t float64) uint64 {
	h := math.Float64bits(x)*0x9e3779b97f4a7c15 ^ math.Float64bits(tx)*0xc2b2ae3d27d4eb4f ^ math.Float64bits(t)*0x165667b19e3779f9
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 29
	return h
}
