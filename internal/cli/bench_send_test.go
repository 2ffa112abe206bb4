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
	// One message per call, then batches of 16 (POST /api/v1/messages/batch).
	for _, batch := range []string{"1", "16"} {
		code, out, errOut := run(t, "--json", "bench", "send", "--recipients", "40", "--runs", "1", "--mode", "api", "--callers", "4", "--batch", batch)
		if code != 0 {
			t.Fatalf("bench send --batch %s: exit %d\n%s\n%s", batch, code, out, errOut)
		}
		var res struct {
			Runs []sendRun `json:"runs"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Runs) != 1 {
			t.Fatalf("output: %v\n%s", err, out)
		}
		r := res.Runs[0]
		if r.Delivered != 40 || r.Lost != 0 || r.Duplicates != 0 || r.EmailsPerSec <= 0 || r.CPUPerEmailMS <= 0 || r.ServerPeakMiB <= 0 {
			t.Fatalf("--batch %s: run = %+v; want 40 delivered, none lost or twice, figures filled", batch, r)
		}
	}
}

// TestBenchJourneyDeliversEveryEvent runs `parcours bench journey` for
// real at a small rate: every acknowledged event becomes one email at the
// sink, and the latency figures are filled.
func TestBenchJourneyDeliversEveryEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	t.Setenv("PARCOURS_TEST_RUN_MAIN", "1")
	code, out, errOut := run(t, "--json", "bench", "journey", "--rate", "50", "--duration", "2s", "--customers", "20", "--runs", "1")
	if code != 0 {
		t.Fatalf("bench journey: exit %d\n%s\n%s", code, out, errOut)
	}
	var res struct {
		Runs []journeyRun `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Runs) != 1 {
		t.Fatalf("output: %v\n%s", err, out)
	}
	r := res.Runs[0]
	if r.Sent < 90 || r.Delivered != r.Sent || r.Lost != 0 || r.Duplicates != 0 || r.P99 <= 0 || r.P50 > r.P99 {
		t.Fatalf("run = %+v; want ~100 events, each delivered once, latencies filled", r)
	}
}
