package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTemplatesSaveRefusesWhatPanickedTheEngine: "{{͠}}" made
// `templates save` die with a Go panic (exit 2); it is refused like any
// invalid template, with its position.
func TestTemplatesSaveRefusesWhatPanickedTheEngine(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "crash.json")
	if err := os.WriteFile(file, []byte(`{"topic":"newsletter","body":{"sms":{"body":"{{\u0360}}"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "--data-dir", dir, "templates", "save", file)
	if code != 1 || !strings.Contains(errOut, "sms.body:1:3:") || !strings.Contains(errOut, "not a valid variable name") ||
		strings.Contains(errOut, "internal error") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}
