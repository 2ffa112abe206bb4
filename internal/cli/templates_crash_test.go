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

// TestCommandPanicIsAnInternalError: a panic in a command (a bug) exits 1
// saying so, with its stack, instead of crashing with exit 2; kong's exit
// requests keep their code.
func TestCommandPanicIsAnInternalError(t *testing.T) {
	var errOut strings.Builder
	if code := exitOnPanic("boom", &errOut); code != 1 || !strings.Contains(errOut.String(), "internal error") ||
		!strings.Contains(errOut.String(), "boom") || !strings.Contains(errOut.String(), "goroutine") {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if code := exitOnPanic(exitCode(0), &errOut); code != 0 {
		t.Fatalf("kong exit: %d", code)
	}
}
