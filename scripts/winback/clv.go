package main

import (
	"fmt"
	"io"
)

// runCLV runs "winback clv ...". Placeholder until the models land.
func runCLV(args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("clv: not implemented yet")
}
