package awskms_test

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/shared/secrets"
	"github.com/winback/winback/shared/secrets/awskms"
)

// counting counts the KMS calls of a client.
type counting struct {
	awskms.Client
	generate, decrypt atomic.Int64
}

func (c *counting) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	c.generate.Add(1)
	return c.Client.GenerateDataKey(ctx, in, opts...)
}

func (c *counting) Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.decrypt.Add(1)
	return c.Client.Decrypt(ctx, in, opts...)
}

func newSealer(t *testing.T, client awskms.Client, keyID string) *secrets.Envelope {
	t.Helper()
	return awskms.New(client, keyID)
}

// TestSealAndOpenWithKMS runs the sealer against the KMS emulator: values
// open for their purpose and shop only (KMS checks the encryption
// context), and only with the key that sealed them.
func TestSealAndOpenWithKMS(t *testing.T) {
	ctx := context.Background()
	client, keyARN := emulator.KMS(t)
	c := &counting{Client: client}
	s := newSealer(t, c, keyARN)
	sealed, err := s.Seal(ctx, []byte("shpss_webhook"), secrets.PurposeWebhookSecret, "shop_a")
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := secrets.KindOf(sealed); !ok || k != secrets.KindKMS {
		t.Fatalf("KindOf = %v, %v", k, ok)
	}
	if bytes.Contains(sealed, []byte("shpss_webhook")) {
		t.Fatal("the sealed value holds the secret")
	}
	cold := newSealer(t, c, keyARN)
	for range 50 {
		got, err := cold.Open(ctx, sealed, secrets.PurposeWebhookSecret, "shop_a")
		if err != nil || string(got) != "shpss_webhook" {
			t.Fatalf("Open = %q, %v", got, err)
		}
	}
	if g, d := c.generate.Load(), c.decrypt.Load(); g != 1 || d != 1 {
		t.Fatalf("one seal and 50 opens cost %d GenerateDataKey and %d Decrypt calls; want 1 and 1", g, d)
	}

	// KMS itself refuses the data key under another context.
	for _, tc := range []struct{ purpose, shop string }{
		{secrets.PurposeWebhookSecret, "shop_b"},
		{secrets.PurposeTokenKey, "shop_a"},
		{secrets.PurposeTokenKey, ""},
	} {
		if _, err := newSealer(t, client, keyARN).Open(ctx, sealed, tc.purpose, tc.shop); !errors.Is(err, secrets.ErrOpen) {
			t.Errorf("Open for %s of %q: %v, want ErrOpen", tc.purpose, tc.shop, err)
		}
	}
	// Another key of the same account does not open it.
	_, otherARN := emulator.KMS(t)
	if _, err := newSealer(t, client, otherARN).Open(ctx, sealed, secrets.PurposeWebhookSecret, "shop_a"); err == nil {
		t.Error("another KMS key opened the value")
	}
	// Nor does the development sealer, nor does KMS open a development value.
	if _, err := secrets.Dev().Open(ctx, sealed, secrets.PurposeWebhookSecret, "shop_a"); !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("the development sealer: %v", err)
	}
	dev, _ := secrets.Dev().Seal(ctx, []byte("x"), secrets.PurposeWebhookSecret, "shop_a")
	if _, err := s.Open(ctx, dev, secrets.PurposeWebhookSecret, "shop_a"); !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("a development value opened with KMS: %v", err)
	}
}
