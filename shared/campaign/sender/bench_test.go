package sender_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/store"
)

// meter is a DynamoDB client that asks for the consumed capacity of every
// call and adds it up: what the store's campaign methods cost, without
// the store reporting it.
type meter struct {
	*dynamodb.Client
	mu          sync.Mutex
	read, write float64
}

var _ store.DB = (*meter)(nil)

func (m *meter) add(write bool, cc ...types.ConsumedCapacity) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range cc {
		// DynamoDB Local reports CapacityUnits only.
		u := aws.ToFloat64(c.CapacityUnits)
		if write {
			m.write += u
		} else {
			m.read += u
		}
	}
}

func (m *meter) units() (read, write float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.read, m.write
}

func (m *meter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.read, m.write = 0, 0
}

const total = types.ReturnConsumedCapacityTotal

func one(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}

func (m *meter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.Client.GetItem(ctx, in, o...)
	if err == nil {
		m.add(false, one(out.ConsumedCapacity)...)
	}
	return out, err
}

func (m *meter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.Client.BatchGetItem(ctx, in, o...)
	if err == nil {
		m.add(false, out.ConsumedCapacity...)
	}
	return out, err
}

func (m *meter) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.Client.Query(ctx, in, o...)
	if err == nil {
		m.add(false, one(out.ConsumedCapacity)...)
	}
	return out, err
}

func (m *meter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.Client.TransactWriteItems(ctx, in, o...)
	if err == nil {
		m.add(true, out.ConsumedCapacity...)
	}
	return out, err
}

func (m *meter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.Client.UpdateItem(ctx, in, o...)
	if err == nil {
		m.add(true, one(out.ConsumedCapacity)...)
	}
	return out, err
}

func (m *meter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.Client.PutItem(ctx, in, o...)
	if err == nil {
		m.add(true, one(out.ConsumedCapacity)...)
	}
	return out, err
}

func (m *meter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.Client.BatchWriteItem(ctx, in, o...)
	if err == nil {
		m.add(true, out.ConsumedCapacity...)
	}
	return out, err
}

func (m *meter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.Client.DeleteItem(ctx, in, o...)
	if err == nil {
		m.add(true, one(out.ConsumedCapacity)...)
	}
	return out, err
}

// BenchmarkSend measures the sender end to end against DynamoDB Local and
// the SES emulator: batches of ten queued recipients through Work (four
// at a time, no rate limit), reporting e-mails handed to SES per second
// and the DynamoDB capacity units each e-mail cost (as DynamoDB Local
// reports them; the shop, its configuration and the campaign are read
// once per sender and batch of 10 s, so they fade from the figure).
func BenchmarkSend(b *testing.B) {
	_, db, table := newDynamoStore(b)
	m := &meter{Client: db}
	st := store.New(m, table)
	mailer, _ := sesMailer(b)
	f := newFixture(b, st)
	bodies := make([]string, b.N)
	for i := range bodies {
		msg, _ := f.queued()
		bodies[i] = msg.Body()
	}
	s := f.sender(mailer, &fakeDeadLetters{}, time.Now())
	s.Log = nil
	s.Rate = 1e6
	m.reset()
	b.ResetTimer()
	start := time.Now()
	for len(bodies) > 0 {
		n := min(len(bodies), 10)
		resp, err := s.Work(context.Background(), batch(bodies[:n]...))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			b.Fatalf("Work: %v, %v", failures(resp), err)
		}
		bodies = bodies[n:]
	}
	elapsed := time.Since(start)
	b.StopTimer()
	read, write := m.units()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "emails/s")
	b.ReportMetric(read/float64(b.N), "RCU/email")
	b.ReportMetric(write/float64(b.N), "WCU/email")
}
