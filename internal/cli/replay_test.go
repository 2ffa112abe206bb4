package cli

import (
	"os"
	"testing"

	"github.com/parcours/parcours/internal/segment"
)

// TestReplayForgetsTheBehaviourIndex: replay rebuilds the profiles, so
// the behaviour index (which names them) is removed, for serve to build
// again from the log.
func TestReplayForgetsTheBehaviourIndex(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := run(t, "--data-dir", dir, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	x, err := segment.OpenIndex(segment.IndexFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "--data-dir", dir, "replay"); code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(segment.IndexFile(dir)); !os.IsNotExist(err) {
		t.Fatalf("the behaviour index is still there after a replay: %v", err)
	}
}
