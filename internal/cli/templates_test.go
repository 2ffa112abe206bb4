package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTemplatesPreviewLikeTheAPI: with serve running on the data
// directory, parcours templates preview shows what the API preview shows
// (tracked links, List-Unsubscribe), not a rendering without serve's
// --public-url.
func TestTemplatesPreviewLikeTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	data := t.TempDir()
	code, out, errOut := run(t, "--data-dir", data, "--json", "sources", "create", "--name", "Web", "--channel", "web")
	var src struct {
		WriteKey string `json:"write_key"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &src) != nil {
		t.Fatalf("sources create: %d %s %s", code, out, errOut)
	}
	tpl := filepath.Join(t.TempDir(), "soldes.json")
	os.WriteFile(tpl, []byte(`{"name":"Soldes","topic":"offers","body":{"email":{"subject":"Bonjour {{ profile.first_name }}",
		"html":"<p>Les soldes : <a href=\"https://shop.example/soldes\">voir</a> <a href=\"{{ message.unsubscribe_url }}\">désinscription</a></p>"}}}`), 0o600)
	if code, out, errOut := run(t, "--data-dir", data, "templates", "save", tpl); code != 0 {
		t.Fatalf("templates save: %d %s %s", code, out, errOut)
	}
	url, cmd := startServe(t, data, "--public-url", "https://parcours.shop.example")
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	req, _ := http.NewRequest("POST", url+"/v1/identify", strings.NewReader(`{"userId":"zoe","traits":{"first_name":"Zoé","email":"zoe@example.fr","emailOptIn":true}}`))
	req.SetBasicAuth(src.WriteKey, "")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("identify: %v %v", err, resp)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, _, _ := run(t, "--data-dir", data, "profiles", "get", "user_id:zoe"); code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no profile after 10 s")
		}
	}
	code, out, errOut = run(t, "--data-dir", data, "templates", "preview", "soldes", "--profile", "email:zoe@example.fr")
	if code != 0 || !strings.Contains(out, "List-Unsubscribe") || !strings.Contains(out, "https://parcours.shop.example/t/c/") ||
		!strings.Contains(out, "Bonjour Zoé") {
		t.Fatalf("preview while serving: exit %d\n%s\n%s", code, out, errOut)
	}
	// --local renders here, and says what it lacks.
	code, out, errOut = run(t, "--data-dir", data, "templates", "preview", "soldes", "--profile", "user_id:zoe", "--local")
	if code != 0 || strings.Contains(out, `"List-Unsubscribe"`) || !strings.Contains(out, "no unsubscribe link") || !strings.Contains(errOut, "no --public-url") {
		t.Fatalf("preview --local: exit %d\n%s\n%s", code, out, errOut)
	}
}
