package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/winback/winback/scripts/internal/localenv"
	"github.com/winback/winback/shared/campaign"
)

// secretsHelp is the -h text of "winback secrets".
const secretsHelp = `Shops' webhook secrets and the unsubscribe-token keys are stored sealed: each
under its own data key, which the stack's KMS key encrypts (WINBACK_KMS_KEY_ID,
the stack's KmsKeyArn output; on a local table the development key, whose
value is public).

The newest token key signs new unsubscribe links; every kept key verifies,
so rotating never breaks the link of an e-mail already sent. Retiring a key
breaks the links it signed.
`

// tokenKeyJSON is a kept token key, as the secrets commands print it.
type tokenKeyJSON struct {
	Version   int    `json:"version"`
	CreatedAt string `json:"created_at"`
	// Signs is true for the newest key, which signs new links.
	Signs bool `json:"signs_new_links"`
	// InClear is true for a key stored before keys were sealed.
	InClear bool `json:"in_clear,omitempty"`
}

// until is t + d rounded up to the second, in RFC 3339.
func until(t time.Time, d time.Duration) string {
	t = t.Add(d)
	if r := t.Truncate(time.Second); !r.Equal(t) {
		t = r.Add(time.Second)
	}
	return t.UTC().Format(time.RFC3339)
}

func tokenKeysJSON(infos []campaign.TokenKeyInfo) []tokenKeyJSON {
	out := make([]tokenKeyJSON, len(infos))
	for i, k := range infos {
		out[i] = tokenKeyJSON{Version: k.Version, CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339), Signs: i == 0, InClear: k.InClear}
	}
	return out
}

// tokenKeysCommand is "winback secrets token-keys".
func tokenKeysCommand(*flag.FlagSet) action {
	return func(ctx context.Context, stdout io.Writer) error {
		st, err := localenv.Store(ctx)
		if err != nil {
			return err
		}
		infos, err := st.TokenKeyVersions(ctx)
		if err != nil {
			return err
		}
		note := "the newest key signs new unsubscribe links; every key listed verifies them"
		if len(infos) == 0 {
			note = "no key yet: the first is made when the first e-mail is sent or the first link is opened"
		}
		for _, k := range infos {
			if k.InClear {
				note += fmt.Sprintf("; key %d is stored in clear: run 'winback secrets reseal'", k.Version)
			}
		}
		return writeJSON(stdout, struct {
			Keys []tokenKeyJSON `json:"keys"`
			Note string         `json:"note"`
		}{tokenKeysJSON(infos), note})
	}
}

// rotateTokenKeyCommand is "winback secrets rotate-token-key".
func rotateTokenKeyCommand(*flag.FlagSet) action {
	return func(ctx context.Context, stdout io.Writer) error {
		st, err := localenv.Store(ctx)
		if err != nil {
			return err
		}
		k, err := st.RotateTokenKey(ctx)
		if err != nil {
			return err
		}
		infos, err := st.TokenKeyVersions(ctx)
		if err != nil {
			return err
		}
		ttl := ttlText(campaign.TokenKeyTTL)
		return writeJSON(stdout, struct {
			Version    int            `json:"version"`
			SealedWith string         `json:"sealed_with"`
			SignsBy    string         `json:"signs_new_links_by"`
			Keys       []tokenKeyJSON `json:"keys"`
			Note       string         `json:"note"`
		}{
			Version: k.Version, SealedWith: localenv.Sealing(), SignsBy: until(k.CreatedAt, campaign.TokenKeyTTL),
			Keys: tokenKeysJSON(infos),
			Note: fmt.Sprintf("send functions sign new unsubscribe links with key %d once their keys are read again, "+
				"within %s (signs_new_links_by); links already sent keep working: their keys are kept until you retire them "+
				"('winback secrets retire-token-key --version N', possible %s after this rotation)", k.Version, ttl, ttl),
		})
	}
}

// retireTokenKeyCommand is "winback secrets retire-token-key".
func retireTokenKeyCommand(fs *flag.FlagSet) action {
	version := fs.Int("version", -1, "the version of the key to retire, as 'winback secrets token-keys' lists it (required)")
	force := fs.Bool("force", false, fmt.Sprintf("retire a key even if it was replaced less than %s ago (send functions may still sign links with it: those links will not work)",
		ttlText(campaign.TokenKeyTTL)))
	return func(ctx context.Context, stdout io.Writer) error {
		if *version < 0 {
			return usageErrorf("--version is required")
		}
		st, err := localenv.Store(ctx)
		if err != nil {
			return err
		}
		err = st.RetireTokenKey(ctx, *version, *force)
		if errors.Is(err, campaign.ErrKeyInUse) {
			return fmt.Errorf("%w: wait until then, or pass --force (the links signed with it meanwhile will not work)", err)
		}
		if err != nil {
			return err
		}
		infos, err := st.TokenKeyVersions(ctx)
		if err != nil {
			return err
		}
		ttl := ttlText(campaign.TokenKeyTTL)
		return writeJSON(stdout, struct {
			Retired      int            `json:"retired_version"`
			RefusedAfter string         `json:"links_refused_by"`
			Keys         []tokenKeyJSON `json:"keys"`
			Note         string         `json:"note"`
		}{
			Retired: *version, RefusedAfter: until(time.Now(), campaign.TokenKeyTTL), Keys: tokenKeysJSON(infos),
			Note: fmt.Sprintf("key %d is deleted for good: the unsubscribe links it signed are refused (400, 'invalid unsubscribe link') "+
				"by every api function once its keys are read again, within %s (links_refused_by)", *version, ttl),
		})
	}
}

// resealCommand is "winback secrets reseal".
func resealCommand(*flag.FlagSet) action {
	return func(ctx context.Context, stdout io.Writer) error {
		st, err := localenv.Store(ctx)
		if err != nil {
			return err
		}
		shops, resealed, err := st.ResealWebhookSecrets(ctx)
		if err != nil {
			return err
		}
		tokenKey, err := st.ResealTokenKey(ctx)
		if err != nil {
			return err
		}
		return writeJSON(stdout, struct {
			Shops            int    `json:"shops"`
			WebhookResealed  int    `json:"webhook_secrets_resealed"`
			TokenKeyResealed bool   `json:"token_key_resealed"`
			SealedWith       string `json:"sealed_with"`
			Note             string `json:"note"`
		}{
			Shops: shops, WebhookResealed: resealed, TokenKeyResealed: tokenKey, SealedWith: localenv.Sealing(),
			Note: "every secret stored in clear is now sealed and its clear copy removed; nothing changes for webhooks " +
				"or unsubscribe links (the same secrets, the same keys); running it again does nothing",
		})
	}
}
