package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is a command of the CLI: either a group of subcommands or a
// leaf that declares its flags and runs.
//
// The conventions are the same for every command: flags follow the
// command's name and are written --name VALUE, -h (or --help) prints the
// usage to stdout and exits 0, and a mistake prints the usage to stderr
// and exits 1.
type command struct {
	name string
	// synopsis is what follows the command's path in its usage line,
	// e.g. "--name NAME [flags]" ("" for a leaf without required flags).
	synopsis string
	// summary is the command's one line in the lists.
	summary string
	// help is printed by -h after the usage line (optional).
	help string
	// flags, for a leaf, declares the command's flags and returns what
	// runs once they are parsed.
	flags func(fs *flag.FlagSet) action
	subs  []*command
}

// action runs a leaf command after its flags are parsed.
type action func(ctx context.Context, stdout io.Writer) error

// usageError is a mistake in the command line: the command's usage is
// printed to stderr with it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// usageErrorf reports a mistake in the command line.
func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// exec runs the command named by args under c, whose path from the root
// (without the program name) is path.
func (c *command) exec(ctx context.Context, path []string, args []string, stdout, stderr io.Writer) error {
	if c.subs != nil {
		what := "command"
		if len(path) > 0 {
			what = "subcommand"
		}
		if len(args) == 0 {
			fmt.Fprint(stderr, c.usage(path))
			return fmt.Errorf("%smissing %s", prefix(path), what)
		}
		if isHelp(args[0]) {
			fmt.Fprint(stdout, c.usage(path))
			return nil
		}
		for _, sub := range c.subs {
			if sub.name == args[0] {
				return sub.exec(ctx, append(path[:len(path):len(path)], sub.name), args[1:], stdout, stderr)
			}
		}
		fmt.Fprint(stderr, c.usage(path))
		return fmt.Errorf("%sunknown %s %q", prefix(path), what, args[0])
	}

	fs := flag.NewFlagSet(strings.Join(path, " "), flag.ContinueOnError)
	var out bytes.Buffer // what the flag package prints: help or a mistake
	fs.SetOutput(&out)
	act := c.flags(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), c.usage(path))
		if hasFlags(fs) {
			fmt.Fprint(fs.Output(), "\nflags:\n")
			fs.PrintDefaults()
		}
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		_, err = stdout.Write(out.Bytes())
		return err
	case err != nil:
		stderr.Write(out.Bytes())
		return fmt.Errorf("%s%w", prefix(path), err)
	case fs.NArg() > 0:
		fs.Usage()
		stderr.Write(out.Bytes())
		return fmt.Errorf("%sunexpected argument %q", prefix(path), fs.Arg(0))
	}
	err = act(ctx, stdout)
	var ue usageError
	if errors.As(err, &ue) {
		fs.Usage()
		stderr.Write(out.Bytes())
	}
	if err != nil {
		return fmt.Errorf("%s%w", prefix(path), err)
	}
	return nil
}

// usage is the command's usage text: its usage line, its help and, for a
// group, every command under it with its summary.
func (c *command) usage(path []string) string {
	var b strings.Builder
	full := strings.TrimSpace("winback " + strings.Join(path, " "))
	if c.subs != nil {
		fmt.Fprintf(&b, "usage: %s <command> [flags]\n", full)
	} else {
		fmt.Fprintf(&b, "usage: %s\n", strings.TrimSpace(full+" "+c.synopsis))
		if c.summary != "" {
			fmt.Fprintf(&b, "\n%s\n", c.summary)
		}
	}
	if c.help != "" {
		fmt.Fprintf(&b, "\n%s", c.help)
	}
	if c.subs != nil {
		b.WriteString("\ncommands:\n")
		c.walk(path, func(p []string, leaf *command) {
			fmt.Fprintf(&b, "  %s\n      %s\n", strings.TrimSpace("winback "+strings.Join(p, " ")+" "+leaf.synopsis), leaf.summary)
		})
		fmt.Fprintf(&b, "\nRun '%s <command> -h' for a command's flags.\n", full)
	}
	return b.String()
}

// walk calls f with every leaf under c and its path, in table order.
func (c *command) walk(path []string, f func(path []string, leaf *command)) {
	if c.subs == nil {
		f(path, c)
		return
	}
	for _, sub := range c.subs {
		sub.walk(append(path[:len(path):len(path)], sub.name), f)
	}
}

// prefix is "clv fit: " for the path clv fit, for error messages.
func prefix(path []string) string {
	if len(path) == 0 {
		return ""
	}
	return strings.Join(path, " ") + ": "
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}
