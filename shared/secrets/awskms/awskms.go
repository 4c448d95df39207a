// Package awskms is the functions' Sealer: secrets.Envelope with data keys
// generated and decrypted by the stack's AWS KMS key (GenerateDataKey
// AES_256 and Decrypt, with the encryption context that binds each value to
// its purpose and shop).
package awskms

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/winback/winback/shared/secrets"
)

// Client is the part of the KMS client the sealer uses.
type Client interface {
	GenerateDataKey(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

var _ Client = (*kms.Client)(nil)

// New returns a Sealer whose data keys come from the KMS key keyID (an id,
// ARN, alias name or alias ARN). The functions read keyID from
// secrets.KeyIDEnv with lambdaenv.Must, so that none starts without it.
func New(client Client, keyID string) *secrets.Envelope {
	return secrets.NewEnvelope(secrets.KindKMS, DataKeys{Client: client, KeyID: keyID})
}

// DataKeys makes and decrypts data keys with one KMS key.
type DataKeys struct {
	Client Client
	KeyID  string
}

var _ secrets.DataKeys = DataKeys{}

// GenerateDataKey asks KMS for a 256-bit data key bound to the encryption context.
func (d DataKeys) GenerateDataKey(ctx context.Context, ec map[string]string) (plaintext, encrypted []byte, err error) {
	out, err := d.Client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(d.KeyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: ec,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("kms generate data key: %w", err)
	}
	return out.Plaintext, out.CiphertextBlob, nil
}

// DecryptDataKey asks KMS to decrypt a data key under the encryption
// context, naming the key it must have been made by. A blob that is not
// one, or was bound to another context, matches secrets.ErrOpen; a
// permission or availability failure is returned as it is.
func (d DataKeys) DecryptDataKey(ctx context.Context, encrypted []byte, ec map[string]string) ([]byte, error) {
	out, err := d.Client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(d.KeyID),
		CiphertextBlob:    encrypted,
		EncryptionContext: ec,
	})
	var invalid *types.InvalidCiphertextException
	var incorrect *types.IncorrectKeyException
	switch {
	case errors.As(err, &invalid), errors.As(err, &incorrect):
		return nil, fmt.Errorf("kms decrypt: %w: %w", secrets.ErrOpen, err)
	case err != nil:
		return nil, fmt.Errorf("kms decrypt: %w", err)
	}
	return out.Plaintext, nil
}
