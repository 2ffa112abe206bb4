package cli

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestGenDefaultsToRecentDays: without --start, the events fall in the
// last --days days up to now, so that time-window segments (within: 7d)
// are not empty on a fresh server.
func TestGenDefaultsToRecentDays(t *testing.T) {
	before := time.Now()
	code, out, errOut := run(t, "gen", "--customers", "200", "--days", "7")
	if code != 0 {
		t.Fatalf("gen: exit %d\n%s", code, errOut)
	}
	var first, last time.Time
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev struct {
			Timestamp time.Time `json:"timestamp"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if first.IsZero() {
			first = ev.Timestamp
		}
		last = ev.Timestamp
	}
	if first.Before(before.AddDate(0, 0, -7).Add(-time.Minute)) || last.After(time.Now()) || last.Before(before.Add(-2*24*time.Hour)) {
		t.Fatalf("events from %s to %s; want the 7 days up to %s", first, last, before)
	}
	// --start still pins the period (reproducible streams).
	code, out, _ = run(t, "gen", "--customers", "10", "--days", "3", "--start", "2025-01-06", "--limit", "1")
	if code != 0 || !strings.Contains(out, `"timestamp":"2025-01-0`) {
		t.Fatalf("gen --start: exit %d\n%s", code, out)
	}
}
