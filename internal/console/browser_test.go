package console_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parcours/parcours/internal/browsertest"
	"github.com/parcours/parcours/internal/cli"
)

// TestMain lets the test binary act as the parcours binary: the browser
// tests run `parcours serve --demo` as a real process, as a newcomer
// does, and stop it at the end.
func TestMain(m *testing.M) {
	if os.Getenv("PARCOURS_TEST_RUN_MAIN") == "1" {
		os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	code := m.Run()
	stopDemo()
	os.Exit(code)
}

// demo is a running `parcours serve --demo`.
type demo struct {
	url, dir, key string
	cmd           *exec.Cmd
	out           *bytes.Buffer
}

var (
	demoMu  sync.Mutex
	theDemo *demo
)

// startDemo starts the demo server once for the package's browser tests
// (they tell stories on distinct customers, orders and tasks), and waits
// until its data is loaded.
func startDemo(t *testing.T) *demo {
	t.Helper()
	demoMu.Lock()
	defer demoMu.Unlock()
	if theDemo != nil {
		return theDemo
	}
	dir, err := os.MkdirTemp("", "parcours-console-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "serve", "--demo", "--demo-customers", "60", "--demo-days", "30", "--data-dir", filepath.Join(dir, "data"),
		"--addr", "127.0.0.1:0", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "PARCOURS_TEST_RUN_MAIN=1")
	dieWithParent(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &demo{dir: dir, cmd: cmd, out: &out}
	theDemo = d
	urlc, loaded := make(chan string, 1), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		listening := regexp.MustCompile(`listening on (http://\S+)`)
		for sc.Scan() {
			line := sc.Text()
			if m := listening.FindStringSubmatch(line); m != nil {
				urlc <- m[1]
			}
			if strings.HasPrefix(line, "Demo loaded") {
				close(loaded)
			}
		}
	}()
	select {
	case d.url = <-urlc:
	case <-time.After(2 * time.Minute):
		t.Fatalf("serve --demo did not listen within 2 minutes:\n%s", out.String())
	}
	select {
	case <-loaded:
	case <-time.After(4 * time.Minute):
		t.Fatalf("serve --demo did not load the demo within 4 minutes:\n%s", out.String())
	}
	key, err := os.ReadFile(filepath.Join(dir, "data", "admin-key"))
	if err != nil {
		t.Fatal(err)
	}
	d.key = strings.TrimSpace(string(key))
	return d
}

func stopDemo() {
	demoMu.Lock()
	defer demoMu.Unlock()
	if theDemo == nil {
		return
	}
	_ = theDemo.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = theDemo.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = theDemo.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(theDemo.dir)
}

// api calls the demo's management API with the admin key.
func (d *demo) api(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+d.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
}

// track sends one call to the tracking API through a source of the demo.
func (d *demo) track(t *testing.T, call map[string]any) {
	t.Helper()
	var src struct {
		WriteKey string `json:"write_key"`
	}
	d.api(t, "POST", "/api/v1/sources", map[string]string{"name": fmt.Sprintf("e2e %d", time.Now().UnixNano()), "channel": "web"}, &src)
	b, _ := json.Marshal(call)
	req, _ := http.NewRequest("POST", d.url+"/v1/track", bytes.NewReader(b))
	req.SetBasicAuth(src.WriteKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("track: %s", resp.Status)
	}
}

const (
	desktopW, desktopH = 1280, 800
	tabletW, tabletH   = 820, 1180
	phoneW, phoneH     = 390, 844
)

// signIn opens the sign-in page and signs in with an email and password.
func signIn(t *testing.T, ctx context.Context, d *demo, email, password string) {
	t.Helper()
	browsertest.Run(t, ctx, "sign in as "+email,
		chromedp.Navigate(d.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`form[action="/console/login"] button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/console/logout"]`)),
	)
}

// waitText waits until the element's text contains want.
func waitText(t *testing.T, ctx context.Context, sel, want string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	var got string
	for time.Now().Before(deadline) {
		got, _ = chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||""`, sel)))
		if strings.Contains(got, want) {
			return got
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("%s: want text containing %q, have %q", sel, want, got)
	return got
}

// orderPhone is the mobile number of the customer of the demo's first
// click & collect order, at the Lyon store: a customer the store has seen.
func (d *demo) orderPhone(t *testing.T) string {
	t.Helper()
	var o struct {
		Order struct {
			Customer struct {
				UserID string `json:"user_id"`
			} `json:"customer"`
		} `json:"order"`
	}
	d.api(t, "GET", "/api/v1/orders/CC-DEMO-2", nil, &o)
	var p struct {
		Identifiers []struct{ Kind, Value string } `json:"identifiers"`
	}
	d.api(t, "GET", "/api/v1/profiles?user_id="+o.Order.Customer.UserID, nil, &p)
	for _, id := range p.Identifiers {
		if id.Kind == "phone" {
			return id.Value
		}
	}
	t.Fatalf("the customer of CC-DEMO-2 has no phone: %+v", p.Identifiers)
	return ""
}
