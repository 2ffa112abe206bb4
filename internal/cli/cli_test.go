package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run runs the command line and returns its exit code and outputs.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, cmd := range [][]string{{}, {"serve"}, {"sources"}, {"sources", "create"}, {"sources", "list"}, {"sources", "disable"},
		{"import"}, {"gen"}, {"bench"}, {"bench", "ingest"}, {"migrate"}, {"version"}} {
		code, out, _ := run(t, append(cmd, "--help")...)
		if code != 0 || !strings.Contains(out, "Usage: parcours") {
			t.Errorf("parcours %s --help: exit %d\n%s", strings.Join(cmd, " "), code, out)
		}
	}
	if code, _, errOut := run(t, "nope"); code != 2 || !strings.Contains(errOut, "--help") {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
}

func TestSourcesCommands(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := run(t, "--data-dir", dir, "sources", "create", "--name", "Web shop", "--channel", "web")
	if code != 0 || !strings.Contains(out, "Write key: wk_") {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}
	code, out, _ = run(t, "--data-dir", dir, "--json", "sources", "create", "--name", "Lyon tills", "--channel", "pos", "--store-id", "lyon-01")
	var created map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil || created["store_id"] != "lyon-01" {
		t.Fatalf("create --json: %d %s", code, out)
	}
	for _, bad := range [][]string{
		{"sources", "create", "--name", "Web shop", "--channel", "web"}, // taken
		{"sources", "create", "--name", "Tills", "--channel", "pos"},    // no store id
		{"sources", "create", "--name", "Fax", "--channel", "fax"},      // no such channel
		{"sources", "disable", "nope"},                                  // unknown
	} {
		if code, _, errOut := run(t, append([]string{"--data-dir", dir}, bad...)...); code != 1 || errOut == "" {
			t.Errorf("%v: exit %d, %q; want 1 with a message", bad, code, errOut)
		}
	}
	if code, out, _ := run(t, "--data-dir", dir, "sources", "disable", "Web shop"); code != 0 || !strings.Contains(out, "Disabled") {
		t.Fatalf("disable: %d %s", code, out)
	}
	code, out, _ = run(t, "--data-dir", dir, "--json", "sources", "list")
	var list []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[0]["disabled_at"] == nil {
		t.Fatalf("list --json: %d %s", code, out)
	}
	if code, out, _ := run(t, "--data-dir", dir, "sources", "list"); code != 0 || !strings.Contains(out, "disabled") || !strings.Contains(out, "lyon-01") {
		t.Fatalf("list: %d %s", code, out)
	}
}

// TestConfigPrecedence checks flag > environment > file > default.
func TestConfigPrecedence(t *testing.T) {
	fileDir, envDir, flagDir := t.TempDir(), t.TempDir(), t.TempDir()
	cfg := filepath.Join(t.TempDir(), "parcours.yaml")
	os.WriteFile(cfg, []byte("data-dir: "+fileDir+"\n"), 0o600)
	where := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append(args, "migrate")...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, errOut)
		}
		return out
	}
	if out := where("--config", cfg); !strings.Contains(out, fileDir) {
		t.Errorf("file: %s", out)
	}
	t.Setenv("PARCOURS_DATA_DIR", envDir)
	if out := where("--config", cfg); !strings.Contains(out, envDir) {
		t.Errorf("env over file: %s", out)
	}
	if out := where("--config", cfg, "--data-dir", flagDir); !strings.Contains(out, flagDir) {
		t.Errorf("flag over env: %s", out)
	}
	if code, _, errOut := run(t, "--database", "mysql://x", "migrate"); code != 1 || !strings.Contains(errOut, "postgres://") {
		t.Errorf("bad database URL: %d %s", code, errOut)
	}
}
