package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

const browsedAndBought = `
kind: segment
id: browsed-and-bought
name: Viewed a product and ordered
where:
  all:
    - performed: {event: Order Completed}
    - performed: {event: Product Viewed}
`

// TestUnmergeWhileStoppedRebuildsSegments: profiles unmerge, with serve
// stopped, undoes the merge with the stages serve runs (the operation the
// API calls): the events that moved take their segment memberships and
// their behaviour index rows with them.
func TestUnmergeWhileStoppedRebuildsSegments(t *testing.T) {
	ctx := context.Background()
	data, dir := t.TempDir(), t.TempDir()
	events := filepath.Join(dir, "events.ndjson")
	// bob's view on a1's device merges the two: the profile has ordered
	// (a1) and viewed (bob); apart, neither did both.
	os.WriteFile(events, []byte(
		`{"type":"track","anonymousId":"a1","event":"Order Completed","messageId":"m1","timestamp":"2026-01-05T09:00:00Z"}`+"\n"+
			`{"type":"identify","userId":"bob","messageId":"m2","timestamp":"2026-01-05T09:05:00Z"}`+"\n"+
			`{"type":"track","userId":"bob","anonymousId":"a1","event":"Product Viewed","messageId":"m3","timestamp":"2026-01-05T10:00:00Z"}`+"\n"), 0o600)
	if code, out, errOut := run(t, "--data-dir", data, "sources", "create", "--name", "Web", "--channel", "web"); code != 0 {
		t.Fatalf("sources create: %d\n%s\n%s", code, out, errOut)
	}
	g := &config.Globals{DataDir: data}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := openExisting(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := segment.ParseYAML("s.yaml", strings.NewReader(browsedAndBought))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := segment.NewStage(st, segment.Options{Logger: quiet}).Save(ctx, defs, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, args := range [][]string{{"import", events, "--source", "Web"}, {"replay"}} {
		if code, out, errOut := run(t, append([]string{"--data-dir", data}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
	}
	members := func() []store.SegmentMember {
		t.Helper()
		st, err := openExisting(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		m, err := st.SegmentMembers(ctx, "browsed-and-bought", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := members(); len(m) != 1 {
		t.Fatalf("members after the replay: %+v, want the merged profile", m)
	}
	code, out, errOut := run(t, "--data-dir", data, "--json", "profiles", "merges", "user_id:bob")
	var merges struct {
		ProfileID int64 `json:"profile_id"`
		Merges    []struct {
			ID int64 `json:"id"`
		} `json:"merges"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &merges) != nil || len(merges.Merges) != 1 {
		t.Fatalf("profiles merges: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, "--data-dir", data, "profiles", "unmerge", fmt.Sprint(merges.ProfileID), "--merge", fmt.Sprint(merges.Merges[0].ID))
	if code != 0 || !strings.Contains(out, "Merge") {
		t.Fatalf("unmerge: exit %d\n%s\n%s", code, out, errOut)
	}
	if m := members(); len(m) != 0 {
		t.Fatalf("members after the unmerge: %+v, want none (the order is a1's, the view bob's)", m)
	}

	// The behaviour index: a preview from it finds nobody either.
	st, err = openExisting(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	x, err := segment.OpenIndex(segment.IndexFile(data))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	stage := segment.NewStage(st, segment.Options{Logger: quiet, Index: x})
	if err := stage.CatchUpIndex(ctx); err != nil {
		t.Fatal(err)
	}
	pv, err := stage.Preview(ctx, defs[0], 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pv.Via != "index" || pv.Size != 0 {
		t.Fatalf("preview after the unmerge: %d via %s, want 0 via the index", pv.Size, pv.Via)
	}
}
