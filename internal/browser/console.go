package browser

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// stopWait bounds how long stop waits for the console to catch up.
const stopWait = 5 * time.Second

// console gathers a page's console errors and uncaught exceptions as they
// arrive (chromedp.Console: runtime.consoleAPICalled, runtime.exceptionThrown
// and log.entryAdded).
type console struct {
	sentinel string
	seen     chan struct{} // closed when the sentinel arrives or the stream ends
	cancel   context.CancelFunc

	mu   sync.Mutex
	msgs messages
}

// messages are the errors a page reported, in order.
type messages struct {
	errors, exceptions []string
	// failed is why the console could not be read to the end.
	failed error
}

// collect subscribes to the console of ctx's page, whose browser runs, and
// gathers its messages until stop.
func collect(ctx context.Context) *console {
	cctx, cancel := context.WithCancel(ctx)
	c := &console{sentinel: "winback-browser-done-" + rand.Text(), seen: make(chan struct{}), cancel: cancel}
	stream := chromedp.Console(cctx) // subscribes now
	go func() {
		defer close(c.seen)
		for m, err := range stream {
			if err != nil {
				if cctx.Err() == nil {
					c.mu.Lock()
					c.msgs.failed = err
					c.mu.Unlock()
				}
				return
			}
			if m.Type == chromedp.ConsoleDebug && m.Text == c.sentinel {
				return
			}
			c.add(m)
		}
	}()
	return c
}

// add keeps m when it is an error or an exception.
func (c *console) add(m chromedp.ConsoleMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case m.IsException():
		c.msgs.exceptions = append(c.msgs.exceptions, describe(m))
	case m.Type == chromedp.ConsoleError && m.Source == "network" && isFavicon(m.URL):
		// Chromium asks an http:// origin for /favicon.ico by itself; a
		// server without one is not the page's error.
	case m.Type == chromedp.ConsoleError, m.Type == "assert":
		c.msgs.errors = append(c.msgs.errors, describe(m))
	}
}

// isFavicon reports whether rawURL is an origin's /favicon.ico.
func isFavicon(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Path == "/favicon.ico"
}

// stop ends the collection and returns what was gathered. It first logs a
// sentinel and waits for it, so that every message the page sent before is
// in; a page that no longer answers gives what arrived.
func (c *console) stop(ctx context.Context) messages {
	js := fmt.Sprintf("console.debug(%q)", c.sentinel)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](js)); err == nil {
		select {
		case <-c.seen:
		case <-time.After(stopWait):
		case <-ctx.Done():
		}
	}
	c.cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	return messages{
		errors:     append([]string(nil), c.msgs.errors...),
		exceptions: append([]string(nil), c.msgs.exceptions...),
		failed:     c.msgs.failed,
	}
}

// suffix renders the messages for the end of an error message.
func (m messages) suffix() string {
	var b strings.Builder
	for _, e := range m.errors {
		b.WriteString("\n  console error: " + e)
	}
	for _, e := range m.exceptions {
		b.WriteString("\n  exception: " + e)
	}
	return b.String()
}

// describe renders a message as "text (where)", with the browser's source
// first for its own messages ("network: Failed to load resource: ...").
func describe(m chromedp.ConsoleMessage) string {
	s := m.Text
	if m.Source != "" {
		s = m.Source + ": " + s
	}
	if m.URL != "" {
		where := m.URL
		if len(where) > 120 { // a data: URL, say
			where = where[:120] + "…"
		}
		if m.Line > 0 || m.Column > 0 {
			where = fmt.Sprintf("%s:%d:%d", where, m.Line+1, m.Column+1)
		}
		s += " (" + where + ")"
	}
	return s
}

// tail keeps the last max bytes written to it: the browser's output, for
// the error when it does not start.
type tail struct {
	max int
	mu  sync.Mutex
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

// suffix renders the output for the end of an error message.
func (t *tail) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if out := strings.TrimSpace(string(t.buf)); out != "" {
		return "\nchromium output (end):\n" + out
	}
	return ""
}
