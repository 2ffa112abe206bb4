package cli

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProfilesExportAndErase: with serve stopped, profiles export writes
// the person's archive (a zip with a manifest), and profiles erase, once
// told --yes, erases them: the profile is gone, the log no longer holds
// their email, and a second export finds nobody (issue 19.5, 19.6).
func TestProfilesExportAndErase(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	events := filepath.Join(dir, "events.ndjson")
	os.WriteFile(events, []byte(
		`{"type":"identify","userId":"clo","traits":{"email":"chloe.export@example.fr","first_name":"Chloé"},"messageId":"m1","timestamp":"2026-01-05T09:00:00Z"}`+"\n"+
			`{"type":"track","userId":"clo","event":"Product Viewed","messageId":"m2","timestamp":"2026-01-05T10:00:00Z"}`+"\n"), 0o600)
	if code, out, errOut := run(t, "--data-dir", data, "sources", "create", "--name", "Web", "--channel", "web"); code != 0 {
		t.Fatalf("sources create: %d\n%s\n%s", code, out, errOut)
	}
	for _, args := range [][]string{{"import", events, "--source", "Web"}, {"replay"}} {
		if code, out, errOut := run(t, append([]string{"--data-dir", data}, args...)...); code != 0 {
			t.Fatalf("%v: %d\n%s\n%s", args, code, out, errOut)
		}
	}
	archive := filepath.Join(dir, "clo.zip")
	if code, out, errOut := run(t, "--data-dir", data, "profiles", "export", "user_id:clo", "-o", archive); code != 0 {
		t.Fatalf("export: %d\n%s\n%s", code, out, errOut)
	}
	z, err := zip.OpenReader(archive)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range z.File {
		names[f.Name] = true
	}
	z.Close()
	if !names["manifest.json"] || !names["events.json"] || !names["profile.json"] {
		t.Fatalf("archive files: %v", names)
	}
	if code, _, errOut := run(t, "--data-dir", data, "profiles", "erase", "email:chloe.export@example.fr"); code == 0 || !strings.Contains(errOut, "--yes") {
		t.Fatalf("erase without --yes: %d %s", code, errOut)
	}
	code, out, errOut := run(t, "--data-dir", data, "profiles", "erase", "email:chloe.export@example.fr", "--yes", "--reason", "ticket-1")
	if code != 0 || !strings.Contains(out, "Erased email:chloe.export@example.fr") {
		t.Fatalf("erase: %d\n%s\n%s", code, out, errOut)
	}
	entries, _ := os.ReadDir(data)
	for _, f := range entries {
		b, _ := os.ReadFile(filepath.Join(data, f.Name()))
		if strings.Contains(strings.ToLower(string(b)), "chloe.export") || strings.Contains(string(b), "Chloé") {
			t.Errorf("%s still holds the person", f.Name())
		}
	}
	if code, _, errOut := run(t, "--data-dir", data, "profiles", "export", "user_id:clo", "-o", archive); code == 0 {
		t.Fatalf("export after erasure found someone: %s", errOut)
	}
}
