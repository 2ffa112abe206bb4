// Package browsertest drives a real headless Chromium from Go tests
// (through chromedp, the DevTools protocol): the console's end-to-end
// tests sign in, click and type as people do. A test skips when no
// Chromium is installed (.ci/run installs Debian's chromium package).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Find returns the path of a Chromium (or Chrome) binary: $PARCOURS_CHROMIUM,
// else the first of the usual names on $PATH, else "".
func Find() string {
	if p := os.Getenv("PARCOURS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser is one headless Chromium process for a test, with a fresh
// profile directory.
type Browser struct {
	alloc  context.Context
	cancel context.CancelFunc
}

// New starts Chromium for t, or skips t when there is none. It stops
// with the test.
func New(t testing.TB) *Browser {
	t.Helper()
	path := Find()
	if path == "" {
		t.Skip("no Chromium found (install Debian's chromium package, or set PARCOURS_CHROMIUM)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "fr-FR"),
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &Browser{alloc: alloc, cancel: cancel}
	t.Cleanup(cancel)
	return b
}

// Tab opens a tab of the given viewport size (a desktop 1280×800, a
// tablet 820×1180, a phone 390×844), with its own cookies, for at most
// timeout. Its context ends with the test.
func (b *Browser) Tab(t testing.TB, width, height int64, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.alloc, chromedp.WithLogf(t.Logf))
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelT(); cancel() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("browsertest: open a tab: %v", err)
	}
	return ctx
}

// Run runs actions in the tab, failing the test with what step failed.
func Run(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// Text is the text of the first element sel (CSS) finds, once visible.
func Text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return s
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	return v
}

// Screenshot saves the page as name.png into $PARCOURS_SCREENSHOTS when
// it is set (docs/console.md's pictures come from such a run), else into
// the test's temporary directory. It returns the file's path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	dir := os.Getenv("PARCOURS_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
