// Command infra is the winback CDK app: `cdk synth` and `cdk deploy` run it
// (see cdk.json) from the repository root, where bin/<function>/bootstrap is
// built by `make build`.
package main

import (
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()

	app := awscdk.NewApp(nil)
	NewWinbackStack(app, "Winback", &WinbackStackProps{
		StackProps: awscdk.StackProps{Env: env()},
		AssetDir:   "bin",
	})
	app.Synth(nil)
}

// env is the account and region the CLI resolved from the caller's
// credentials and profile; unset values leave the stack environment-agnostic.
func env() *awscdk.Environment {
	return &awscdk.Environment{
		Account: optional(os.Getenv("CDK_DEFAULT_ACCOUNT")),
		Region:  optional(os.Getenv("CDK_DEFAULT_REGION")),
	}
}

// optional is nil for the empty string, so CDK treats the value as unknown.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return jsii.String(s)
}
