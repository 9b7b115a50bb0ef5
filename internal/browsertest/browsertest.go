package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Find returns the browser binary to drive: $CHROMIUM when set, else the
// first Chromium or Chrome on the PATH, else "".
func Find() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Context starts a headless browser for t and returns a chromedp context
// on its first tab, which ends after timeout or when t ends. It skips t in
// -short mode and when no browser is found, unless CI is set, where a
// missing browser fails t.
func Context(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	bin := Find()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no chromium binary found, and CI is set: .ci/run should have installed it (apt-get install -y chromium)")
		}
		t.Skip("no chromium binary found (install chromium, or set CHROMIUM=/path/to/browser); CI runs this test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(1400, 1000),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		bcancel()
		acancel()
		cancel()
	})
	return bctx
}
