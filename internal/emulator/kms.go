package emulator

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// kmsLocal is the KMS emulator: github.com/nsmithuk/local-kms, built by
// scripts/stack.sh install-kms (on first use, not by install: make demo
// needs no KMS) and served on 127.0.0.1 by scripts/local-kms.
var kmsLocal = &emulator{
	name:      "local-kms",
	runCmd:    "run-kms",
	installed: ".local/bin/local-kms",
	install:   "install-kms",
	runtime:   "go",
	missing:   "Go is required to build the KMS emulator (scripts/stack.sh install-kms)",
	deadline:  30 * time.Second,
	ready:     kmsReady,
}

// KMS returns a client for this test binary's own KMS emulator, starting
// it on first use, and the ARN of a new symmetric encryption key in it:
// each call makes its own key.
func KMS(tb testing.TB) (client *kms.Client, keyARN string) {
	tb.Helper()
	client = KMSClient(KMSEndpoint(tb))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("winback test key " + tb.Name())})
	if err != nil {
		tb.Fatalf("emulator: create KMS key: %v", err)
	}
	return client, aws.ToString(out.KeyMetadata.Arn)
}

// KMSEndpoint returns the URL of this test binary's own KMS emulator,
// starting it on first use.
func KMSEndpoint(tb testing.TB) string {
	tb.Helper()
	return kmsLocal.endpoint(tb)
}

// KMSClient returns a KMS client for an emulator at endpoint, with dummy
// static credentials. It reads no AWS configuration.
func KMSClient(endpoint string) *kms.Client {
	return kms.New(kms.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  localCredentials(),
	})
}

// kmsReady answers when the KMS emulator serves ListKeys.
func kmsReady(ctx context.Context, endpoint string) error {
	_, err := KMSClient(endpoint).ListKeys(ctx, &kms.ListKeysInput{},
		func(o *kms.Options) { o.RetryMaxAttempts = 1 })
	return err
}
