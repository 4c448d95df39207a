// Command smokecheck is scripts/smoke: a smoke test of a deployed stack
// through its HTTP API. It creates a throwaway shop with an API key
// directly in the stack's table, posts orders through the API (one, the
// same again, a batch, a refund), reads the customer back and checks the
// summary to the cent, checks that a wrong key is refused with a 401
// problem, erases the customer through the API, and deletes the shop with
// everything stored under it (store.DeleteShop), also when a step failed
// or the run is interrupted. Each step is printed with its time; any
// failure exits 1.
//
//	scripts/smoke                                   # the stack of cdk-outputs.json (make deploy writes it)
//	scripts/smoke --api-url URL --table NAME        # any deployment (outputs ApiUrl, TableName)
//	scripts/smoke --api-url http://127.0.0.1:8080 --table winback --dynamodb-endpoint http://127.0.0.1:8000   # make api
//
// It needs AWS credentials that may write the table (from the
// environment, as the AWS CLI finds them); the region is taken from the
// API's URL (https://<id>.execute-api.<region>.amazonaws.com), else
// --region or the usual AWS settings.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"sort"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/winback/winback/internal/emulator"
	"github.com/winback/winback/shared/secrets"
	"github.com/winback/winback/shared/store"
)

func main() {
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

// cli runs the command line and returns the exit code: 0 when every step
// passed, 1 when one failed, 2 for a usage error.
func cli(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apiURL := fs.String("api-url", "", "the stack's ApiUrl output (default: from --outputs)")
	table := fs.String("table", "", "the stack's TableName output (default: from --outputs)")
	outputs := fs.String("outputs", "cdk-outputs.json", "the outputs file make deploy writes (cdk deploy --outputs-file), read when --api-url or --table is not given")
	stack := fs.String("stack", "", "the stack in --outputs (default: its only stack)")
	region := fs.String("region", "", "the table's AWS region (default: the API URL's, else AWS_REGION or the profile's)")
	endpoint := fs.String("dynamodb-endpoint", "", "a DynamoDB endpoint other than AWS's, e.g. DynamoDB Local at http://127.0.0.1:8000 (default: AWS)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up on the steps after this long (the clean-up then still runs)")
	deleteShop := fs.String("delete-shop", "", "instead of a run, delete a shop an interrupted run left behind (SHOP_ID as printed; only a smoke test's shop)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scripts/smoke [--api-url URL --table NAME] [flags]\n\n"+
			"Creates a throwaway shop in the table, posts orders through the API, reads them back, checks a wrong key is refused,\n"+
			"erases the customer and deletes the shop. Needs AWS credentials that may write the table.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smoke: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if (*apiURL == "" && *deleteShop == "") || *table == "" {
		out, err := readOutputs(*outputs, *stack)
		if err != nil {
			fmt.Fprintf(stderr, "smoke: %v\n", err)
			return 2
		}
		if *apiURL == "" {
			*apiURL = out["ApiUrl"]
		}
		if *table == "" {
			*table = out["TableName"]
		}
		if (*apiURL == "" && *deleteShop == "") || *table == "" {
			fmt.Fprintf(stderr, "smoke: %s has no ApiUrl or TableName output\n", *outputs)
			return 2
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, where, err := dynamoDB(ctx, *endpoint, *region, *apiURL)
	if err != nil {
		fmt.Fprintf(stderr, "smoke: %v\n", err)
		return 1
	}
	// The smoke's shop has no webhook secret, so nothing is sealed; a
	// sealer that refuses makes sure nothing is ever sealed with the
	// development key in an AWS table.
	st := store.New(db, *table, store.WithSealer(secrets.Unavailable("the smoke test stores no secrets")), store.WithoutWebhookSecrets())
	if *deleteShop != "" {
		n, err := DeleteShop(ctx, st, *deleteShop)
		if err != nil {
			fmt.Fprintf(stderr, "smoke: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "smoke: deleted shop %s: %d items\n", *deleteShop, n)
		return 0
	}
	fmt.Fprintf(stdout, "smoke: API %s, table %s (%s)\n", *apiURL, *table, where)
	err = Run(ctx, Config{
		APIURL:  *apiURL,
		Store:   st,
		Client:  &http.Client{Timeout: 30 * time.Second},
		Out:     stdout,
		Timeout: *timeout,
	})
	if err != nil {
		fmt.Fprintf(stdout, "smoke: FAILED: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "smoke: ok")
	return 0
}

// readOutputs reads one stack's outputs from a cdk deploy --outputs-file
// file: {"<stack>": {"<output>": "<value>", …}}.
func readOutputs(path, stack string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no --api-url and --table, and no %s (make deploy writes it). Read them from the stack:\n"+
			"  aws cloudformation describe-stacks --stack-name Winback --query \"Stacks[0].Outputs[?OutputKey=='ApiUrl' || OutputKey=='TableName']\" --output table", path)
	}
	if err != nil {
		return nil, err
	}
	var stacks map[string]map[string]string
	if err := json.Unmarshal(data, &stacks); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if stack != "" {
		out, ok := stacks[stack]
		if !ok {
			return nil, fmt.Errorf("%s has no stack %s", path, stack)
		}
		return out, nil
	}
	if len(stacks) != 1 {
		names := make([]string, 0, len(stacks))
		for name := range stacks {
			names = append(names, name)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("%s holds %d stacks (%v): name one with --stack", path, len(stacks), names)
	}
	for _, out := range stacks {
		return out, nil
	}
	return nil, nil
}

// apiRegion matches an HTTP API's default URL and captures its region.
var apiRegion = regexp.MustCompile(`^https://[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(/|$)`)

// dynamoDB returns a DynamoDB client for endpoint (AWS when empty) and
// says where it points.
func dynamoDB(ctx context.Context, endpoint, region, apiURL string) (*dynamodb.Client, string, error) {
	if endpoint != "" {
		return emulator.DynamoDBClient(endpoint), endpoint, nil
	}
	if m := apiRegion.FindStringSubmatch(apiURL); region == "" && m != nil {
		region = m[1]
	}
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, "", errors.New("no AWS region: give --region, or set AWS_REGION")
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, "", fmt.Errorf("no AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or aws sso login): %w", err)
	}
	return dynamodb.NewFromConfig(cfg), "AWS " + cfg.Region, nil
}
