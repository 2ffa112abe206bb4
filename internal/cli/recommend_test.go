package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRecommendApplyAndPreview: a kind: recommendation file is applied
// with parcours apply -f and previewed for a customer with parcours
// recommend, through a running serve that learned the orders sent to its
// tracking API; a file with an unknown strategy is refused naming the
// file and the field.
func TestRecommendApplyAndPreview(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	data := t.TempDir()
	code, out, errOut := run(t, "--data-dir", data, "--json", "sources", "create", "--name", "Web shop", "--channel", "web")
	var src map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &src) != nil {
		t.Fatalf("sources create: %d %s %s", code, out, errOut)
	}
	url, cmd := startServe(t, data)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()

	shoe := `{"product_id":"shoe","sku":"SHOE-42","name":"Trail shoe","category":"shoes","price":89.9}`
	bag := `{"product_id":"bag","sku":"BAG-1","name":"Sac cabas","category":"bags","price":129}`
	socks := `{"product_id":"socks","sku":"SOCK-1","name":"Chaussettes","category":"socks","price":9.9}`
	var batch []string
	for k, lines := range []struct{ user, lines string }{
		{"u1", shoe + "," + bag}, {"u2", shoe + "," + bag}, {"u3", shoe + "," + socks}, {"sophie", shoe},
	} {
		batch = append(batch, fmt.Sprintf(`{"type":"track","userId":%q,"event":"Order Completed","properties":{"order_id":"o%d","products":[%s]}}`, lines.user, k, lines.lines))
	}
	req, _ := http.NewRequest("POST", url+"/v1/batch", strings.NewReader(`{"batch":[`+strings.Join(batch, ",")+`]}`))
	req.SetBasicAuth(src["write_key"].(string), "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ingest: %v %v", resp, err)
	}
	resp.Body.Close()

	file := filepath.Join(t.TempDir(), "cheap.yaml")
	os.WriteFile(file, []byte("kind: recommendation\nname: cheap_with\ndescription: what goes with it, under 20 euros\nstrategy: similar\nfilters:\n  max_price: 20\nfallback: none\n"), 0o644)
	if code, out, errOut := run(t, "--data-dir", data, "apply", "-f", file); code != 0 || !strings.Contains(out, "Recommendations") || !strings.Contains(out, "cheap_with") {
		t.Fatalf("apply: %d\n%s\n%s", code, out, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("kind: recommendation\nname: oops\nstrategy: magic\n"), 0o644)
	if code, _, errOut := run(t, "--data-dir", data, "apply", "-f", bad); code == 0 || !strings.Contains(errOut, "bad.yaml") || !strings.Contains(errOut, "strategy") {
		t.Fatalf("a bad file: %d %s", code, errOut)
	}

	// The orders reach the model and sophie's profile.
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out, _ = run(t, "--data-dir", data, "recommend", "user_id:sophie")
		if code == 0 && strings.Contains(out, "bag") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("recommend: %d\n%s", code, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// The shoe she bought is not proposed again: bag, then socks.
	if !strings.HasPrefix(lines[0], "for_you (personalised) for profile") || len(lines) != 4 || !strings.Contains(lines[2], "bag") ||
		!strings.Contains(lines[2], "129.00") || !strings.Contains(lines[3], "socks") {
		t.Errorf("for_you:\n%s", out)
	}
	if code, out, errOut := run(t, "--data-dir", data, "recommend", "user_id:sophie", "--strategy", "cheap_with", "--product", "shoe"); code != 0 ||
		!strings.Contains(out, "socks") || strings.Contains(out, "bag") {
		t.Errorf("cheap_with: %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := run(t, "--data-dir", data, "recommend", "--list"); code != 0 || !strings.Contains(out, "cheap_with") || !strings.Contains(out, "browse_abandonment") {
		t.Errorf("--list: %d\n%s", code, out)
	}
}
