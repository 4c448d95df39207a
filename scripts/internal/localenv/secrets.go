package localenv

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/shared/secrets"
	"github.com/winback/winback/shared/secrets/awskms"
	"github.com/winback/winback/shared/store"
)

// KMSEndpointVar names the variable with a KMS emulator's URL: the local
// tools then call it instead of AWS KMS for WINBACK_KMS_KEY_ID's key.
const KMSEndpointVar = "KMS_ENDPOINT"

// KMSKeyID is WINBACK_KMS_KEY_ID (the stack's KmsKeyArn output), or "".
func KMSKeyID() string { return os.Getenv(secrets.KeyIDEnv) }

// Sealing says what the local tools seal secrets with, for their output.
func Sealing() string {
	switch {
	case KMSKeyID() != "":
		return "AWS KMS key " + KMSKeyID()
	case Local(DynamoDBEndpoint()):
		return "the development key (local tables only: its key is public)"
	}
	return "nothing: set " + secrets.KeyIDEnv
}

// storeOptions are the store options of the local tools:
//   - WINBACK_KMS_KEY_ID set: secrets are sealed with that KMS key (at
//     KMS_ENDPOINT when it is set, else in AWS);
//   - else, on a local table: with the development key (the store's
//     default), as make demo and the dev server do;
//   - else (a table in AWS): no secret can be written, and saying so names
//     WINBACK_KMS_KEY_ID.
//
// Against a table in AWS, shops are read without their webhook secrets:
// no command needs one, and reading them would need kms:Decrypt.
//
// Recipients written (winback campaign run) expire after
// WINBACK_SEND_RETENTION_DAYS, as the stack's functions are told by its
// sendRetentionDays context (default store.DefaultSendRetention).
func storeOptions(ctx context.Context) ([]store.Option, error) {
	retention, err := store.ParseSendRetention(os.Getenv(store.EnvSendRetentionDays))
	if err != nil {
		return nil, err
	}
	opts := []store.Option{store.WithSendRetention(retention)}
	local := Local(DynamoDBEndpoint())
	if !local {
		opts = append(opts, store.WithoutWebhookSecrets())
	}
	keyID := KMSKeyID()
	switch {
	case keyID != "":
		client, err := kmsClient(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, store.WithSealer(awskms.New(client, keyID)))
	case !local:
		opts = append(opts, store.WithSealer(secrets.Unavailable(fmt.Sprintf(
			"set %s to the stack's KmsKeyArn output to write secrets to a table in AWS", secrets.KeyIDEnv))))
	}
	return opts, nil
}

func kmsClient(ctx context.Context) (*kms.Client, error) {
	if ep := os.Getenv(KMSEndpointVar); ep != "" {
		return emulator.KMSClient(ep), nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return kms.NewFromConfig(cfg), nil
}
