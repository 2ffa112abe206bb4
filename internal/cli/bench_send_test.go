package cli

import (
	"encoding/json"
	"testing"
)

// TestBenchSendDeliversEveryEmail runs `parcours bench send` for real: a
// serve process, recipients opted in through the tracking API, one email
// each through POST /api/v1/messages to the bench's SMTP sink. Every email
// arrives once, and the figures are filled.
func TestBenchSendDeliversEveryEmail(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	t.Setenv("PARCOURS_TEST_RUN_MAIN", "1") // the test binary is the parcours binary
	code, out, errOut := run(t, "--json", "bench", "send", "--recipients", "40", "--runs", "1", "--mode", "api", "--callers", "4")
	if code != 0 {
		t.Fatalf("bench send: exit %d\n%s\n%s", code, out, errOut)
	}
	var res struct {
		Runs []sendRun `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Runs) != 1 {
		t.Fatalf("output: %v\n%s", err, out)
	}
	r := res.Runs[0]
	if r.Delivered != 40 || r.Lost != 0 || r.Duplicates != 0 || r.EmailsPerSec <= 0 || r.CPUPerEmailMS <= 0 || r.ServerPeakMiB <= 0 {
		t.Fatalf("run = %+v; want 40 delivered, none lost or twice, figures filled", r)
	}
}
