// Package browser renders a page in headless Chromium for tests: it collects
// the page's console errors and uncaught exceptions, evaluates checks written
// in JavaScript and takes a full-page screenshot.
//
// It drives the Chromium of the machine (Debian's chromium package, which
// make chromium installs; see Find) through the DevTools protocol with
// chromedp, never a browser downloaded by a test tool. The browser starts
// with a fresh profile and without its background traffic, and resolves no
// host name but localhost: a page that needs the network fails to load its
// resources, and those failures are console errors.
//
// It is test and local-tool support: no Lambda function links it.
package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Default viewports: Open uses the desktop one when Options leaves the size
// out; the phone one is an iPhone 12–15 in CSS pixels.
const (
	DesktopWidth, DesktopHeight = 1280, 900
	PhoneWidth, PhoneHeight     = 390, 844
)

// DefaultTimeout bounds Open when its context has no earlier deadline: the
// browser's start, the page's load, the checks and the screenshot.
const DefaultTimeout = 60 * time.Second

// networkIdleWait is how long Open waits, after the load event, for the
// page's network to go quiet (Chromium's networkIdle: 500 ms without a
// request). A self-contained page gets there about half a second after load.
const networkIdleWait = 5 * time.Second

// Options says how Open renders a page. The zero value is a desktop viewport
// with no checks.
type Options struct {
	// Width and Height are the viewport in CSS pixels (device scale 1);
	// zero means DesktopWidth × DesktopHeight.
	Width, Height int
	// Mobile emulates a phone: the page's meta viewport applies and touch
	// events are on. Use it with PhoneWidth × PhoneHeight.
	Mobile bool
	// WaitFor, when set, is a JavaScript expression polled after the load
	// until it is truthy (for example "window.chartsDrawn === true").
	WaitFor string
	// Eval are the checks evaluated once the page has settled, in order.
	Eval []Check
	// Chromium is the browser to run; empty means Find's.
	Chromium string
	// Timeout bounds Open; zero means DefaultTimeout.
	Timeout time.Duration
}

// Check is a JavaScript expression evaluated in the page. Its value, which
// may be a Promise, is returned as JSON in Page.Results under Name.
type Check struct {
	Name string
	JS   string
}

// Page is what Open saw of a page.
type Page struct {
	// Title is the document's title.
	Title string
	// ConsoleErrors are the console messages of level error (console.error,
	// failed console.assert) and the browser's own errors about the page,
	// such as a resource that failed to load, each with where it came from.
	ConsoleErrors []string
	// Exceptions are the uncaught exceptions and unhandled promise rejections.
	Exceptions []string
	// Results holds each check's value as JSON, by the check's name
	// (undefined becomes null).
	Results map[string]json.RawMessage
	// Screenshot is a PNG of the whole page, as wide as the viewport.
	Screenshot []byte
}

// Errors lists the console errors and then the uncaught exceptions: what a
// test wants to be empty.
func (p *Page) Errors() []string {
	return append(append([]string(nil), p.ConsoleErrors...), p.Exceptions...)
}

// ErrNotFound means no Chromium was found; its message says how to get one.
var ErrNotFound = errors.New("browser: Chromium not found: run `make chromium` (scripts/install-chromium.sh installs Debian's chromium package as root), " +
	"or `sudo apt-get install chromium` on Debian/Ubuntu, or set CHROMIUM=/path/to/chrome")

// candidates are the names Find tries on PATH after /usr/bin/chromium, in the
// order of scripts/install-chromium.sh.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Find returns the path of the Chromium to run: $CHROMIUM when set, else
// /usr/bin/chromium, else the first of chromium, chromium-browser,
// google-chrome and google-chrome-stable on PATH. The error wraps
// ErrNotFound.
func Find() (string, error) {
	if env := os.Getenv("CHROMIUM"); env != "" {
		p, err := exec.LookPath(env)
		if err != nil {
			return "", fmt.Errorf("%w (CHROMIUM=%s is not an executable: %v)", ErrNotFound, env, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("/usr/bin/chromium"); err == nil {
		return p, nil
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (looked at $CHROMIUM, /usr/bin/chromium, and %s on PATH)", ErrNotFound, strings.Join(candidates, ", "))
}

// FileURL returns the file:// URL of a local file.
func FileURL(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// flags are Chromium's command-line flags beyond chromedp's defaults
// (headless, no first run, no background networking, no extensions, ...):
// no GPU, no sandbox (the tests run as root in CI), none of the updates,
// sync or QUIC probes that a closed network refuses, and no name resolution
// but localhost's.
var flags = []chromedp.ExecAllocatorOption{
	chromedp.NoSandbox,
	chromedp.Flag("disable-gpu", true),
	chromedp.Flag("disable-quic", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-domain-reliability", true),
	chromedp.Flag("no-pings", true),
	chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
}

// Open renders the page at rawURL (file:// or a loopback http:// address) in
// a new headless Chromium with a fresh profile: it waits for the load event
// and for the network to go quiet, for opts.WaitFor, for web fonts and two
// animation frames, then evaluates opts.Eval and takes a full-page
// screenshot. A check that throws is an error; console errors and
// exceptions are not, they are in the Page.
func Open(ctx context.Context, rawURL string, opts Options) (*Page, error) {
	if opts.Width == 0 && opts.Height == 0 {
		opts.Width, opts.Height = DesktopWidth, DesktopHeight
	}
	if opts.Width <= 0 || opts.Height <= 0 {
		return nil, fmt.Errorf("browser: viewport %dx%d: width and height must be positive", opts.Width, opts.Height)
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	exe := opts.Chromium
	if exe == "" {
		var err error
		if exe, err = Find(); err != nil {
			return nil, err
		}
	}

	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	output := &tail{max: 4 << 10}
	alloc := append(chromedp.DefaultExecAllocatorOptions[:], flags...)
	alloc = append(alloc,
		chromedp.ExecPath(exe),
		chromedp.WindowSize(opts.Width, opts.Height),
		chromedp.CombinedOutput(output),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, alloc...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	// Start the browser (on about:blank), then listen: every message of the
	// page to come is seen.
	if err := chromedp.Do(bctx); err != nil {
		return nil, fmt.Errorf("browser: start %s: %w%s", exe, err, output.suffix())
	}
	console := collect(bctx)
	idle := networkIdle(bctx)

	p := &Page{Results: map[string]json.RawMessage{}}
	fail := func(step string, err error) (*Page, error) {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%v)", err, ctxErr)
		}
		msgs := console.stop(bctx)
		return nil, fmt.Errorf("browser: %s %s: %w%s", step, rawURL, err, msgs.suffix())
	}

	var emulate []chromedp.EmulateViewportOption
	if opts.Mobile {
		emulate = append(emulate, chromedp.EmulateMobile)
	}
	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(int64(opts.Width), int64(opts.Height), emulate...),
		chromedp.Navigate(rawURL),
	); err != nil {
		return fail("load", err)
	}
	select {
	case <-idle:
	case <-time.After(networkIdleWait):
	case <-ctx.Done():
		return fail("load", ctx.Err())
	}
	if opts.WaitFor != "" {
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](opts.WaitFor)); err != nil {
			return fail("wait for "+opts.WaitFor+" on", err)
		}
	}
	const settle = `document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))))`
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](settle, chromedp.EvalAwaitPromise)); err != nil {
		return fail("settle", err)
	}
	for _, c := range opts.Eval {
		v, err := chromedp.Run(bctx, chromedp.Evaluate[json.RawMessage](c.JS, chromedp.EvalAwaitPromise))
		if err != nil {
			return fail(fmt.Sprintf("check %q (%s) on", c.Name, c.JS), err)
		}
		p.Results[c.Name] = v
	}
	title, err := chromedp.Run(bctx, chromedp.Title())
	if err != nil {
		return fail("title of", err)
	}
	p.Title = title
	if p.Screenshot, err = chromedp.Run(bctx, chromedp.FullScreenshot(100)); err != nil {
		return fail("screenshot", err)
	}
	msgs := console.stop(bctx)
	if msgs.failed != nil {
		return nil, fmt.Errorf("browser: console of %s: %w", rawURL, msgs.failed)
	}
	p.ConsoleErrors, p.Exceptions = msgs.errors, msgs.exceptions
	return p, nil
}

// networkIdle returns a channel closed when the next document of the page
// reports the lifecycle event networkIdle (its frame's, not a subframe's).
func networkIdle(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	var once sync.Once
	var frame cdp.FrameID // the frame of the first init: the page's own
	// Listen calls the func on one goroutine, in the order of the events.
	_ = chromedp.Listen(ctx, func(ev any) {
		e, ok := ev.(*page.EventLifecycleEvent)
		if !ok {
			return
		}
		switch {
		case e.Name == "init" && frame == "":
			frame = e.FrameID
		case e.Name == "networkIdle" && frame != "" && e.FrameID == frame:
			once.Do(func() { close(done) })
		}
	})
	return done
}
