// Command winback is the admin CLI: shops, tables, the models and the demo.
//
//	go run ./scripts/winback shop create --name NAME
//	go run ./scripts/winback clv fit --transactions FILE.csv
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

const usage = `usage: winback <command> [arguments]

commands:
  table create            create the DynamoDB table (idempotent)
  shop create --name N    create a shop; prints its id, API key and webhook secret once
                          [--currency USD] [--timezone UTC] [--shards 16]
  clv fit|evaluate|score  fit and apply the CLV models to a transaction CSV
  demo                    the pipeline on the local stack (make demo starts the stack first)
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "winback:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("missing command")
	}
	ctx := context.Background()
	switch args[0] {
	case "table":
		return runTable(ctx, args[1:], stdout)
	case "shop":
		return runShop(ctx, args[1:], stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "clv":
		return runCLV(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
