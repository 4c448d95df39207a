package emulator

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTailKeepsLastLines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{"short", 100, []string{"a\n", "b\n"}, "a\nb"},
		{"no trailing newline", 100, []string{"a\nb"}, "a\nb"},
		{"overflow drops the cut line", 8, []string{"line1\n", "line2\n", "l3\n"}, "l3"}, // kept "ine2\nl3\n"
		{"one long line is kept as cut", 4, []string{"abcdefgh"}, "efgh"},
		{"at most tailLines", 1 << 20, []string{strings.Repeat("x\n", tailLines+5) + "last\n"},
			strings.Repeat("x\n", tailLines-1) + "last"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := &tail{max: tc.max}
			for _, w := range tc.writes {
				if n, err := tl.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := tl.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRunReportsAnEmulatorThatExits(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	e := &emulator{
		name:     "broken emulator",
		runCmd:   "no-such-subcommand", // stack.sh prints its usage and exits 2
		deadline: 30 * time.Second,
		ready:    func(context.Context, string) error { return errors.New("not ready") },
	}
	_, err = e.run(root)
	if err == nil {
		t.Fatal("run succeeded, want an error")
	}
	for _, want := range []string{"broken emulator exited during start-up", "exit status 2", "scripts/stack.sh install"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if errors.Is(err, errPortTaken) {
		t.Errorf("error %q is errPortTaken", err)
	}
}

func TestRunGivesUpAtTheDeadline(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	e := &emulator{
		name:     "slow emulator",
		runCmd:   "run-ses", // starts, but never passes this readiness check
		deadline: 500 * time.Millisecond,
		ready:    func(context.Context, string) error { return errors.New("still warming up") },
	}
	t0 := time.Now()
	_, err = e.run(root)
	if err == nil {
		t.Fatal("run succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "did not answer") || !strings.Contains(err.Error(), "still warming up") {
		t.Errorf("error %q does not say it timed out and why", err)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("run took %v with a 500ms deadline", d)
	}
}

func TestRepoRootHoldsTheStackScript(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if !fileExists(root+"/scripts/stack.sh") || !fileExists(root+"/go.mod") {
		t.Errorf("repoRoot() = %s without go.mod and scripts/stack.sh", root)
	}
	if strings.HasSuffix(root, "/internal/emulator") {
		t.Errorf("repoRoot() = %s, the package directory", root)
	}
}
