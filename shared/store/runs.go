package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/scores"
	"github.com/winback/winback/shared/shop"
)

// ResultTTL is how long a run's intermediate results (statistics, model,
// KPI partials) are kept: long enough to resume or inspect a night.
const ResultTTL = 14 * 24 * time.Hour

// resultChunk is the most bytes of a result one item holds, under
// DynamoDB's 400 KB item limit with room for the key.
const resultChunk = 350 * 1024

// BeginRun starts shop sh's run for as-of day: it creates the run item
// when there is none, and with force replaces any stored run by a fresh
// attempt. Otherwise it returns the stored run as it is, and created is
// false: the caller resumes it or, when it is done, leaves it. Two
// planners racing on one run both get the same stored run.
func (s *Store) BeginRun(ctx context.Context, sh shop.Shop, day string, force bool) (run scores.Run, created bool, u Usage, err error) {
	key := itemKey(runsPK(sh.ID), runSK(day))
	for attempt := 0; attempt < s.maxAttempts; attempt++ {
		rec, found, err := getRecord[runRecord](ctx, s, key, true, &u)
		if err != nil {
			return scores.Run{}, false, u, fmt.Errorf("get run %s %s: %w", sh.ID, day, err)
		}
		if found && !force {
			run, err := rec.run()
			return run, false, u, err
		}
		next := newRunRecord(sh, day, 1, s.now())
		cond := expression.AttributeNotExists(expression.Name(attrPK))
		if found {
			next.Attempt = rec.Attempt + 1
			cond = expression.Name("attempt").Equal(expression.Value(rec.Attempt))
		}
		ok, err := s.putIf(ctx, next, cond, &u)
		if err != nil {
			return scores.Run{}, false, u, fmt.Errorf("begin run %s %s: %w", sh.ID, day, err)
		}
		if ok {
			run, err := next.run()
			return run, true, u, err
		}
		force = false // another planner began it meanwhile: take theirs
	}
	return scores.Run{}, false, u, fmt.Errorf("begin run %s %s: %w", sh.ID, day, ErrContention)
}

// putIf writes a record under a condition; ok is false when the condition
// failed.
func (s *Store) putIf(ctx context.Context, rec any, cond expression.ConditionBuilder, u *Usage) (ok bool, err error) {
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return false, fmt.Errorf("encode: %w", err)
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("build condition: %w", err)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		addWrite(u)
		u.BilledWriteUnits += writeUnits(itemSize(item))
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if out.ConsumedCapacity != nil {
		addWrite(u, *out.ConsumedCapacity)
	} else {
		addWrite(u)
	}
	u.BilledWriteUnits += writeUnits(itemSize(item))
	return true, nil
}

// Run returns the run of a shop for an as-of day (scores.ErrNoRun if there
// is none), read consistently.
func (s *Store) Run(ctx context.Context, shopID, day string) (scores.Run, error) {
	run, _, err := s.RunUsage(ctx, shopID, day)
	return run, err
}

// RunUsage is Run, with what the read cost.
func (s *Store) RunUsage(ctx context.Context, shopID, day string) (scores.Run, Usage, error) {
	var u Usage
	rec, found, err := getRecord[runRecord](ctx, s, itemKey(runsPK(shopID), runSK(day)), true, &u)
	if err != nil {
		return scores.Run{}, u, fmt.Errorf("get run %s %s: %w", shopID, day, err)
	}
	if !found {
		return scores.Run{}, u, fmt.Errorf("run %s %s: %w", shopID, day, scores.ErrNoRun)
	}
	run, err := rec.run()
	return run, u, err
}

// MarkRun records a stage's progress on a run (see scores.Mark) in one
// conditional update and returns the run as it is afterwards; a missing
// run is scores.ErrNoRun.
func (s *Store) MarkRun(ctx context.Context, shopID, day string, m scores.Mark) (scores.Run, Usage, error) {
	var u Usage
	up, err := markUpdate(m)
	if err != nil {
		return scores.Run{}, u, err
	}
	expr, err := expression.NewBuilder().
		WithUpdate(up).
		WithCondition(expression.AttributeExists(expression.Name(attrPK))).
		Build()
	if err != nil {
		return scores.Run{}, u, fmt.Errorf("build run update: %w", err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       itemKey(runsPK(shopID), runSK(day)),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllNew,
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return scores.Run{}, u, fmt.Errorf("run %s %s: %w", shopID, day, scores.ErrNoRun)
	}
	if err != nil {
		return scores.Run{}, u, fmt.Errorf("update run %s %s: %w", shopID, day, err)
	}
	if out.ConsumedCapacity != nil {
		addWrite(&u, *out.ConsumedCapacity)
	} else {
		addWrite(&u)
	}
	u.BilledWriteUnits += writeUnits(itemSize(out.Attributes))
	var rec runRecord
	if err := attributevalue.UnmarshalMap(out.Attributes, &rec); err != nil {
		return scores.Run{}, u, fmt.Errorf("decode run %s %s: %w", shopID, day, err)
	}
	run, err := rec.run()
	return run, u, err
}

// markUpdate is the update expression of a Mark.
func markUpdate(m scores.Mark) (expression.UpdateBuilder, error) {
	var up expression.UpdateBuilder
	setOnce := func(path string, v any) {
		up = up.Set(expression.Name(path), expression.IfNotExists(expression.Name(path), expression.Value(v)))
	}
	at := formatTime(m.At)
	if m.At.IsZero() {
		at = formatTime(time.Now())
	}
	switch m.Stage {
	case scores.StagePlan:
	case scores.StageMap:
		ref := toRefRecord(m.Ref)
		if m.Inputs.Digest != "" {
			in := toRefRecord(m.Inputs)
			ref.Inputs = &in
		}
		setOnce("mapped."+shardKey(m.Shard), ref)
	case scores.StageFit:
		if m.Failed == "" {
			setOnce("model", toRefRecord(m.Ref))
		}
	case scores.StageScore:
		setOnce("scored."+shardKey(m.Shard), toRefRecord(m.Ref))
	case scores.StageFinish:
		up = up.Set(expression.Name("done"), expression.Value(true))
		setOnce("finished_at", at)
	default:
		return up, fmt.Errorf("mark run: unknown stage %q", m.Stage)
	}
	if m.Failed != "" {
		setOnce("failed", m.Failed)
		if m.Stage != scores.StageFinish { // finish has set both already; one path may not be set twice
			up = up.Set(expression.Name("done"), expression.Value(true))
			setOnce("finished_at", at)
		}
	}
	p := "usage." + string(m.Stage) + "."
	up = up.Add(expression.Name(p+"round_trips"), expression.Value(m.Usage.RoundTrips)).
		Add(expression.Name(p+"read_units"), expression.Value(m.Usage.ReadUnits)).
		Add(expression.Name(p+"write_units"), expression.Value(m.Usage.WriteUnits)).
		Add(expression.Name(p+"billed_read_units"), expression.Value(m.Usage.BilledReadUnits)).
		Add(expression.Name(p+"billed_write_units"), expression.Value(m.Usage.BilledWriteUnits))
	return up, nil
}

// PutResult stores an intermediate result of a run (data: JSON), gzipped
// and split into items of at most 350 KB under its content digest, and
// returns its Ref. Storing the same data again writes the same items.
func (s *Store) PutResult(ctx context.Context, shopID, day string, kind scores.Kind, shard int, data []byte, customers int64) (scores.Ref, Usage, error) {
	var u Usage
	sum := sha256.Sum256(data)
	ref := scores.Ref{Digest: hex.EncodeToString(sum[:8]), Customers: customers}
	var zipped bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zipped, gzip.BestSpeed) // the level is valid
	if _, err := zw.Write(data); err != nil {
		return ref, u, fmt.Errorf("compress %s: %w", kind, err)
	}
	if err := zw.Close(); err != nil {
		return ref, u, fmt.Errorf("compress %s: %w", kind, err)
	}
	z := zipped.Bytes()
	ref.Chunks = max(1, (len(z)+resultChunk-1)/resultChunk)
	if ref.Chunks > 100 {
		return ref, u, fmt.Errorf("%s of shard %d is %d bytes gzipped, over 100 chunks", kind, shard, len(z))
	}
	prefix := resultPrefix(string(kind), shard, ref.Digest)
	expires := s.now().Add(ResultTTL).Unix()
	for i := range ref.Chunks {
		part := z[i*resultChunk : min(len(z), (i+1)*resultChunk)]
		item, err := attributevalue.MarshalMap(resultRecord{
			PK: runPK(shopID, day), SK: fmt.Sprintf("%s%02d", prefix, i), Type: "result", Data: part, TTL: expires,
		})
		if err != nil {
			return ref, u, fmt.Errorf("encode %s: %w", kind, err)
		}
		out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.table), Item: item, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return ref, u, fmt.Errorf("put %s of shard %d: %w", kind, shard, err)
		}
		if out.ConsumedCapacity != nil {
			addWrite(&u, *out.ConsumedCapacity)
		} else {
			addWrite(&u)
		}
		u.BilledWriteUnits += writeUnits(itemSize(item))
	}
	return ref, u, nil
}

// Result reads back an intermediate result stored by PutResult, checking
// that every chunk is there and that the content matches the digest.
func (s *Store) Result(ctx context.Context, shopID, day string, kind scores.Kind, shard int, ref scores.Ref) ([]byte, Usage, error) {
	var u Usage
	prefix := resultPrefix(string(kind), shard, ref.Digest)
	var z []byte
	n := 0
	err := s.queryItems(ctx, query{pk: runPK(shopID, day), prefix: prefix, consistent: true}, &u, func(it map[string]types.AttributeValue) error {
		rec, err := decode[resultRecord](it)
		if err != nil {
			return err
		}
		if want := fmt.Sprintf("%s%02d", prefix, n); rec.SK != want {
			return fmt.Errorf("chunk %s, want %s", rec.SK, want)
		}
		z = append(z, rec.Data...)
		n++
		return nil
	})
	if err != nil {
		return nil, u, fmt.Errorf("read %s of shard %d: %w", kind, shard, err)
	}
	if n != ref.Chunks {
		return nil, u, fmt.Errorf("read %s of shard %d (%s): %d chunks, want %d", kind, shard, ref.Digest, n, ref.Chunks)
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, u, fmt.Errorf("read %s of shard %d: %w", kind, shard, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, u, fmt.Errorf("read %s of shard %d: %w", kind, shard, err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:8]); !strings.EqualFold(got, ref.Digest) {
		return nil, u, fmt.Errorf("read %s of shard %d: digest %s, want %s", kind, shard, got, ref.Digest)
	}
	return data, u, nil
}

// writeUnits is what AWS bills for a standard (not transactional) write
// of an item of size bytes: one unit per started KB.
func writeUnits(size int) float64 {
	return transactWriteUnits(size, size) / 2
}
