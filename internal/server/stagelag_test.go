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
