package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/httpapi"
	"github.com/winback/winback/shared/shop"
)

// keyStore is what the apikey commands use of the store.
type keyStore interface {
	CreateAPIKey(ctx context.Context, shopID, label string) (apiKey string, info shop.KeyInfo, err error)
	ListAPIKeys(ctx context.Context, shopID string) ([]shop.KeyInfo, error)
	RevokeAPIKey(ctx context.Context, shopID, keyID string) error
	APIKey(ctx context.Context, keyID string) (shopID, secretHash string, err error)
}

// keyJSON is one key as the apikey commands print it: never its secret.
type keyJSON struct {
	KeyID     string `json:"key_id"`
	Label     string `json:"label"`
	CreatedAt string `json:"created_at"`
}

func toKeyJSON(k shop.KeyInfo) keyJSON {
	return keyJSON{KeyID: k.KeyID, Label: k.Label, CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339)}
}

// keyListJSON is what "winback apikey list" prints.
type keyListJSON struct {
	ShopID string    `json:"shop_id"`
	Keys   []keyJSON `json:"keys"`
}

// newKeyJSON is what "winback apikey create" prints, the key's only showing.
type newKeyJSON struct {
	ShopID string `json:"shop_id"`
	APIKey string `json:"api_key"`
	keyJSON
}

// revokedJSON is what "winback apikey revoke" prints.
type revokedJSON struct {
	ShopID       string `json:"shop_id"`
	RevokedKeyID string `json:"revoked_key_id"`
	// AcceptedUntil is the latest time a warm API function may still
	// accept the revoked key: now + httpapi.KeyTTL.
	AcceptedUntil string `json:"old_key_accepted_until"`
	KeysLeft      int    `json:"keys_left"`
	Note          string `json:"note"`
}

// rotatedJSON is what "winback apikey rotate" prints: the new key, once,
// and what became of the old one.
type rotatedJSON struct {
	ShopID string `json:"shop_id"`
	APIKey string `json:"api_key"`
	keyJSON
	RevokedKeyID  string `json:"revoked_key_id,omitempty"`
	AcceptedUntil string `json:"old_key_accepted_until,omitempty"`
	Note          string `json:"note"`
}

// ttlText says a cache time in words ("1 minute").
func ttlText(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "1 minute"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%d seconds", d/time.Second)
	}
	return d.String()
}

// revocationNote is the revocation window, stated by revoke and rotate.
func revocationNote(keyID string) string {
	ttl := ttlText(httpapi.KeyTTL)
	return fmt.Sprintf("key %s is deleted; API instances that verified it in the last %s keep accepting it "+
		"until their cache of it expires, at most %s from now (old_key_accepted_until); "+
		"all others refuse it already (401)", keyID, ttl, ttl)
}

// acceptedUntil is the latest time an API instance may accept a key
// revoked at revokedAt: KeyTTL later, rounded up to the second.
func acceptedUntil(revokedAt time.Time) string {
	t := revokedAt.Add(httpapi.KeyTTL)
	if r := t.Truncate(time.Second); !r.Equal(t) {
		t = r.Add(time.Second)
	}
	return t.UTC().Format(time.RFC3339)
}

const keyIDHelp = "the 16 characters between \"wbk_\" and the next \"_\", as 'winback apikey list' shows them"

// checkKeyID refuses a --key-id that is a whole key (a secret has no place
// in a shell history) or not a key id at all.
func checkKeyID(id string) error {
	if strings.HasPrefix(id, "wbk_") {
		return usageErrorf("--key-id takes the key's id, not the whole key: the 16 characters after \"wbk_\"")
	}
	if len(id) != 16 {
		return usageErrorf("--key-id %q is not a key id: want %s", id, keyIDHelp)
	}
	return nil
}

// openKeys opens the store the apikey commands work on (localenv: DynamoDB
// Local, or the table of an AWS account with DYNAMODB_ENDPOINT="").
func openKeys(ctx context.Context) (keyStore, error) { return localenv.Store(ctx) }

// apiKeyListCommand is "winback apikey list".
func apiKeyListCommand(fs *flag.FlagSet) action {
	shopID := fs.String("shop", "", "the shop's id (required)")
	return func(ctx context.Context, stdout io.Writer) error {
		if *shopID == "" {
			return usageErrorf("--shop is required")
		}
		st, err := openKeys(ctx)
		if err != nil {
			return err
		}
		keys, err := st.ListAPIKeys(ctx, *shopID)
		if err != nil {
			return err
		}
		out := keyListJSON{ShopID: *shopID, Keys: []keyJSON{}}
		for _, k := range keys {
			out.Keys = append(out.Keys, toKeyJSON(k))
		}
		return writeJSON(stdout, out)
	}
}

// apiKeyCreateCommand is "winback apikey create".
func apiKeyCreateCommand(fs *flag.FlagSet) action {
	shopID := fs.String("shop", "", "the shop's id (required)")
	label := fs.String("label", "", fmt.Sprintf("what the key is for, shown by 'apikey list' (at most %d characters)", shop.MaxLabel))
	return func(ctx context.Context, stdout io.Writer) error {
		if *shopID == "" {
			return usageErrorf("--shop is required")
		}
		if err := shop.CheckLabel(*label); err != nil {
			return usageErrorf("--label: %v", err)
		}
		st, err := openKeys(ctx)
		if err != nil {
			return err
		}
		key, info, err := st.CreateAPIKey(ctx, *shopID, *label)
		if err != nil {
			return err
		}
		return writeJSON(stdout, newKeyJSON{ShopID: *shopID, APIKey: key, keyJSON: toKeyJSON(info)})
	}
}

// apiKeyRevokeCommand is "winback apikey revoke".
func apiKeyRevokeCommand(fs *flag.FlagSet) action {
	shopID := fs.String("shop", "", "the shop's id (required)")
	keyID := fs.String("key-id", "", "the id of the key to revoke: "+keyIDHelp+" (required)")
	return func(ctx context.Context, stdout io.Writer) error {
		if *shopID == "" || *keyID == "" {
			return usageErrorf("--shop and --key-id are required")
		}
		if err := checkKeyID(*keyID); err != nil {
			return err
		}
		st, err := openKeys(ctx)
		if err != nil {
			return err
		}
		out, err := revokeKey(ctx, st, *shopID, *keyID, time.Now)
		if err != nil {
			return err
		}
		return writeJSON(stdout, out)
	}
}

// revokeKey revokes a shop's key and says until when it may still be
// accepted (read on the clock now once it is revoked) and what is left.
func revokeKey(ctx context.Context, st keyStore, shopID, keyID string, now func() time.Time) (revokedJSON, error) {
	if err := st.RevokeAPIKey(ctx, shopID, keyID); err != nil {
		return revokedJSON{}, err
	}
	out := revokedJSON{
		ShopID: shopID, RevokedKeyID: keyID,
		AcceptedUntil: acceptedUntil(now()),
		Note:          revocationNote(keyID),
	}
	left, err := st.ListAPIKeys(ctx, shopID)
	if err != nil {
		return revokedJSON{}, fmt.Errorf("key %s is revoked, but listing the keys left failed: %w", keyID, err)
	}
	out.KeysLeft = len(left)
	if len(left) == 0 {
		out.Note += fmt.Sprintf("; the shop has no API key left: create one with 'winback apikey create --shop %s'", shopID)
	}
	return out, nil
}

// apiKeyRotateCommand is "winback apikey rotate".
func apiKeyRotateCommand(fs *flag.FlagSet) action {
	shopID := fs.String("shop", "", "the shop's id (required)")
	keyID := fs.String("key-id", "", "the id of the key to replace: "+keyIDHelp+" (required)")
	label := fs.String("label", "", "the new key's label (default: the old key's)")
	return func(ctx context.Context, stdout io.Writer) error {
		if *shopID == "" || *keyID == "" {
			return usageErrorf("--shop and --key-id are required")
		}
		if err := checkKeyID(*keyID); err != nil {
			return err
		}
		if err := shop.CheckLabel(*label); err != nil {
			return usageErrorf("--label: %v", err)
		}
		st, err := openKeys(ctx)
		if err != nil {
			return err
		}
		return rotateKey(ctx, st, *shopID, *keyID, *label, stdout, time.Now)
	}
}

// rotateKey replaces a shop's key: it checks that the old key is the
// shop's, creates the new one, prints it, and revokes the old one. The new
// key is printed even when the revocation fails, so that it is not lost.
func rotateKey(ctx context.Context, st keyStore, shopID, oldID, label string, stdout io.Writer, now func() time.Time) error {
	owner, _, err := st.APIKey(ctx, oldID)
	if errors.Is(err, shop.ErrNotFound) || (err == nil && owner != shopID) {
		return fmt.Errorf("api key %s of shop %s: %w", oldID, shopID, shop.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if label == "" {
		keys, err := st.ListAPIKeys(ctx, shopID)
		if err != nil {
			return err
		}
		label = "rotated from " + oldID // a key from before the shops' key lists
		for _, k := range keys {
			if k.KeyID == oldID {
				label = k.Label
			}
		}
	}
	key, info, err := st.CreateAPIKey(ctx, shopID, label)
	if err != nil {
		return err
	}
	out := rotatedJSON{ShopID: shopID, APIKey: key, keyJSON: toKeyJSON(info)}
	if err := st.RevokeAPIKey(ctx, shopID, oldID); err != nil {
		out.Note = fmt.Sprintf("the new key works; the old key %s was NOT revoked and works too: "+
			"revoke it with 'winback apikey revoke --shop %s --key-id %s'", oldID, shopID, oldID)
		if perr := writeJSON(stdout, out); perr != nil {
			return perr
		}
		return fmt.Errorf("revoke the old key %s: %w", oldID, err)
	}
	out.RevokedKeyID = oldID
	out.AcceptedUntil = acceptedUntil(now())
	out.Note = "the new key works now; " + revocationNote(oldID)
	return writeJSON(stdout, out)
}

// apiKeyHelp is the apikey commands' help: the revocation window.
var apiKeyHelp = fmt.Sprintf(`An API key is wbk_<key id>_<secret>; only the key id and a hash of the secret are stored,
so a key is shown once, when it is created. A revoked key is refused at once by every API
instance that has not verified it in the last %[1]s; one that has keeps accepting it until
its cache of the key expires, at most %[1]s after the revocation (httpapi.KeyTTL).
To replace a key without downtime: create a new one, switch your integration to it, then
revoke the old one. rotate does both at once, for a key that leaked.
`, ttlText(httpapi.KeyTTL))

// apiKeyRevokeSummary is revoke's line in the usage: with the window.
var apiKeyRevokeSummary = fmt.Sprintf("revoke one of the shop's API keys (API instances that verified it may accept it for up to %s more)",
	ttlText(httpapi.KeyTTL))
