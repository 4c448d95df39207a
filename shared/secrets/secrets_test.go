package secrets

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingKeys counts the calls to the development key's keeper.
type countingKeys struct {
	devKeys
	generated, decrypted atomic.Int64
}

func (c *countingKeys) GenerateDataKey(ctx context.Context, ec map[string]string) ([]byte, []byte, error) {
	c.generated.Add(1)
	return c.devKeys.GenerateDataKey(ctx, ec)
}

func (c *countingKeys) DecryptDataKey(ctx context.Context, encrypted []byte, ec map[string]string) ([]byte, error) {
	c.decrypted.Add(1)
	return c.devKeys.DecryptDataKey(ctx, encrypted, ec)
}

func TestDevRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := Dev()
	for _, tc := range []struct{ plain, purpose, shop string }{
		{"shpss_0123456789", PurposeWebhookSecret, "shop_abc"},
		{strings.Repeat("k", 32), PurposeTokenKey, ""},
		{"", PurposeWebhookSecret, "shop_abc"},
	} {
		a, err := s.Seal(ctx, []byte(tc.plain), tc.purpose, tc.shop)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.Seal(ctx, []byte(tc.plain), tc.purpose, tc.shop)
		if bytes.Equal(a, b) {
			t.Error("sealing twice gave the same value")
		}
		if tc.plain != "" && bytes.Contains(a, []byte(tc.plain)) {
			t.Error("the sealed value holds the plaintext")
		}
		if k, ok := KindOf(a); !ok || k != KindDev {
			t.Errorf("KindOf = %v, %v", k, ok)
		}
		// A fresh sealer (nothing cached) opens it too.
		got, err := Dev().Open(ctx, a, tc.purpose, tc.shop)
		if err != nil || string(got) != tc.plain {
			t.Fatalf("Open = %q, %v; want %q", got, err, tc.plain)
		}
	}
}

func TestBoundToPurposeAndShop(t *testing.T) {
	ctx := context.Background()
	sealed, err := Dev().Seal(ctx, []byte("secret"), PurposeWebhookSecret, "shop_a")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Envelope{Dev(), nil} {
		for _, tc := range []struct{ purpose, shop string }{
			{PurposeWebhookSecret, "shop_b"},
			{PurposeWebhookSecret, ""},
			{PurposeTokenKey, "shop_a"},
			{PurposeTokenKey, ""},
		} {
			opener := s
			if opener == nil { // the sealer that sealed it, with the data key cached
				opener = Dev()
				sealed, _ = opener.Seal(ctx, []byte("secret"), PurposeWebhookSecret, "shop_a")
			}
			if _, err := opener.Open(ctx, sealed, tc.purpose, tc.shop); !errors.Is(err, ErrOpen) {
				t.Errorf("Open for %s of %q: %v, want ErrOpen", tc.purpose, tc.shop, err)
			}
		}
	}
}

func TestTamperedValuesDoNotOpen(t *testing.T) {
	ctx := context.Background()
	s := Dev()
	sealed, err := s.Seal(ctx, []byte("shpss_secret"), PurposeWebhookSecret, "shop_a")
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		for _, opener := range []*Envelope{s, Dev()} {
			bad := bytes.Clone(sealed)
			bad[i] ^= 0x01
			if got, err := opener.Open(ctx, bad, PurposeWebhookSecret, "shop_a"); err == nil {
				t.Fatalf("byte %d altered: opened to %q", i, got)
			}
		}
	}
	for n := 0; n < len(sealed); n++ {
		if _, err := Dev().Open(ctx, sealed[:n], PurposeWebhookSecret, "shop_a"); !errors.Is(err, ErrOpen) {
			t.Fatalf("truncated to %d bytes: %v, want ErrOpen", n, err)
		}
	}
	if _, err := Dev().Open(ctx, append(bytes.Clone(sealed), 0), PurposeWebhookSecret, "shop_a"); !errors.Is(err, ErrOpen) {
		t.Fatalf("extended: %v, want ErrOpen", err)
	}
}

func TestOtherKindIsRefused(t *testing.T) {
	ctx := context.Background()
	sealed, err := Dev().Seal(ctx, []byte("secret"), PurposeTokenKey, "")
	if err != nil {
		t.Fatal(err)
	}
	keys := &countingKeys{}
	kmsLike := NewEnvelope(KindKMS, keys)
	_, err = kmsLike.Open(ctx, sealed, PurposeTokenKey, "")
	if !errors.Is(err, ErrOpen) || !strings.Contains(err.Error(), "development key") {
		t.Fatalf("a development value opened by a KMS sealer: %v", err)
	}
	if keys.decrypted.Load() != 0 {
		t.Error("the keeper was asked to decrypt a value of another kind")
	}
}

func TestDataKeysAreCached(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	keys := &countingKeys{}
	s := NewEnvelope(KindDev, keys)
	s.SetClock(func() time.Time { return now })
	sealed, err := s.Seal(ctx, []byte("secret"), PurposeWebhookSecret, "shop_a")
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err := s.Open(ctx, sealed, PurposeWebhookSecret, "shop_a"); err != nil {
			t.Fatal(err)
		}
	}
	if g, d := keys.generated.Load(), keys.decrypted.Load(); g != 1 || d != 0 {
		t.Fatalf("seal and 100 opens: %d generated, %d decrypted; want 1 and 0", g, d)
	}

	cold := NewEnvelope(KindDev, keys)
	cold.SetClock(func() time.Time { return now })
	for range 100 {
		if _, err := cold.Open(ctx, sealed, PurposeWebhookSecret, "shop_a"); err != nil {
			t.Fatal(err)
		}
	}
	if d := keys.decrypted.Load(); d != 1 {
		t.Fatalf("100 opens by a cold sealer: %d decrypts, want 1", d)
	}
	now = now.Add(DataKeyTTL - time.Nanosecond)
	_, _ = cold.Open(ctx, sealed, PurposeWebhookSecret, "shop_a")
	if d := keys.decrypted.Load(); d != 1 {
		t.Fatalf("just before DataKeyTTL: %d decrypts, want 1", d)
	}
	now = now.Add(time.Nanosecond)
	_, _ = cold.Open(ctx, sealed, PurposeWebhookSecret, "shop_a")
	if d := keys.decrypted.Load(); d != 2 {
		t.Fatalf("after DataKeyTTL: %d decrypts, want 2", d)
	}
	// The cached key is the one of shop_a: another shop asks the keeper,
	// which refuses.
	if _, err := cold.Open(ctx, sealed, PurposeWebhookSecret, "shop_b"); !errors.Is(err, ErrOpen) {
		t.Fatalf("another shop: %v", err)
	}
	if d := keys.decrypted.Load(); d != 3 {
		t.Fatalf("another shop's open: %d decrypts, want 3", d)
	}
}

func TestCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	s := Dev()
	for i := range maxCachedKeys + 10 {
		if _, err := s.Seal(ctx, []byte{byte(i)}, PurposeWebhookSecret, "shop_a"); err != nil {
			t.Fatal(err)
		}
		if n := len(s.cache); n > maxCachedKeys {
			t.Fatalf("%d keys cached, at most %d", n, maxCachedKeys)
		}
	}
}

func TestSealRefusesWhatIsNoSecret(t *testing.T) {
	ctx := context.Background()
	if _, err := Dev().Seal(ctx, make([]byte, MaxPlaintext+1), PurposeWebhookSecret, "shop_a"); err == nil {
		t.Error("sealed more than MaxPlaintext")
	}
	if _, err := Dev().Seal(ctx, []byte("x"), "", "shop_a"); err == nil {
		t.Error("sealed without a purpose")
	}
}

func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	u := Unavailable("set WINBACK_KMS_KEY_ID")
	if _, err := u.Seal(ctx, []byte("x"), PurposeTokenKey, ""); !errors.Is(err, ErrNoSealer) || !strings.Contains(err.Error(), "WINBACK_KMS_KEY_ID") {
		t.Errorf("Seal: %v", err)
	}
	if _, err := u.Open(ctx, []byte("x"), PurposeTokenKey, ""); !errors.Is(err, ErrNoSealer) {
		t.Errorf("Open: %v", err)
	}
}
