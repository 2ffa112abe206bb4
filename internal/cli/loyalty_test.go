package cli

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoyaltyCommands: a programme applied from its file, a member made
// by a web order, then the till's commands as a user types them: the
// statement (readable, and --json), a redemption retried with its key,
// a refused one, a goodwill credit, the liability report.
func TestLoyaltyCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	data := t.TempDir()
	code, out, errOut := run(t, "--data-dir", data, "--json", "sources", "create", "--name", "Web shop", "--channel", "web")
	var src struct {
		WriteKey string `json:"write_key"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &src) != nil || src.WriteKey == "" {
		t.Fatalf("source: %d %s %s", code, out, errOut)
	}
	url, cmd := startServe(t, data)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	if code, out, errOut := run(t, "--data-dir", data, "apply", "-f", filepath.Join("..", "..", "examples", "loyalty", "club.yaml")); code != 0 ||
		!strings.Contains(out, "Loyalty programme") || !strings.Contains(out, "club") {
		t.Fatalf("apply: %d %s %s", code, out, errOut)
	}
	batch := `{"batch":[{"type":"identify","userId":"ana","traits":{"email":"ana@example.com","loyaltyId":"4006381333931"}},
		{"type":"track","userId":"ana","event":"Order Completed","properties":{"order_id":"W-1","total":120}}]}`
	req, _ := http.NewRequest("POST", url+"/v1/batch", strings.NewReader(batch))
	req.SetBasicAuth(src.WriteKey, "")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("ingest: %v %v", resp, err)
	}
	var st map[string]any
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, out, _ := run(t, "--data-dir", data, "--json", "loyalty", "statement", "4006381333931")
		if code == 0 && json.Unmarshal([]byte(out), &st) == nil && st["balance"] == 120.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("statement: %d %s", code, out)
		}
	}
	code, out, _ = run(t, "--data-dir", data, "loyalty", "statement", "email:ana@example.com")
	for _, want := range []string{"Balance    120 points (1.20 EUR)", "Tier       Silver: 880 qualifying points to gold", "earn", "order:W-1"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("statement lacks %q: %d\n%s", want, code, out)
		}
	}
	for i, want := range []string{"done", "done before with this key: nothing changed"} {
		code, out, errOut := run(t, "--data-dir", data, "loyalty", "redeem", "4006381333931", "--points", "100", "--key", "till-1")
		if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "Balance    20 points") {
			t.Fatalf("redeem %d: %d %s %s", i, code, out, errOut)
		}
	}
	if code, _, errOut := run(t, "--data-dir", data, "loyalty", "redeem", "4006381333931", "--reward", "voucher-5", "--key", "till-2"); code == 0 ||
		!strings.Contains(errOut, "has 20 points, 500 asked") {
		t.Fatalf("voucher over the balance: %d %s", code, errOut)
	}
	if code, out, errOut := run(t, "--data-dir", data, "loyalty", "earn", "user_id:ana", "--points", "480", "--key", "goodwill-1", "--note", "late delivery"); code != 0 ||
		!strings.Contains(out, "Balance    500 points") {
		t.Fatalf("earn: %d %s %s", code, out, errOut)
	}
	code, out, errOut = run(t, "--data-dir", data, "loyalty", "redeem", "4006381333931", "--reward", "voucher-5", "--key", "till-3")
	if code != 0 || !strings.Contains(out, "Voucher    LOY-") || !strings.Contains(out, "Balance    0 points") {
		t.Fatalf("voucher: %d %s %s", code, out, errOut)
	}
	code, out, errOut = run(t, "--data-dir", data, "loyalty", "liability")
	if code != 0 || !strings.Contains(out, "Points outstanding  0") || !strings.Contains(out, "Members             1") {
		t.Fatalf("liability: %d %s %s", code, out, errOut)
	}
}
