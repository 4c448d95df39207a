package main

import (
	"bytes"
	"strings"
	"testing"
)

// allPaths lists every command and subcommand of the table, groups included.
func allPaths(c *command, path []string) [][]string {
	var out [][]string
	if len(path) > 0 {
		out = append(out, path)
	}
	for _, sub := range c.subs {
		out = append(out, allPaths(sub, append(path[:len(path):len(path)], sub.name))...)
	}
	return out
}

func TestEveryCommandHasHelp(t *testing.T) {
	paths := append([][]string{nil}, allPaths(commands, nil)...)
	if len(paths) < 10 {
		t.Fatalf("only %d commands in the table", len(paths))
	}
	for _, path := range paths {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string(nil), path...), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out, errOut bytes.Buffer
				if err := run(args, &out, &errOut); err != nil {
					t.Fatalf("run(%q) = %v; want exit 0", args, err)
				}
				want := strings.TrimSpace("usage: winback " + strings.Join(path, " "))
				if !strings.HasPrefix(out.String(), want) {
					t.Errorf("stdout %q does not start with %q", out.String(), want)
				}
				if errOut.Len() > 0 {
					t.Errorf("help wrote to stderr: %q", errOut.String())
				}
			})
		}
	}
}

func TestUsageListsEveryCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"-h"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var leaves int
	commands.walk(nil, func(path []string, leaf *command) {
		leaves++
		if want := "winback " + strings.Join(path, " "); !strings.Contains(out.String(), want) {
			t.Errorf("usage does not list %q:\n%s", want, out.String())
		}
		if leaf.summary == "" {
			t.Errorf("%v has no summary", path)
		}
	})
	known := []string{"table create", "shop create", "shop set-webhook-secret", "clv fit", "clv evaluate", "clv score",
		"customers export", "demo"}
	for _, want := range known {
		if !strings.Contains(out.String(), "winback "+want) {
			t.Errorf("usage does not list %q", want)
		}
	}
	if leaves < len(known) {
		t.Errorf("%d commands; want at least %d", leaves, len(known))
	}
}

func TestShopCommandsTakeTheShopifyDomain(t *testing.T) {
	for _, cmd := range []string{"create", "set-webhook-secret"} {
		var out, errOut bytes.Buffer
		if err := run([]string{"shop", cmd, "-h"}, &out, &errOut); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "-shopify-domain") {
			t.Errorf("shop %s -h does not list --shopify-domain:\n%s", cmd, out.String())
		}
	}
}

func TestCommandLineMistakes(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantErr   string
		wantUsage string
	}{
		{"no command", nil, "missing command", "usage: winback <command>"},
		{"unknown command", []string{"deploy"}, `unknown command "deploy"`, "usage: winback <command>"},
		{"unknown subcommand", []string{"table", "drop"}, `table: unknown subcommand "drop"`, "usage: winback table <command>"},
		{"group without subcommand", []string{"clv"}, "clv: missing subcommand", "winback clv fit"},
		{"unknown flag", []string{"demo", "--bogus"}, "demo: flag provided but not defined: -bogus", "usage: winback demo"},
		{"stray argument", []string{"table", "create", "now"}, `table create: unexpected argument "now"`, "usage: winback table create"},
		{"missing required flag", []string{"clv", "fit"}, "clv fit: --transactions", "usage: winback clv fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(tt.args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("run(%q) = %v; want an error containing %q", tt.args, err, tt.wantErr)
			}
			if !strings.Contains(errOut.String(), tt.wantUsage) {
				t.Errorf("stderr %q lacks the usage %q", errOut.String(), tt.wantUsage)
			}
			if out.Len() > 0 {
				t.Errorf("a mistake wrote to stdout: %q", out.String())
			}
		})
	}
}
