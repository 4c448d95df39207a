package store

import (
	"math"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// itemSize is an item's size as DynamoDB bills it: attribute names plus
// values, numbers at about one byte per two digits plus one, lists and maps
// three bytes plus one per element.
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return len(x.Value)
	case *types.AttributeValueMemberN:
		return (len(x.Value)+1)/2 + 1
	case *types.AttributeValueMemberB:
		return len(x.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range x.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range x.Value {
			n += (len(s)+1)/2 + 1
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range x.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range x.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

// readUnits is what AWS bills to read an item of size bytes (0 when the
// item is missing, which is still billed as a minimal read).
func readUnits(size int, consistent bool) float64 {
	u := math.Max(1, math.Ceil(float64(size)/4096))
	if !consistent {
		u /= 2
	}
	return u
}

// transactWriteUnits is what AWS bills to write an item in a transaction:
// two units per started kilobyte of the larger of the old and new item.
func transactWriteUnits(oldSize, newSize int) float64 {
	return 2 * math.Max(1, math.Ceil(float64(max(oldSize, newSize))/1024))
}

// ItemSize, ReadUnits and WriteUnits are the billing rules above for
// tools outside the store (the benchmarks' capacity meters): an item's
// billed size, the read units of size bytes, and the write units of an
// item of size bytes outside a transaction (twice that inside one).
func ItemSize(item map[string]types.AttributeValue) int { return itemSize(item) }

// ReadUnits is readUnits, for tools outside the store.
func ReadUnits(size int, consistent bool) float64 { return readUnits(size, consistent) }

// WriteUnits is what AWS bills to write an item of size bytes outside a
// transaction: one unit per started kilobyte.
func WriteUnits(size int) float64 { return math.Max(1, math.Ceil(float64(size)/1024)) }

// DynamoDB's limits on what one write may hold.
const (
	// maxItemSize is the largest item DynamoDB stores: 400 KB.
	maxItemSize = 400 * 1024
	// maxTransactionSize is the largest TransactWriteItems request: 4 MB.
	maxTransactionSize = 4 * 1024 * 1024
)
