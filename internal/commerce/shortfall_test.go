package commerce

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A stale stock file makes most till sales fall short: the log gets the
// first in full, then one line a minute counting the others.
func TestShortfallLogOneLineAMinute(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var l shortfallLog
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for i := range 1000 {
		l.note(log, t0.Add(time.Duration(i)*100*time.Millisecond), "SKU-1", "paris", 1, 1, int64(i+1))
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// 100 s of sales at 10 a second: the first line, then one at 60 s.
	if len(lines) != 2 {
		t.Fatalf("got %d log lines, want 2:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "others_since_last_line=0") || !strings.Contains(lines[1], "others_since_last_line=599") {
		t.Fatalf("lines do not count the sales they skipped:\n%s", buf.String())
	}
	if !strings.Contains(lines[0], "parcours stock import") {
		t.Fatalf("the line does not say how to fix it: %s", lines[0])
	}
}
