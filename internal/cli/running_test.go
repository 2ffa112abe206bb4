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

// TestCommandsFindTheServer: serve records where it listens in its data
// directory; commands on that directory talk to it without --server,
// commands run elsewhere create nothing and say where the data and the
// server are; a clean stop removes the record, a crash leaves a stale one
// that is recognised.
func TestCommandsFindTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the user's list of running servers
	data := filepath.Join(t.TempDir(), "shop-data")
	url, cmd := startServe(t, data)
	defer cmd.Process.Kill()

	var info serverInfo
	b, err := os.ReadFile(filepath.Join(data, serverFile))
	if err != nil || json.Unmarshal(b, &info) != nil || info.URL != url || info.PID != cmd.Process.Pid || info.DataDir != data {
		t.Fatalf("server.json = %s (%v); want url %s, pid %d, data dir %s", b, err, url, cmd.Process.Pid, data)
	}
	// On its data directory, no --server needed.
	if code, out, errOut := run(t, "--data-dir", data, "segments", "list"); code != 0 || !strings.Contains(out, "ID") {
		t.Fatalf("segments list on the data directory: exit %d\n%s\n%s", code, out, errOut)
	}
	// The hint of sources create gives the real address.
	if code, out, errOut := run(t, "--data-dir", data, "sources", "create", "--name", "Web shop", "--channel", "web"); code != 0 || !strings.Contains(out, url+"/v1/track") {
		t.Fatalf("sources create: exit %d\n%s\n%s", code, out, errOut)
	}

	// Elsewhere (the default ./parcours-data does not exist): nothing is
	// created, and the error names the server and its data directory.
	elsewhere := t.TempDir()
	t.Chdir(elsewhere)
	for _, args := range [][]string{
		{"profiles", "get", "1"},
		{"segments", "list"},
		{"sources", "create", "--name", "Web shop", "--channel", "web"},
		{"locations", "import", filepath.Join(elsewhere, "stores.csv")},
		{"replay"},
	} {
		os.WriteFile(filepath.Join(elsewhere, "stores.csv"), []byte("id,name,kind\nstore-lyon-01,Lyon,store\n"), 0o600)
		code, _, errOut := run(t, args...)
		if code != 1 || !strings.Contains(errOut, "no Parcours data in "+filepath.Join(elsewhere, "parcours-data")) ||
			!strings.Contains(errOut, url) || !strings.Contains(errOut, "--data-dir "+data) {
			t.Errorf("%v elsewhere: exit %d\n%s", args, code, errOut)
		}
		if _, err := os.Stat(filepath.Join(elsewhere, "parcours-data")); err == nil {
			t.Fatalf("%v created ./parcours-data", args)
		}
	}
	// Naming a new directory creates it, and says so.
	fresh := filepath.Join(elsewhere, "fresh")
	if code, _, errOut := run(t, "--data-dir", fresh, "sources", "create", "--name", "CRM", "--channel", "crm"); code != 0 || !strings.Contains(errOut, "new data directory "+fresh) {
		t.Fatalf("sources create in a named new directory: exit %d\n%s", code, errOut)
	}

	// A clean stop removes the record; the next command says no serve runs.
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(data, serverFile)); !os.IsNotExist(err) {
		t.Fatalf("server.json after a clean stop: %v", err)
	}
	code, _, errOut := run(t, "--data-dir", data, "segments", "list")
	if code != 1 || !strings.Contains(errOut, "no parcours serve runs on the data directory "+data) {
		t.Fatalf("segments list once stopped: exit %d\n%s", code, errOut)
	}

	// A crash leaves server.json behind: it is recognised as stale.
	_, cmd = startServe(t, data)
	cmd.Process.Kill()
	cmd.Wait()
	if findServer(data) != nil {
		t.Fatal("a killed server is still found")
	}
	if len(otherServers(elsewhere)) != 0 {
		t.Fatal("a killed server is still listed")
	}
}

// TestUnmergeThroughTheServer: with serve running on the data directory,
// profiles unmerge asks it to undo the merge instead of refusing.
func TestUnmergeThroughTheServer(t *testing.T) {
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
	url, cmd := startServe(t, data)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	body := `{"batch":[
		{"type":"track","event":"Product Viewed","anonymousId":"a1","messageId":"m1"},
		{"type":"identify","userId":"u1","traits":{"email":"u1@example.fr"},"messageId":"m2"},
		{"type":"track","event":"Signed Up","anonymousId":"a1","userId":"u1","messageId":"m3"}]}`
	req, _ := http.NewRequest("POST", url+"/v1/batch", strings.NewReader(body))
	req.SetBasicAuth(src.WriteKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("send: %v %v", err, resp)
	}
	resp.Body.Close()
	var merges struct {
		ProfileID int64 `json:"profile_id"`
		Merges    []struct {
			ID int64 `json:"id"`
		} `json:"merges"`
	}
	for deadline := time.Now().Add(10 * time.Second); len(merges.Merges) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no merge after 10 s")
		}
		_, out, _ := run(t, "--data-dir", data, "--json", "profiles", "merges", "user_id:u1")
		json.Unmarshal([]byte(out), &merges)
	}
	code, out, errOut = run(t, "--data-dir", data, "profiles", "unmerge", fmt.Sprint(merges.ProfileID), "--merge", fmt.Sprint(merges.Merges[0].ID))
	if code != 0 || !strings.Contains(out, "undone by parcours serve at "+url) {
		t.Fatalf("unmerge while serving: exit %d\n%s\n%s", code, out, errOut)
	}
}
