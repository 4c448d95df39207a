package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/winback/winback/shared/campaign"
	"github.com/winback/winback/shared/secrets"
)

// The unsubscribe-token keys are items of the CONFIG partition, one per
// version: sk UNSUBSCRIBE_KEY#<version, 6 digits>, the key sealed for
// secrets.PurposeTokenKey. The newest signs, every one kept verifies
// (tokens never expire); retiring a key deletes its item. The item of
// sk UNSUBSCRIBE_KEY holds the key in clear, as written before keys were
// sealed: it is version 0, still read, and ResealTokenKey moves it to
// UNSUBSCRIBE_KEY#000000, sealed.

// tokenKeyRecord is one version of the unsubscribe-token key.
type tokenKeyRecord struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Type    string `dynamodbav:"type"`
	Version int    `dynamodbav:"version"`
	// Sealed is the key sealed for secrets.PurposeTokenKey.
	Sealed []byte `dynamodbav:"sealed,omitempty"`
	// Key is the key in clear: only in the item of before (sk UNSUBSCRIBE_KEY).
	Key       []byte `dynamodbav:"key,omitempty"`
	CreatedAt string `dynamodbav:"created_at"`
}

// tokenKeySize is the length of an unsubscribe-token key.
const tokenKeySize = 32

// info describes the record's key.
func (r tokenKeyRecord) info() (campaign.TokenKeyInfo, error) {
	created, err := parseTime(r.CreatedAt)
	if err != nil {
		return campaign.TokenKeyInfo{}, fmt.Errorf("token key %d: created_at: %w", r.Version, err)
	}
	return campaign.TokenKeyInfo{Version: r.Version, CreatedAt: created, InClear: len(r.Sealed) == 0}, nil
}

// tokenKeyRecords reads every kept key's item, newest first.
func (s *Store) tokenKeyRecords(ctx context.Context) ([]tokenKeyRecord, error) {
	var u Usage
	var recs []tokenKeyRecord
	err := s.queryItems(ctx, query{pk: pkConfig, prefix: skTokenKey, consistent: true}, &u, func(it map[string]types.AttributeValue) error {
		rec, err := decode[tokenKeyRecord](it)
		if err != nil {
			return err
		}
		if rec.SK == skTokenKey {
			rec.Version = 0 // the clear key of before
		} else if v, err := strconv.Atoi(strings.TrimPrefix(rec.SK, skTokenKey+"#")); err != nil || v != rec.Version {
			return fmt.Errorf("token key item %s: version %d", rec.SK, rec.Version)
		}
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read token keys: %w", err)
	}
	// A clear key of before and its resealed copy (version 0 both) may
	// both be there for a moment: keep one.
	slices.SortFunc(recs, func(a, b tokenKeyRecord) int { return b.Version - a.Version })
	return slices.CompactFunc(recs, func(a, b tokenKeyRecord) bool { return a.Version == b.Version }), nil
}

// TokenKeyVersions describes the kept token keys, newest first, without
// opening them (none before the first is made).
func (s *Store) TokenKeyVersions(ctx context.Context) ([]campaign.TokenKeyInfo, error) {
	recs, err := s.tokenKeyRecords(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]campaign.TokenKeyInfo, 0, len(recs))
	for _, r := range recs {
		info, err := r.info()
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// TokenKeys returns the kept unsubscribe-token keys, opened, newest first.
// The first key (version 1, 32 random bytes) is made on first use; two
// racing callers end with the same key. Each call reads the table: callers
// keep the keys in a campaign.TokenKeyring.
func (s *Store) TokenKeys(ctx context.Context) (campaign.TokenKeys, error) {
	recs, err := s.tokenKeyRecords(ctx)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		// Made here, or by a racing caller first: read the one stored.
		if _, err := s.putTokenKey(ctx, 1); err != nil {
			return nil, err
		}
		if recs, err = s.tokenKeyRecords(ctx); err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			return nil, fmt.Errorf("token keys: none after making the first: %w", ErrContention)
		}
	}
	return s.openTokenKeys(ctx, recs)
}

func (s *Store) openTokenKeys(ctx context.Context, recs []tokenKeyRecord) (campaign.TokenKeys, error) {
	keys := make(campaign.TokenKeys, 0, len(recs))
	for _, r := range recs {
		info, err := r.info()
		if err != nil {
			return nil, err
		}
		key := r.Key
		if len(r.Sealed) > 0 {
			if key, err = s.sealer.Open(ctx, r.Sealed, secrets.PurposeTokenKey, ""); err != nil {
				return nil, fmt.Errorf("token key %d: %w", r.Version, err)
			}
		}
		if len(key) != tokenKeySize {
			return nil, fmt.Errorf("token key %d: %d bytes stored, want %d", r.Version, len(key), tokenKeySize)
		}
		keys = append(keys, campaign.TokenKey{Version: r.Version, Key: key, CreatedAt: info.CreatedAt})
	}
	return keys, nil
}

// putTokenKey makes a new key of the given version, sealed, unless that
// version exists (ok false).
func (s *Store) putTokenKey(ctx context.Context, version int) (bool, error) {
	fresh := make([]byte, tokenKeySize)
	if _, err := rand.Read(fresh); err != nil {
		return false, fmt.Errorf("token key: %w", err)
	}
	sealed, err := s.sealer.Seal(ctx, fresh, secrets.PurposeTokenKey, "")
	if err != nil {
		return false, fmt.Errorf("token key %d: %w", version, err)
	}
	var u Usage
	ok, err := s.putIf(ctx, tokenKeyRecord{
		PK: pkConfig, SK: tokenKeySK(version), Type: "token_key", Version: version, Sealed: sealed, CreatedAt: formatTime(s.now()),
	}, expression.AttributeNotExists(expression.Name(attrPK)), &u)
	if err != nil {
		return false, fmt.Errorf("put token key %d: %w", version, err)
	}
	return ok, nil
}

// RotateTokenKey makes a new token key, one version above the newest:
// senders sign with it once their keyring is read again (within
// campaign.TokenKeyTTL); the older keys keep verifying.
func (s *Store) RotateTokenKey(ctx context.Context) (campaign.TokenKeyInfo, error) {
	for range s.maxAttempts {
		recs, err := s.tokenKeyRecords(ctx)
		if err != nil {
			return campaign.TokenKeyInfo{}, err
		}
		next := 1
		if len(recs) > 0 {
			next = recs[0].Version + 1
		}
		ok, err := s.putTokenKey(ctx, next)
		if err != nil {
			return campaign.TokenKeyInfo{}, err
		}
		if ok {
			infos, err := s.TokenKeyVersions(ctx)
			if err != nil {
				return campaign.TokenKeyInfo{}, err
			}
			for _, in := range infos {
				if in.Version == next {
					return in, nil
				}
			}
			return campaign.TokenKeyInfo{}, fmt.Errorf("token key %d: gone after it was made", next)
		}
	}
	return campaign.TokenKeyInfo{}, fmt.Errorf("rotate token key: %w", ErrContention)
}

// RetireTokenKey deletes the token key of a version, when
// campaign.CheckRetire allows it: the links signed with it stop working
// once the functions read their keys again (within campaign.TokenKeyTTL).
func (s *Store) RetireTokenKey(ctx context.Context, version int, force bool) error {
	recs, err := s.tokenKeyRecords(ctx)
	if err != nil {
		return err
	}
	infos := make([]campaign.TokenKeyInfo, 0, len(recs))
	for _, r := range recs {
		info, err := r.info()
		if err != nil {
			return err
		}
		infos = append(infos, info)
	}
	if err := campaign.CheckRetire(infos, version, s.now(), force); err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Delete: &types.Delete{TableName: aws.String(s.table), Key: itemKey(pkConfig, tokenKeySK(version))}}}
	if version == 0 {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: itemKey(pkConfig, skTokenKey)}})
	}
	if _, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		return fmt.Errorf("retire token key %d: %w", version, err)
	}
	return nil
}

// ResealTokenKey seals the token key stored in clear before keys were
// sealed (sk UNSUBSCRIBE_KEY) into version 0 and deletes the clear item, in
// one transaction. It reports whether there was one to seal.
func (s *Store) ResealTokenKey(ctx context.Context) (bool, error) {
	var u Usage
	old, found, err := getRecord[tokenKeyRecord](ctx, s, itemKey(pkConfig, skTokenKey), true, &u)
	if err != nil {
		return false, fmt.Errorf("get token key: %w", err)
	}
	if !found {
		return false, nil
	}
	if len(old.Key) != tokenKeySize {
		return false, fmt.Errorf("token key 0: %d bytes stored, want %d", len(old.Key), tokenKeySize)
	}
	sealed, err := s.sealer.Seal(ctx, old.Key, secrets.PurposeTokenKey, "")
	if err != nil {
		return false, fmt.Errorf("token key 0: %w", err)
	}
	item, err := attributevalue.MarshalMap(tokenKeyRecord{
		PK: pkConfig, SK: tokenKeySK(0), Type: "token_key", Version: 0, Sealed: sealed, CreatedAt: old.CreatedAt,
	})
	if err != nil {
		return false, fmt.Errorf("encode token key 0: %w", err)
	}
	put, err := s.conditionalPut(item, expression.AttributeNotExists(expression.Name(attrPK)))
	if err != nil {
		return false, err
	}
	cond, err := expression.NewBuilder().WithCondition(expression.Equal(expression.Name("key"), expression.Value(old.Key))).Build()
	if err != nil {
		return false, fmt.Errorf("build condition: %w", err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: put},
		{Delete: &types.Delete{
			TableName: aws.String(s.table), Key: itemKey(pkConfig, skTokenKey),
			ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values(),
		}},
	}})
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		return false, fmt.Errorf("reseal token key 0: changed meanwhile, run it again: %w", ErrContention)
	}
	if err != nil {
		return false, fmt.Errorf("reseal token key 0: %w", err)
	}
	return true, nil
}
