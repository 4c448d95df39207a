package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/winback/winback/shared/secrets"
)

// contextPurpose is the condition key of a data key's purpose: the
// encryption context key "purpose" of every data key (shared/secrets'
// Purpose* constants), which the grants below are limited to.
const contextPurpose = "kms:EncryptionContext:purpose"

// secretsKey is the stack's KMS key: it encrypts the data keys that seal
// shops' webhook secrets and the unsubscribe-token keys in the table
// (envelope encryption, shared/secrets). A symmetric key costs $1 a month
// and $0.03 per 10,000 requests; the functions cache opened data keys for
// 10 minutes (secrets.DataKeyTTL), so a webhook costs no KMS request.
type secretsKey struct {
	Key awskms.Key
}

// newSecretsKey creates the key: yearly rotation of its key material
// (older material still decrypts what it encrypted), retained when the
// stack is deleted (a deleted key would make every sealed secret
// unreadable), under the alias alias/winback-<stage>-secrets.
func newSecretsKey(scope constructs.Construct, cfg config) *secretsKey {
	key := awskms.NewKey(scope, jsii.String("SecretsKey"), &awskms.KeyProps{
		Description: jsii.String("winback (" + cfg.Stage + "): encrypts the data keys sealing shops' webhook secrets " +
			"and the unsubscribe-token keys in the table"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		Alias:             jsii.String("alias/winback-" + cfg.Stage + "-secrets"),
	})
	return &secretsKey{Key: key}
}

// allowOpen lets fn decrypt the data keys of secrets of the given
// purposes (secrets.Purpose*), and tells it the key (secrets.KeyIDEnv:
// the functions that seal or open secrets refuse to start without it).
func (s *secretsKey) allowOpen(fn awslambda.Function, purposes ...string) {
	s.allow(fn, []string{"kms:Decrypt"}, purposes)
}

// allowSealAndOpen lets fn also generate data keys for the given
// purposes: for functions that make the first token key on first use.
func (s *secretsKey) allowSealAndOpen(fn awslambda.Function, purposes ...string) {
	s.allow(fn, []string{"kms:Decrypt", "kms:GenerateDataKey"}, purposes)
}

func (s *secretsKey) allow(fn awslambda.Function, actions, purposes []string) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings(actions...),
		Resources: &[]*string{s.Key.KeyArn()},
		Conditions: &map[string]any{
			"StringEquals": map[string]any{contextPurpose: purposes},
		},
	}))
	fn.AddEnvironment(jsii.String(secrets.KeyIDEnv), s.Key.KeyArn(), nil)
}
