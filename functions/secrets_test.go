package functions_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFunctionsRefuseToStartWithoutTheirKMSKey: the functions that seal
// or open secrets exit at start, naming WINBACK_KMS_KEY_ID, when it is not
// set, rather than store or read secrets any other way. Every other
// variable they require is set, so the key is what stops them.
func TestFunctionsRefuseToStartWithoutTheirKMSKey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three functions: skipped in -short mode")
	}
	dir := t.TempDir()
	env := append(os.Environ(),
		"WINBACK_KMS_KEY_ID=", "WINBACK_TABLE=winback", "WINBACK_SEND_DLQ_URL=http://127.0.0.1:1/dlq",
		"WINBACK_UNSUBSCRIBE_BASE_URL=https://api.shop.example", "WINBACK_SES_CONFIGURATION_SET=winback",
		"WINBACK_SEND_RATE=7", "AWS_REGION=us-east-1", "AWS_LAMBDA_FUNCTION_NAME=")
	for _, fn := range []string{"ingest", "api", "send"} {
		t.Run(fn, func(t *testing.T) {
			bin := filepath.Join(dir, fn)
			build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "./functions/"+fn)
			build.Dir = ".."
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			var out bytes.Buffer
			cmd := exec.Command(bin)
			cmd.Env = env
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out.String(), "WINBACK_KMS_KEY_ID not set") {
				t.Fatalf("%s without WINBACK_KMS_KEY_ID: %v, output %q; want exit 1 naming the variable", fn, err, out.String())
			}
		})
	}
}
