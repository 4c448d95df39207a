package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errPortTaken: the emulator could not bind the port it was given (another
// process took it between freePort and the emulator's start).
var errPortTaken = errors.New("port taken")

// run starts the emulator on a free loopback port through
// scripts/stack.sh run-*, which execs the emulator (so the process started
// here is the JVM or node itself), and waits until it answers.
func (e *emulator) run(root string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", fmt.Errorf("%s: %w", e.name, err)
	}
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	out := &tail{max: 32 << 10}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "stack.sh"), e.runCmd, strconv.Itoa(port))
	cmd.Dir = root
	// Launchers that can watch their parent (scripts/node/sqs-server.js) exit
	// when this test binary is gone, also where there is no parent-death signal.
	cmd.Env = append(os.Environ(), "WINBACK_PARENT_PID="+strconv.Itoa(os.Getpid()))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()

	exited := make(chan struct{})
	started := make(chan error, 1)
	var waitErr error
	go func() {
		// On Linux the parent-death signal fires when the thread that
		// started the child ends, not the process: keep this thread for as
		// long as the child lives.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		waitErr = cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return "", fmt.Errorf("%s: start: %w", e.name, err)
	}

	t0 := time.Now()
	deadline := t0.Add(e.deadline)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		lastErr = e.ready(ctx, endpoint)
		cancel()
		if lastErr == nil {
			return endpoint, nil
		}
		select {
		case <-exited:
			log := out.String()
			err := fmt.Errorf("%s exited during start-up on port %d (%v); its output:\n%s", e.name, port, waitErr, log)
			if strings.Contains(log, "Address already in use") || strings.Contains(log, "EADDRINUSE") {
				err = fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return "", err
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return "", fmt.Errorf("%s did not answer on %s within %v (last error: %v); its output:\n%s",
				e.name, endpoint, e.deadline, lastErr, out.String())
		}
	}
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailLines is how many lines of an emulator's output an error shows.
const tailLines = 40

// tail keeps the last max bytes written to it: the emulator's output, for
// error messages, without files to clean up.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns the last lines of the kept output (at most tailLines).
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimRight(string(t.buf), "\n"), "\n")
	if len(t.buf) >= t.max && len(lines) > 1 {
		lines = lines[1:] // cut mid-line
	}
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	return strings.Join(lines, "\n")
}
