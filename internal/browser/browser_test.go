package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chromium returns the browser the tests run. They need it: make test
// installs it first (make chromium), so a missing one fails, never skips.
func chromium(t *testing.T) string {
	t.Helper()
	exe, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// writePage writes an HTML page into a temporary directory and returns its
// file:// URL.
func writePage(t *testing.T, html string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(path, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	u, err := FileURL(path)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// chart is a self-contained page with an inline SVG of three bars, tall
// enough to scroll.
const chart = `<!doctype html>
<html><head><meta charset="utf-8"><title>Bars</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{margin:0;font:16px sans-serif} .tall{height:2000px}</style></head>
<body>
<svg id="bars" width="300" height="100" viewBox="0 0 300 100">
  <rect x="10" y="40" width="80" height="60" fill="#4a7"/>
  <rect x="110" y="20" width="80" height="80" fill="#47a"/>
  <rect x="210" y="70" width="80" height="30" fill="#a74"/>
</svg>
<div class="tall"></div>
%SCRIPT%
</body></html>`

func testPage(script string) string {
	return strings.Replace(chart, "%SCRIPT%", script, 1)
}

func TestOpenReportsConsoleErrors(t *testing.T) {
	exe := chromium(t)
	u := writePage(t, testPage(`<script>
console.log("fine");
console.warn("only a warning");
console.error("chart %s has no data", "clv");
</script>`))
	p, err := Open(context.Background(), u, Options{Chromium: exe})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.ConsoleErrors) != 1 || !strings.HasPrefix(p.ConsoleErrors[0], "chart clv has no data (file://") {
		t.Errorf("ConsoleErrors = %q; want the one console.error, formatted, with its place", p.ConsoleErrors)
	}
	if len(p.Exceptions) != 0 {
		t.Errorf("Exceptions = %q; want none", p.Exceptions)
	}
	if p.Title != "Bars" {
		t.Errorf("Title = %q; want Bars", p.Title)
	}
}

func TestOpenReportsExceptionsAndFailedLoads(t *testing.T) {
	exe := chromium(t)
	u := writePage(t, testPage(`<script src="missing.js"></script>
<script>undefinedFunction();</script>
<script>Promise.reject(new Error("no data"));</script>`))
	p, err := Open(context.Background(), u, Options{Chromium: exe})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Exceptions) != 2 ||
		!strings.Contains(p.Exceptions[0], "undefinedFunction is not defined") ||
		!strings.Contains(p.Exceptions[1], "no data") {
		t.Errorf("Exceptions = %q; want the ReferenceError and the unhandled rejection", p.Exceptions)
	}
	if len(p.ConsoleErrors) != 1 || !strings.Contains(p.ConsoleErrors[0], "missing.js") {
		t.Errorf("ConsoleErrors = %q; want the failed load of missing.js", p.ConsoleErrors)
	}
	if got := len(p.Errors()); got != 3 {
		t.Errorf("Errors() has %d entries; want 3: %q", got, p.Errors())
	}
}

func TestOpenCleanPageChecksAndScreenshot(t *testing.T) {
	exe := chromium(t)
	u := writePage(t, testPage(`<script>
document.getElementById("bars").setAttribute("data-drawn", "yes");
window.ready = new Promise(r => setTimeout(() => { window.late = 42; r(); }, 50));
</script>`))
	for _, tt := range []struct {
		name          string
		width, height int
		mobile        bool
	}{
		{"desktop", 0, 0, false},
		{"phone", PhoneWidth, PhoneHeight, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Open(context.Background(), u, Options{
				Chromium: exe,
				Width:    tt.width, Height: tt.height, Mobile: tt.mobile,
				WaitFor: "window.late === 42",
				Eval: []Check{
					{Name: "rects", JS: `document.querySelectorAll("svg#bars rect").length`},
					{Name: "bars", JS: `[...document.querySelectorAll("svg#bars rect")].map(r => +r.getAttribute("height"))`},
					{Name: "async", JS: `window.ready.then(() => ({drawn: document.getElementById("bars").dataset.drawn}))`},
					{Name: "nothing", JS: `undefined`},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if errs := p.Errors(); len(errs) != 0 {
				t.Errorf("Errors() = %q; want none", errs)
			}
			var rects int
			if err := json.Unmarshal(p.Results["rects"], &rects); err != nil || rects != 3 {
				t.Errorf("rects = %s (%v); want 3", p.Results["rects"], err)
			}
			for name, want := range map[string]string{"bars": "[60,80,30]", "async": `{"drawn":"yes"}`, "nothing": "null"} {
				if got := string(p.Results[name]); got != want {
					t.Errorf("%s = %s; want %s", name, got, want)
				}
			}

			img, err := png.Decode(bytes.NewReader(p.Screenshot))
			if err != nil {
				t.Fatalf("screenshot is not a PNG: %v", err)
			}
			wantW := tt.width
			if wantW == 0 {
				wantW = DesktopWidth
			}
			if b := img.Bounds(); b.Dx() != wantW || b.Dy() < 2000 {
				t.Errorf("screenshot is %dx%d; want %d wide and the whole page (over 2000 high)", b.Dx(), b.Dy(), wantW)
			}
			// The first bar is drawn: its middle has the bar's colour #4a7.
			if r, g, b, _ := img.At(50, 8+70).RGBA(); r>>8 != 0x44 || g>>8 != 0xaa || b>>8 != 0x77 {
				t.Errorf("pixel in the first bar is #%02x%02x%02x; want #44aa77", r>>8, g>>8, b>>8)
			}
			if dir := os.Getenv("BROWSER_SCREENSHOTS"); dir != "" {
				if err := os.WriteFile(filepath.Join(dir, "browser-"+tt.name+".png"), p.Screenshot, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestOpenLoopbackHTTP(t *testing.T) {
	exe := chromium(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(testPage(`<img src="https://cdn.example.com/logo.png">`)))
	}))
	defer srv.Close()
	p, err := Open(context.Background(), srv.URL, Options{Chromium: exe, Eval: []Check{{Name: "rects", JS: `document.querySelectorAll("rect").length`}}})
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Results["rects"]) != "3" {
		t.Errorf("rects = %s; want 3", p.Results["rects"])
	}
	// The page reaches for the network: the load fails (no host name
	// resolves but localhost's) and says so.
	if len(p.ConsoleErrors) != 1 || !strings.Contains(p.ConsoleErrors[0], "cdn.example.com") {
		t.Errorf("ConsoleErrors = %q; want the failed load of the CDN image", p.ConsoleErrors)
	}
}

func TestOpenFailingCheck(t *testing.T) {
	exe := chromium(t)
	u := writePage(t, testPage(`<script>console.error("before the check")</script>`))
	_, err := Open(context.Background(), u, Options{Chromium: exe, Eval: []Check{{Name: "broken", JS: `document.querySelector("#none").length`}}})
	if err == nil {
		t.Fatal("Open with a throwing check: no error")
	}
	for _, want := range []string{`check "broken"`, "before the check"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestFind(t *testing.T) {
	exe := chromium(t)
	t.Setenv("CHROMIUM", exe)
	if got, err := Find(); err != nil || got != exe {
		t.Errorf("Find() with CHROMIUM=%s = %q, %v", exe, got, err)
	}
	t.Setenv("CHROMIUM", filepath.Join(t.TempDir(), "no-chrome"))
	_, err := Find()
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find() with a missing CHROMIUM = %v; want ErrNotFound", err)
	}
	for _, want := range []string{"no-chrome", "make chromium", "apt-get install chromium", "CHROMIUM="} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestFileURL(t *testing.T) {
	u, err := FileURL("/tmp/a b/report.html")
	if err != nil || u != "file:///tmp/a%20b/report.html" {
		t.Errorf("FileURL = %q, %v", u, err)
	}
}

func TestOpenMissingPage(t *testing.T) {
	exe := chromium(t)
	u, err := FileURL(filepath.Join(t.TempDir(), "no-report.html"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), u, Options{Chromium: exe})
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "no-report.html") {
		t.Errorf("Open of a missing file = %v; want an error naming it", err)
	}
}
