package store_test

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/winback/winback/shared/customer"
	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
	"github.com/winback/winback/shared/store"
	"github.com/winback/winback/shared/store/storetest"
)

var _ storetest.CampaignStore = (*store.Store)(nil)

func TestCampaignContract(t *testing.T) {
	storetest.RunCampaigns(t, func(t *testing.T) storetest.CampaignStore {
		s, _, _ := newStore(t)
		return s
	})
}

// TestLostRecipientAnswerIsRecognised: AddRecipient's transaction commits
// but its answer is lost. Whether the SDK sends it again (same token), the
// error reaches the store (which retries with the same token), or the
// retry comes after DynamoDB forgot the token (another token: the stored
// recipient's txn tells), the answer is created, and nothing is written
// twice.
func TestLostRecipientAnswerIsRecognised(t *testing.T) {
	for _, mode := range []string{"sdk retry", "error", "token forgotten"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			client, table := newTable(t)
			db := &faultDB{Client: client}
			s := store.New(db, table)
			sh := newShop(t, s, "UTC")
			c, err := s.BeginCampaign(ctx, storetest.NewCampaign(sh, "2025-05-01", false))
			if err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int64
			db.transact = func(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
				n := calls.Add(1)
				if tok := aws.ToString(in.ClientRequestToken); tok == "" || len(tok) > 36 {
					t.Errorf("ClientRequestToken %q", tok)
				}
				if n > 1 && mode == "token forgotten" {
					in.ClientRequestToken = aws.String("forgotten-" + fmt.Sprint(n))
				}
				out, err := client.TransactWriteItems(ctx, in, opts...)
				if err != nil || n > 1 {
					return out, err
				}
				if mode == "sdk retry" {
					return client.TransactWriteItems(ctx, in, opts...)
				}
				return nil, fmt.Errorf("operation error DynamoDB: TransactWriteItems: read response: %w", io.ErrUnexpectedEOF)
			}
			r := storetest.NewRecipient(sh, c.ID, "c-1", "WB-LOST-0001", t0)
			created, err := s.AddRecipient(ctx, sh, r, t0.Add(-storetest.Cap))
			if err != nil || !created {
				t.Fatalf("a recipient whose answer was lost: %v, %v; want created", created, err)
			}
			if got, err := s.Recipient(ctx, sh.ID, c.ID, r.SendID); err != nil || !reflect.DeepEqual(got, r) {
				t.Fatalf("stored %+v, %v", got, err)
			}
			// A later call (a resumed run) is told the recipient was there.
			if created, err := s.AddRecipient(ctx, sh, r, t0.Add(-storetest.Cap)); err != nil || created {
				t.Fatalf("a second call: %v, %v; want (false, nil)", created, err)
			}
		})
	}
}

// TestContactsDoNotChangeShardReads: the contact items live in the shard
// partitions beside summaries and scores; every reader of those
// partitions reads the same with them as without.
func TestContactsDoNotChangeShardReads(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	sh := shop.Shop{ID: shop.NewID(), Name: "contacts", Currency: "EUR", Timezone: "UTC", Shards: 2, CreatedAt: t0}
	if err := s.CreateShop(ctx, sh, shop.NewCredentials()); err != nil {
		t.Fatal(err)
	}
	byShard := map[int][]scores.Score{}
	for i := range 12 {
		id := fmt.Sprintf("c-%02d", i)
		putOne(t, s, sh, mkOrder("O-"+id, id, t0.Add(time.Duration(i)*time.Hour), 100), "")
		if i%2 == 0 {
			byShard[sh.Shard(id)] = append(byShard[sh.Shard(id)], scores.Score{CustomerID: id, AsOf: "2025-05-01", Model: "bgnbd", Segment: "at_risk", ChurnBand: "high"})
		}
	}
	for n, ss := range byShard {
		if _, err := s.PutScores(ctx, sh, n, ss, nil); err != nil {
			t.Fatal(err)
		}
	}
	type reads struct {
		Scan, Summaries []customer.Summary
		Scores, Shard   []scores.Score
		Listed          []scores.Score
	}
	read := func() reads {
		var r reads
		for n := range sh.Shards {
			if _, err := s.ScanShard(ctx, sh, n,
				func(c customer.Summary) error { r.Scan = append(r.Scan, c); return nil },
				func(sc scores.Score) error { r.Scores = append(r.Scores, sc); return nil }); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ScanShard(ctx, sh, n, func(c customer.Summary) error { r.Summaries = append(r.Summaries, c); return nil }, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ShardScores(ctx, sh, n, func(sc scores.Score) error { r.Shard = append(r.Shard, sc); return nil }); err != nil {
				t.Fatal(err)
			}
		}
		listed, _, err := s.Scores(ctx, sh, scores.Filter{}, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		r.Listed = listed
		return r
	}
	before := read()
	c, err := s.BeginCampaign(ctx, storetest.NewCampaign(sh, "2025-05-01", false))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		if i%3 != 0 {
			r := storetest.NewRecipient(sh, c.ID, fmt.Sprintf("c-%02d", i), "", t0)
			if created, err := s.AddRecipient(ctx, sh, r, t0.Add(-storetest.Cap)); err != nil || !created {
				t.Fatalf("AddRecipient: %v, %v", created, err)
			}
		}
	}
	n := 0
	for shard := range sh.Shards {
		if err := s.Contacts(ctx, sh, shard, func(string, time.Time) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if n != 8 {
		t.Fatalf("%d contacts, want 8", n)
	}
	if after := read(); !reflect.DeepEqual(after, before) {
		t.Fatalf("reads changed by contacts:\n%+v\nwant\n%+v", after, before)
	}
	if len(before.Scan) != 12 || len(before.Scores) != 6 {
		t.Fatalf("read %d summaries and %d scores", len(before.Scan), len(before.Scores))
	}
}
