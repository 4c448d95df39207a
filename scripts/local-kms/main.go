// Command local-kms serves the KMS emulator github.com/nsmithuk/local-kms
// (pinned in this directory's go.mod) on 127.0.0.1 only: the emulator's own
// main listens on every interface. It is a module of its own so that the
// emulator's dependencies stay out of winback's go.mod; scripts/stack.sh
// install-kms builds it into .local/bin/local-kms.
//
//	local-kms PORT DATA_DIR
//
// Keys live in a LevelDB database under DATA_DIR, account 111122223333,
// region us-east-1.
package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/nsmithuk/local-kms/src"
	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: local-kms PORT DATA_DIR")
		os.Exit(2)
	}
	port, dir := os.Args[1], os.Args[2]
	config.AWSAccountId = "111122223333"
	config.AWSRegion = "us-east-1"
	config.DatabasePath = dir
	db := data.NewDatabase(dir)
	defer db.Close()
	addr := "127.0.0.1:" + port
	fmt.Fprintf(os.Stderr, "local-kms listening on %s, data in %s\n", addr, dir)
	err := http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src.HandleRequest(w, r, db)
	}))
	fmt.Fprintln(os.Stderr, "local-kms:", err)
	os.Exit(1)
}
