package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/shop"
)

// winback runs the CLI and decodes what it printed into out (nil: not
// decoded); it fails the test on an error.
func winback(t *testing.T, out any, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(args, &stdout, &stderr); err != nil {
		t.Fatalf("winback %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if out != nil {
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
			t.Fatalf("winback %s printed %q: %v", strings.Join(args, " "), stdout.String(), err)
		}
	}
	return stdout.String()
}

// winbackFails runs the CLI, which must fail, and returns what it printed
// and its error.
func winbackFails(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(args, &out, &errOut)
	if err == nil {
		t.Fatalf("winback %s succeeded: %s", strings.Join(args, " "), out.String())
	}
	return out.String(), errOut.String(), err
}

func secretOf(t *testing.T, key string) string {
	t.Helper()
	_, secret, err := shop.SplitKey(key)
	if err != nil {
		t.Fatalf("SplitKey(%q): %v", key, err)
	}
	return secret
}

// TestAPIKeyCommands drives list, create, revoke and rotate against
// DynamoDB Local, and checks with the API's authenticator (its clock
// moved by hand) what each key does afterwards.
func TestAPIKeyCommands(t *testing.T) {
	t.Setenv("DYNAMODB_ENDPOINT", emulator.DynamoDBEndpoint(t))
	t.Setenv("WINBACK_TABLE", fmt.Sprintf("apikey-cli-%d", time.Now().UnixNano()))
	ctx := context.Background()

	var acme, other newShopJSON
	winback(t, &acme, "shop", "create", "--name", "Acme")
	winback(t, &other, "shop", "create", "--name", "Other")
	st, err := localenv.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	firstID, _, _ := shop.SplitKey(acme.APIKey)

	// list: the shop's first key, without its secret.
	var list keyListJSON
	printed := winback(t, &list, "apikey", "list", "--shop", acme.ShopID)
	if len(list.Keys) != 1 || list.Keys[0].KeyID != firstID || list.Keys[0].Label != shop.FirstKeyLabel || list.ShopID != acme.ShopID {
		t.Fatalf("a new shop's keys: %+v; want its first key %s", list, firstID)
	}
	if strings.Contains(printed, secretOf(t, acme.APIKey)) {
		t.Fatal("apikey list printed a secret")
	}

	// create: a second key, printed once, that authenticates the shop.
	var created newKeyJSON
	winback(t, &created, "apikey", "create", "--shop", acme.ShopID, "--label", "zapier")
	if created.ShopID != acme.ShopID || created.Label != "zapier" || !strings.HasPrefix(created.APIKey, "wbk_"+created.KeyID+"_") {
		t.Fatalf("apikey create printed %+v", created)
	}
	t0 := time.Now()
	now := t0
	warm := httpapi.NewAuth(st)
	warm.SetClock(func() time.Time { return now })
	if sh, err := warm.ShopForKey(ctx, created.APIKey); err != nil || sh.ID != acme.ShopID {
		t.Fatalf("the created key authenticates %v, %v; want %s", sh.ID, err, acme.ShopID)
	}
	printed = winback(t, &list, "apikey", "list", "--shop", acme.ShopID)
	if len(list.Keys) != 2 || list.Keys[1].KeyID != created.KeyID || list.Keys[1].Label != "zapier" {
		t.Errorf("keys after create: %+v", list.Keys)
	}
	if strings.Contains(printed, secretOf(t, created.APIKey)) || strings.Contains(printed, "api_key") {
		t.Error("apikey list printed a secret")
	}

	// revoke: stated window; the warm authenticator that verified the key
	// accepts it until KeyTTL after, a cold one refuses it at once.
	before := time.Now()
	var revoked revokedJSON
	winback(t, &revoked, "apikey", "revoke", "--shop", acme.ShopID, "--key-id", created.KeyID)
	after := time.Now()
	until, err := time.Parse(time.RFC3339, revoked.AcceptedUntil)
	if err != nil || until.Before(before.Add(httpapi.KeyTTL).Truncate(time.Second)) || until.After(after.Add(httpapi.KeyTTL+time.Second)) {
		t.Errorf("old_key_accepted_until %q (%v): want the revocation time + KeyTTL (%s)", revoked.AcceptedUntil, err, httpapi.KeyTTL)
	}
	if revoked.RevokedKeyID != created.KeyID || revoked.KeysLeft != 1 || !strings.Contains(revoked.Note, "at most 1 minute from now") {
		t.Errorf("apikey revoke printed %+v", revoked)
	}
	if _, err := httpapi.NewAuth(st).ShopForKey(ctx, created.APIKey); !errors.Is(err, shop.ErrBadKey) {
		t.Errorf("a cold instance after revoke: %v, want shop.ErrBadKey", err)
	}
	now = t0.Add(httpapi.KeyTTL - time.Second)
	if _, err := warm.ShopForKey(ctx, created.APIKey); err != nil {
		t.Errorf("the warm instance within KeyTTL of verifying the key: %v, want it still accepted", err)
	}
	now = t0.Add(httpapi.KeyTTL)
	if _, err := warm.ShopForKey(ctx, created.APIKey); !errors.Is(err, shop.ErrBadKey) {
		t.Errorf("the warm instance KeyTTL after verifying the key: %v, want shop.ErrBadKey", err)
	}

	// Another shop's key cannot be revoked or rotated through this shop.
	otherID, _, _ := shop.SplitKey(other.APIKey)
	for _, cmd := range []string{"revoke", "rotate"} {
		stdout, _, err := winbackFails(t, "apikey", cmd, "--shop", acme.ShopID, "--key-id", otherID)
		if !errors.Is(err, shop.ErrNotFound) || stdout != "" {
			t.Errorf("apikey %s of another shop's key: %v, printed %q; want not found and nothing printed", cmd, err, stdout)
		}
	}
	if sh, err := httpapi.NewAuth(st).ShopForKey(ctx, other.APIKey); err != nil || sh.ID != other.ShopID {
		t.Errorf("the other shop's key after the attempts: %v %v", sh.ID, err)
	}
	winback(t, &list, "apikey", "list", "--shop", acme.ShopID)
	if len(list.Keys) != 1 {
		t.Errorf("a refused rotate created a key: %+v", list.Keys)
	}

	// rotate: a new key with the old one's label; the old one revoked.
	var rotated rotatedJSON
	winback(t, &rotated, "apikey", "rotate", "--shop", acme.ShopID, "--key-id", firstID)
	if rotated.RevokedKeyID != firstID || rotated.Label != shop.FirstKeyLabel || rotated.KeyID == firstID ||
		rotated.AcceptedUntil == "" || !strings.Contains(rotated.Note, "at most 1 minute") {
		t.Errorf("apikey rotate printed %+v", rotated)
	}
	cold := httpapi.NewAuth(st)
	if sh, err := cold.ShopForKey(ctx, rotated.APIKey); err != nil || sh.ID != acme.ShopID {
		t.Errorf("the rotated key: %v %v", sh.ID, err)
	}
	if _, err := cold.ShopForKey(ctx, acme.APIKey); !errors.Is(err, shop.ErrBadKey) {
		t.Errorf("the key rotated away: %v, want shop.ErrBadKey", err)
	}
	winback(t, &list, "apikey", "list", "--shop", acme.ShopID)
	if len(list.Keys) != 1 || list.Keys[0].KeyID != rotated.KeyID {
		t.Errorf("keys after rotate: %+v; want only %s", list.Keys, rotated.KeyID)
	}
	winback(t, &rotated, "apikey", "rotate", "--shop", acme.ShopID, "--key-id", rotated.KeyID, "--label", "renamed")
	if rotated.Label != "renamed" {
		t.Errorf("rotate --label: %+v", rotated)
	}

	// Revoking the last key says so.
	winback(t, &revoked, "apikey", "revoke", "--shop", acme.ShopID, "--key-id", rotated.KeyID)
	if revoked.KeysLeft != 0 || !strings.Contains(revoked.Note, "no API key left") {
		t.Errorf("revoking the last key: %+v", revoked)
	}
	if _, _, err := winbackFails(t, "apikey", "list", "--shop", "shop_nosuch"); !errors.Is(err, shop.ErrNotFound) {
		t.Errorf("list of an unknown shop: %v", err)
	}
}

func TestAPIKeyCommandMistakes(t *testing.T) {
	whole := shop.NewCredentials().APIKey
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"apikey", "list"}, "--shop is required"},
		{[]string{"apikey", "create"}, "--shop is required"},
		{[]string{"apikey", "create", "--shop", "s", "--label", strings.Repeat("x", shop.MaxLabel+1)}, "--label"},
		{[]string{"apikey", "revoke", "--shop", "s"}, "--key-id are required"},
		{[]string{"apikey", "revoke", "--shop", "s", "--key-id", whole}, "not the whole key"},
		{[]string{"apikey", "rotate", "--shop", "s", "--key-id", "short"}, "not a key id"},
		{[]string{"apikey", "rotate", "--shop", "s", "--key-id", "abcdabcdabcdabcd", "--label", "a\tb"}, "--label"},
	}
	for _, tt := range tests {
		stdout, stderr, err := winbackFails(t, tt.args...)
		if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(stderr, "usage: winback apikey") || stdout != "" {
			t.Errorf("winback %q: %v, stderr %q; want a usage error about %s", tt.args, err, stderr, tt.wantErr)
		}
		if strings.Contains(err.Error()+stderr, secretOf(t, whole)) {
			t.Errorf("winback %q repeated the secret it was given", tt.args)
		}
	}
	var out bytes.Buffer
	if err := run([]string{"apikey", "revoke", "-h"}, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "at most 1 minute after the revocation") {
		t.Errorf("apikey revoke -h does not state the window: %v\n%s", err, out.String())
	}
}
