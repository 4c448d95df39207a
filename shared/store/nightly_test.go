package store_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/store"
	"github.com/winback/winback/shared/store/storetest"
)

var _ storetest.NightlyStore = (*store.Store)(nil)

func TestNightlyContract(t *testing.T) {
	storetest.RunNightly(t, func(t *testing.T) storetest.NightlyStore {
		s, _, _ := newStore(t)
		return s
	})
}

// TestResultChunks: a result over one item's worth is split, and a missing
// chunk is noticed rather than read as a shorter result.
func TestResultChunks(t *testing.T) {
	s, db, table := newStore(t)
	ctx := context.Background()
	data := make([]byte, 800*1024)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	ref, u, err := s.PutResult(ctx, "shop_x", "2025-05-01", scores.KindStats, 7, data, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Chunks != 3 || u.RoundTrips != 3 {
		t.Fatalf("%d bytes of random data: %d chunks in %d round trips, want 3 and 3", len(data), ref.Chunks, u.RoundTrips)
	}
	_, err = db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "SHOP#shop_x#RUN#2025-05-01"},
			"sk": &types.AttributeValueMemberS{Value: "STATS#07#" + ref.Digest + "#01"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Result(ctx, "shop_x", "2025-05-01", scores.KindStats, 7, ref); err == nil {
		t.Fatal("Result with a chunk missing: no error")
	}
}
