package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/server"
)

// TestStageLagMetrics: /metrics tells how far each stage is behind the
// log, in events and seconds, and reads 0 once every stage has handled
// everything (what `parcours bench ingest --stages` follows).
func TestStageLagMetrics(t *testing.T) {
	h := newHarness(t)
	var batch []string
	for i := range 50 {
		batch = append(batch, `{"type":"track","userId":"u`+string(rune('a'+i%26))+`","event":"Product Viewed","properties":{"sku":"SHOE-42"}}`)
	}
	if code, resp := h.ingest("/v1/batch", `{"batch":[`+strings.Join(batch, ",")+`]}`); code != 200 {
		t.Fatalf("batch: %d %v", code, resp)
	}
	metrics := func() string {
		resp, err := http.Get(h.http.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		m := metrics()
		caughtUp := true
		for _, stage := range server.Stages {
			if !strings.Contains(m, `parcours_stage_lag_seconds{stage="`+stage+`"}`) {
				t.Fatalf("/metrics lacks the lag of stage %s", stage)
			}
			if !strings.Contains(m, `parcours_stage_behind_events{stage="`+stage+`"} 0`+"\n") ||
				!strings.Contains(m, `parcours_stage_lag_seconds{stage="`+stage+`"} 0`+"\n") {
				caughtUp = false
			}
		}
		if caughtUp {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stages never read 0 behind:\n%s", m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSegmentEntryLatencyMetric: an entry caused by a live event is
// measured from the event's receipt (parcours_segment_entry_seconds, what
// `parcours bench segments` reads); an entry caused by history is not.
func TestSegmentEntryLatencyMetric(t *testing.T) {
	h := newHarness(t)
	if code, resp := h.post("/api/v1/segments?wait=true", `{"id":"viewers","name":"Viewers","where":{"performed":{"event":"Product Viewed"}}}`); code != 200 {
		t.Fatalf("segment: %d %v", code, resp)
	}
	if code, resp := h.ingest("/v1/batch", `{"batch":[
		{"type":"track","userId":"old","event":"Product Viewed","timestamp":"2025-01-01T10:00:00Z"},
		{"type":"track","userId":"live","event":"Product Viewed"}]}`); code != 200 {
		t.Fatalf("batch: %d %v", code, resp)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(h.http.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := string(b)
		if strings.Contains(m, "parcours_segment_entered_total 2\n") {
			if !strings.Contains(m, "parcours_segment_entry_seconds_count 1\n") {
				t.Fatalf("two entries, one caused by a live event: want one entry measured\n%s", m)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the two customers never entered the segment")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
