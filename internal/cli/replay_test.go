package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/segment"
)

// TestReplayRebuildsTheBehaviourIndex: replay rebuilds the profiles with
// the stages serve runs, the behaviour index among them: the index (which
// names profiles) is indexed again from the log, with the new profiles,
// instead of being left stale or dropped.
func TestReplayRebuildsTheBehaviourIndex(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	events := filepath.Join(dir, "events.ndjson")
	os.WriteFile(events, []byte(
		`{"type":"track","userId":"ana","event":"Product Viewed","messageId":"m1","timestamp":"2026-01-05T09:00:00Z"}`+"\n"+
			`{"type":"track","userId":"ana","event":"Order Completed","messageId":"m2","timestamp":"2026-01-05T09:05:00Z"}`+"\n"+
			`{"type":"track","userId":"bob","event":"Product Viewed","messageId":"m3","timestamp":"2026-01-05T10:00:00Z"}`+"\n"), 0o600)
	for _, args := range [][]string{
		{"sources", "create", "--name", "Web", "--channel", "web"},
		{"import", events, "--source", "Web"},
	} {
		if code, out, errOut := run(t, append([]string{"--data-dir", data}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
	}
	// An index left by an earlier run: empty, it names nobody.
	x, err := segment.OpenIndex(segment.IndexFile(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, "--data-dir", data, "replay"); code != 0 || !strings.Contains(out, "into 2 profiles") {
		t.Fatalf("replay: exit %d\n%s\n%s", code, out, errOut)
	}
	x, err = segment.OpenIndex(segment.IndexFile(data))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if s := x.Stats(); s.Upto != 3 || s.Profiles != 2 || s.Rows != 3 {
		t.Fatalf("behaviour index after replay: %+v, want the 3 events of the log, on 2 profiles", s)
	}
}

// TestReplayRefusesAnIndexItCannotOpen: serve starts without a behaviour
// index it cannot open (previews read the timelines), but an offline
// rebuild stops and says why, rather than leave the index stale.
func TestReplayRefusesAnIndexItCannotOpen(t *testing.T) {
	data := t.TempDir()
	if code, _, errOut := run(t, "--data-dir", data, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	if err := os.Mkdir(segment.IndexFile(data), 0o755); err != nil { // a directory where the file goes
		t.Fatal(err)
	}
	code, out, errOut := run(t, "--data-dir", data, "replay")
	if code == 0 || !strings.Contains(errOut, "behaviour index") {
		t.Fatalf("replay: exit %d, want an error naming the behaviour index\n%s\n%s", code, out, errOut)
	}
}
