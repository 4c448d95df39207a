package functions_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The functions are built from a snapshot of the checkout, not from the
// checkout itself: builds compared with each other must see the same
// sources even while someone edits the checkout. The snapshot holds go.mod,
// go.sum and the module's directories the functions link (for the Lambda
// platform); TestFunctionSizes and TestReproducibleBuilds share it and its
// builds (snapshotBuilds), so each function is built once for both.
//
// Every build goes through scripts/build-function.sh, the script make
// build runs, so the tests check the bytes that ship.

// lambdaEnv is the platform of the functions, for go list (the build
// script sets it for go build).
var lambdaEnv = []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}

// built is a function's build output.
type built struct {
	dir  string // holds bootstrap and zoneinfo.zip
	size int64  // of bootstrap
	sum  string // SHA-256 of bootstrap, hex
	zone string // SHA-256 of zoneinfo.zip, hex
	took time.Duration
}

// shared is the snapshot and its builds, made once per test binary and
// removed by TestMain.
var shared struct {
	once   sync.Once
	tmp    string           // removed after the tests
	root   string           // the snapshot's module root
	builds map[string]built // function name → its build in the snapshot
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.tmp != "" {
		os.RemoveAll(shared.tmp)
	}
	os.Exit(code)
}

// snapshotBuilds returns the snapshot's root and every function built
// there (with the Go build cache of the machine).
func snapshotBuilds(t *testing.T, fns []string) (string, map[string]built) {
	t.Helper()
	shared.once.Do(func() {
		shared.tmp, shared.err = os.MkdirTemp("", "winback-build")
		if shared.err != nil {
			return
		}
		shared.root = filepath.Join(shared.tmp, "a", "winback")
		if shared.err = snapshot("..", shared.root, fns); shared.err != nil {
			return
		}
		shared.builds = map[string]built{}
		for _, fn := range fns {
			b, err := buildFunction(shared.root, "./functions/"+fn, filepath.Join(shared.tmp, "a-bin", fn), nil)
			if err != nil {
				shared.err = err
				return
			}
			shared.builds[fn] = b
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.root, shared.builds
}

// snapshot copies go.mod, go.sum and every directory of the module that
// the functions fns link to dst (each directory's files, not its
// subdirectories, plus the files it embeds).
func snapshot(src, dst string, fns []string) error {
	args := []string{"list", "-deps", "-tags", "lambda.norpc", "-f",
		`{{if and .Module (eq .Module.Path "` + module + `")}}{{.Dir}}{{range .EmbedFiles}}{{"\t"}}{{.}}{{end}}{{end}}`}
	for _, fn := range fns {
		args = append(args, "./functions/"+fn)
	}
	out, err := run(src, lambdaEnv, "go", args...)
	if err != nil {
		return err
	}
	absSrc, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := copyFile(filepath.Join(absSrc, f), filepath.Join(dst, f)); err != nil {
			return err
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Split(line, "\t")
		dir := fields[0]
		rel, err := filepath.Rel(absSrc, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("package directory %s is outside the module %s", dir, absSrc)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				if err := copyFile(filepath.Join(dir, e.Name()), filepath.Join(dst, rel, e.Name())); err != nil {
					return err
				}
			}
		}
		for _, embedded := range fields[1:] {
			if err := copyFile(filepath.Join(dir, embedded), filepath.Join(dst, rel, embedded)); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyTree copies the regular files under src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		return copyFile(path, filepath.Join(dst, rel))
	})
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// buildScript is the checkout's scripts/build-function.sh, by absolute path.
func buildScript() (string, error) {
	return filepath.Abs(filepath.Join("..", "scripts", "build-function.sh"))
}

// buildFunction builds package pkg of the module at root into out with
// scripts/build-function.sh, with env added to the environment.
func buildFunction(root, pkg, out string, env []string) (built, error) {
	script, err := buildScript()
	if err != nil {
		return built{}, err
	}
	start := time.Now()
	if _, err := run(root, env, script, pkg, out); err != nil {
		return built{}, err
	}
	b := built{dir: out, took: time.Since(start)}
	if b.sum, b.size, err = fileSum(filepath.Join(out, "bootstrap")); err != nil {
		return built{}, err
	}
	if b.zone, _, err = fileSum(filepath.Join(out, "zoneinfo.zip")); err != nil {
		return built{}, err
	}
	return b, nil
}

// fileSum returns a file's SHA-256 (hex) and size.
func fileSum(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// run runs a command in dir with env added to the environment and returns
// its standard output; the error carries its standard error.
func run(dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, stderr.String())
	}
	return out, nil
}

// otherMachine is the environment of a build "elsewhere": its own GOPATH
// and temporary directory, and GOFLAGS asking for a VCS stamp (what a
// fresh machine does by default in a git checkout), which the script's
// -buildvcs=false must override. The module cache stays the machine's:
// modules are verified against go.sum wherever they come from, and
// -trimpath keeps the cache's path out of the binary.
func otherMachine(t *testing.T) []string {
	t.Helper()
	gomodcache, err := run("..", nil, "go", "env", "GOMODCACHE")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	tmp := filepath.Join(home, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{
		"GOPATH=" + filepath.Join(home, "go"),
		"GOMODCACHE=" + strings.TrimSpace(string(gomodcache)),
		"TMPDIR=" + tmp,
		"GOFLAGS=-buildvcs=true",
	}
}

// TestReproducibleBuilds builds every function a second time, from a copy
// of the snapshot at another, longer path, into other output directories,
// with another GOPATH and TMPDIR and GOFLAGS=-buildvcs=true, and checks
// that each bootstrap and zoneinfo.zip has the same SHA-256 as the first
// build's. With -trimpath the build cache's entries do not depend on the
// source path, so this second build reuses the compiled packages and
// proves the link; TestReproducibleColdCache compiles everything again.
//
// Cost: the six functions are built twice (about 3 s each on an idle
// 2-core machine, once with warm caches; the first build is shared with
// TestFunctionSizes), plus one build in the checkout for its VCS check.
func TestReproducibleBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function twice for linux/arm64: skipped in -short mode")
	}
	fns := functionNames(t)
	root, first := snapshotBuilds(t, fns)
	other := filepath.Join(t.TempDir(), "another", "checkout", "of-winback-at-a-longer-path")
	if err := copyTree(root, other); err != nil {
		t.Fatal(err)
	}
	env := otherMachine(t)
	outs := t.TempDir()
	for _, fn := range fns {
		second, err := buildFunction(other, "./functions/"+fn, filepath.Join(outs, "out-"+fn+"-elsewhere"), env)
		if err != nil {
			t.Fatal(err)
		}
		a := first[fn]
		t.Logf("%-11s %10d bytes  sha256 %s  (%.1f s, again %.1f s)", fn, a.size, a.sum, a.took.Seconds(), second.took.Seconds())
		if second.sum != a.sum {
			t.Errorf("functions/%s: bootstrap sha256 %s built in %s, %s built in %s: the build is not reproducible",
				fn, a.sum, root, second.sum, other)
		}
		if second.zone != a.zone {
			t.Errorf("functions/%s: zoneinfo.zip differs between the builds", fn)
		}
	}
}

// TestBuildStamp builds one function in the checkout itself, a git
// working tree, with GOFLAGS=-buildvcs=true in the environment (a fresh
// machine's default stamps the commit, its time and whether the tree has
// changes), and checks with go version -m that the binary records no VCS
// setting, no path, and the platform and flags make build promises.
func TestBuildStamp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a function for linux/arm64: skipped in -short mode")
	}
	out := filepath.Join(t.TempDir(), "stamp")
	b, err := buildFunction("..", "./functions/mailevents", out, otherMachine(t))
	if err != nil {
		t.Fatal(err)
	}
	info, err := run("..", nil, "go", "version", "-m", filepath.Join(b.dir, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, line := range strings.Split(string(info), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "build" {
			k, v, _ := strings.Cut(f[1], "=")
			settings[k] = v
		}
	}
	for k := range settings {
		if strings.HasPrefix(k, "vcs") {
			t.Errorf("the binary records %s=%s: builds of one commit would differ with the state of the checkout", k, settings[k])
		}
	}
	want := map[string]string{"-trimpath": "true", "-tags": "lambda.norpc", "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "arm64", "GOARM64": "v8.0"}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("build setting %s = %q; want %q\n%s", k, settings[k], v, info)
		}
	}
	abs, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(filepath.Join(b.dir, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bin, []byte(abs+"/")) {
		t.Errorf("the binary contains the checkout's path %s", abs)
	}
}

// TestMakefileBuildsWithScript keeps scripts/build-function.sh the one
// definition of a function's build: make build's build-% runs it, and no
// other go build is in the Makefile.
func TestMakefileBuildsWithScript(t *testing.T) {
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	recipe := regexp.MustCompile(`(?m)^build-%:\n((?:\t.*\n)+)`).FindSubmatch(mk)
	if recipe == nil {
		t.Fatal("no build-% rule in the Makefile")
	}
	if got := strings.TrimSpace(string(recipe[1])); got != "@scripts/build-function.sh ./functions/$* bin/$*" {
		t.Errorf("build-%% runs %q; want scripts/build-function.sh ./functions/$* bin/$*, the build the tests check", got)
	}
	if regexp.MustCompile(`go build`).Match(mk) {
		t.Error("the Makefile runs go build itself: build the functions with scripts/build-function.sh")
	}
}

// coldEnv names the variable that turns TestReproducibleColdCache on.
const coldEnv = "WINBACK_REPRO_COLD"

// TestReproducibleColdCache builds one function (mailevents) from a copy
// of the snapshot at another path with an empty build cache (GOCACHE),
// so that the standard library, the AWS SDK and winback's packages are
// all compiled again, and checks that the bytes equal the first build's.
// It takes minutes (164 s measured on 2 cores shared with other work),
// so it runs only when WINBACK_REPRO_COLD=1:
//
//	WINBACK_REPRO_COLD=1 go test -count=1 -run 'TestReproducibleColdCache' ./functions/
func TestReproducibleColdCache(t *testing.T) {
	if os.Getenv(coldEnv) != "1" {
		t.Skipf("compiles everything with an empty build cache (minutes): set %s=1", coldEnv)
	}
	const fn = "mailevents"
	root, first := snapshotBuilds(t, functionNames(t))
	other := filepath.Join(t.TempDir(), "cold", "winback")
	if err := copyTree(root, other); err != nil {
		t.Fatal(err)
	}
	env := append(otherMachine(t), "GOCACHE="+t.TempDir())
	cold, err := buildFunction(other, "./functions/"+fn, filepath.Join(t.TempDir(), fn), env)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s with an empty build cache: %.0f s, sha256 %s", fn, cold.took.Seconds(), cold.sum)
	if cold.sum != first[fn].sum {
		t.Errorf("functions/%s: sha256 %s with the warm cache, %s with an empty one", fn, first[fn].sum, cold.sum)
	}
}
