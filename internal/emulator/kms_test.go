package emulator_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/winback/winback/internal/emulator"
)

// TestKMS: the KMS emulator starts on loopback, each call makes its own
// key, and a key encrypts and decrypts under an encryption context.
func TestKMS(t *testing.T) {
	ctx := context.Background()
	client, a := emulator.KMS(t)
	_, b := emulator.KMS(t)
	if a == b || !strings.HasPrefix(a, "arn:aws:kms:") {
		t.Fatalf("keys %q and %q", a, b)
	}
	if ep := emulator.KMSEndpoint(t); !strings.HasPrefix(ep, "http://127.0.0.1:") {
		t.Fatalf("endpoint %q is not on loopback", ep)
	}
	ec := map[string]string{"purpose": "test"}
	enc, err := client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(a), Plaintext: []byte("hello"), EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := client.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(a), CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	if err != nil || !bytes.Equal(dec.Plaintext, []byte("hello")) {
		t.Fatalf("decrypt: %q, %v", dec.Plaintext, err)
	}
	if _, err := client.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(a), CiphertextBlob: enc.CiphertextBlob,
		EncryptionContext: map[string]string{"purpose": "other"}}); err == nil {
		t.Fatal("decrypted under another encryption context")
	}
}
