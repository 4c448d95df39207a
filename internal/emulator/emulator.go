// Package emulator runs the local AWS emulators winback is tested against:
// DynamoDB Local (Java), aws-ses-v2-local and local-aws-sqs (Node.js) and
// local-kms (Go), all pinned and installed by scripts/stack.sh, all on
// loopback only.
//
// Tests call DynamoDB, SES, SQS or KMS: the first call in a test binary starts a
// private emulator on a free port (never the local stack's 8000/8005/8010),
// later calls share it. The emulator is killed when the test binary exits (on
// Linux through the parent-death signal; the SQS launcher also watches the
// test binary's pid). A missing Java or Node.js fails the test with what to
// install; nothing is skipped.
//
// DynamoDBClient, SESClient and SQSClient build clients for an emulator that
// already runs at a known address (the CLI and the dev server, against make
// stack).
package emulator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Region is the region the local clients sign for.
const Region = "us-east-1"

// DynamoDB returns a client for this test binary's own DynamoDB Local,
// starting it on first use. Tables are shared by every test in the binary:
// give each test its own table name.
func DynamoDB(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	return DynamoDBClient(DynamoDBEndpoint(tb))
}

// DynamoDBEndpoint returns the URL of this test binary's own DynamoDB Local,
// starting it on first use.
func DynamoDBEndpoint(tb testing.TB) string {
	tb.Helper()
	return dynamoDBLocal.endpoint(tb)
}

// SES returns a client for this test binary's own SES emulator, starting it
// on first use, and the emulator's base URL (for SentEmails).
func SES(tb testing.TB) (client *sesv2.Client, baseURL string) {
	tb.Helper()
	baseURL = sesLocal.endpoint(tb)
	return SESClient(baseURL), baseURL
}

// SQS returns a client for this test binary's own SQS emulator, starting it
// on first use, and the emulator's URL. Queues are shared by every test in
// the binary: give each test its own queue names.
func SQS(tb testing.TB) (client *sqs.Client, endpoint string) {
	tb.Helper()
	endpoint = sqsLocal.endpoint(tb)
	return SQSClient(endpoint), endpoint
}

// DynamoDBClient returns a DynamoDB client for an emulator at endpoint
// (e.g. "http://127.0.0.1:8000"), with dummy static credentials. It reads no
// AWS configuration.
func DynamoDBClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  localCredentials(),
	})
}

// SESClient returns an SES v2 client for an emulator at endpoint
// (e.g. "http://127.0.0.1:8005"), with dummy static credentials. It reads no
// AWS configuration.
func SESClient(endpoint string) *sesv2.Client {
	return sesv2.New(sesv2.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  localCredentials(),
	})
}

// SQSClient returns an SQS client for an emulator at endpoint
// (e.g. "http://127.0.0.1:8010"), with dummy static credentials. It reads no
// AWS configuration. Queue URLs the emulator returns point at the same
// endpoint.
func SQSClient(endpoint string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  localCredentials(),
	})
}

// localCredentials are what the emulators accept: any key, as long as the
// request is signed (aws-ses-v2-local rejects unsigned requests).
func localCredentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("local", "local", "")
}

// The emulators. Each starts at most once per test binary.
var (
	dynamoDBLocal = &emulator{
		name:      "DynamoDB Local",
		runCmd:    "run-dynamodb",
		installed: ".local/dynamodb/DynamoDBLocal.jar",
		runtime:   "java",
		missing:   "Java 17+ is required to run DynamoDB Local: apt-get install openjdk-17-jre-headless (scripts/check-tools.sh checks all tools)",
		deadline:  90 * time.Second,
		ready:     dynamoDBReady,
	}
	sesLocal = &emulator{
		name:      "aws-ses-v2-local",
		runCmd:    "run-ses",
		installed: "scripts/node/node_modules/aws-ses-v2-local/dist/cli.js",
		runtime:   "node",
		missing:   "Node.js 18+ is required to run the SES emulator: apt-get install nodejs npm (scripts/check-tools.sh checks all tools)",
		deadline:  30 * time.Second,
		ready:     sesReady,
	}
	sqsLocal = &emulator{
		name:      "local-aws-sqs",
		runCmd:    "run-sqs",
		installed: "scripts/node/node_modules/local-aws-sqs/dist/index.js",
		runtime:   "node",
		missing:   "Node.js 18+ is required to run the SQS emulator: apt-get install nodejs npm (scripts/check-tools.sh checks all tools)",
		deadline:  30 * time.Second,
		ready:     sqsReady,
	}
)

// emulator is one emulator, started once by the first test that needs it.
type emulator struct {
	name      string        // for messages
	runCmd    string        // scripts/stack.sh subcommand that runs it in the foreground
	installed string        // file (relative to the repository root) that exists once installed
	install   string        // scripts/stack.sh subcommand that installs it ("": install)
	runtime   string        // executable it needs on PATH
	missing   string        // what to install when runtime is missing
	deadline  time.Duration // how long it may take to answer
	ready     func(ctx context.Context, endpoint string) error

	once sync.Once
	url  string
	err  error
}

func (e *emulator) endpoint(tb testing.TB) string {
	tb.Helper()
	e.once.Do(func() { e.url, e.err = e.start() })
	if e.err != nil {
		tb.Fatalf("emulator: %v", e.err)
	}
	return e.url
}

// start installs the emulator if needed and runs it on a free port, trying
// again on another port if the chosen one was taken in the meantime.
func (e *emulator) start() (string, error) {
	if _, err := exec.LookPath(e.runtime); err != nil {
		return "", fmt.Errorf("%s: %q not found on PATH: %s", e.name, e.runtime, e.missing)
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, e.installed)); err != nil {
		if err := install(root, e.install); err != nil {
			return "", fmt.Errorf("%s: %w", e.name, err)
		}
	}
	const attempts = 3
	for i := 1; ; i++ {
		url, err := e.run(root)
		if err == nil || !errors.Is(err, errPortTaken) || i == attempts {
			return url, err
		}
	}
}

// install runs scripts/stack.sh install, or the subcommand given
// (idempotent, serialised by a lock).
func install(root, subcommand string) error {
	if subcommand == "" {
		subcommand = "install"
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "stack.sh"), subcommand)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("scripts/stack.sh %s: %w\n%s", subcommand, err, out)
	}
	return nil
}

// repoRoot walks up from the working directory to the winback module root
// (the directory holding go.mod and scripts/stack.sh).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "go.mod")) && fileExists(filepath.Join(d, "scripts", "stack.sh")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("find repository root: no go.mod with scripts/stack.sh above %s", dir)
		}
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// dynamoDBReady answers when DynamoDB Local serves ListTables.
func dynamoDBReady(ctx context.Context, endpoint string) error {
	_, err := DynamoDBClient(endpoint).ListTables(ctx, &dynamodb.ListTablesInput{},
		func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	return err
}

// sesReady answers when aws-ses-v2-local's health check says 200.
func sesReady(ctx context.Context, endpoint string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/health-check", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s", resp.Status)
	}
	return nil
}

// sqsReady answers when the SQS emulator serves ListQueues.
func sqsReady(ctx context.Context, endpoint string) error {
	_, err := SQSClient(endpoint).ListQueues(ctx, &sqs.ListQueuesInput{},
		func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
	return err
}
