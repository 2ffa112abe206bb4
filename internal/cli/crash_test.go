package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/crashtest"
	"github.com/parcours/parcours/internal/source"
)

// TestCrashDuringIngestion kills `serve` with SIGKILL while 8 clients send
// batches to the tracking API, on each engine. The history checker then
// compares what the clients were told with the log: every acknowledged
// event is stored exactly once, every batch without an answer at most
// once, nothing else. After a restart the clients resend every batch, as
// Segment's libraries do when unsure: nothing is stored twice.
func TestCrashDuringIngestion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	for _, e := range crashEngines() {
		t.Run(e.name, func(t *testing.T) { crashIngestion(t, e.prepare(t)) })
	}
}

func crashIngestion(t *testing.T, e engine) {
	ctx := context.Background()
	dir := t.TempDir()
	st := e.open(t, dir)
	src, _ := source.New("Web shop", "web", "", time.Now())
	if err := st.CreateSource(ctx, src); err != nil {
		t.Fatal(err)
	}
	st.Close()

	n := startNode(t, dir, e)
	const senders, perBatch = 8, 50
	h := crashtest.New()
	var mu sync.Mutex
	var batches [][]string // the ids of each batch sent, in order
	post := func(url string, ids []string) (int, error) {
		var sb strings.Builder
		sb.WriteString(`{"batch":[`)
		for i, id := range ids {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"type":"track","userId":"u-%d","event":"Product Viewed","messageId":"%s","properties":{"sku":"SHOE-42"}}`, i, id)
		}
		sb.WriteString(`]}`)
		req, _ := http.NewRequest("POST", url+"/v1/batch", bytes.NewReader([]byte(sb.String())))
		req.SetBasicAuth(src.WriteKey, "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// A 5xx may come after the events were handed to the committer (a
	// bounded wait that ran out): it proves nothing, like no answer.
	record := func(ids []string, code int, err error) {
		o := crashtest.Unknown
		switch {
		case err != nil:
		case code == http.StatusOK:
			o = crashtest.Acked
		case code < 500:
			o = crashtest.Refused
		}
		for _, id := range ids {
			h.Record(id, o)
		}
	}
	var wg sync.WaitGroup
	for w := range senders {
		wg.Go(func() {
			for b := 0; ; b++ {
				ids := make([]string, perBatch)
				for i := range ids {
					ids[i] = fmt.Sprintf("w%d-b%d-%d", w, b, i)
				}
				mu.Lock()
				batches = append(batches, ids)
				mu.Unlock()
				code, err := post(n.url, ids)
				record(ids, code, err)
				if err != nil {
					return // the server is gone
				}
			}
		})
	}
	// Let a good number of commits happen, then kill without warning.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if acked, _, _ := h.Counts(); acked >= 5000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than 5,000 events acknowledged in 30s; server said: %s", n.log())
		}
	}
	n.kill()
	wg.Wait()

	stored := func() map[string]int {
		st := e.open(t, dir)
		defer st.Close()
		events, err := st.ReadAfter(ctx, 0, 10_000_000)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, ev := range events {
			if ev.SourceID == src.ID {
				out[ev.MessageID]++
			}
		}
		return out
	}
	r := h.CheckStored(stored())
	if err := r.Err(); err != nil {
		t.Fatalf("after SIGKILL: %v", err)
	}
	t.Logf("after SIGKILL: %s", r)

	// The clients resend every batch after the restart.
	n = startNode(t, dir, e)
	for _, ids := range batches {
		code, err := post(n.url, ids)
		if err != nil || code != http.StatusOK {
			t.Fatalf("resend: %d %v", code, err)
		}
		record(ids, code, err)
	}
	n.stop()
	r = h.CheckStored(stored())
	if err := r.Err(); err != nil {
		t.Fatalf("after resending everything: %v", err)
	}
	if r.Acked != len(batches)*perBatch || r.Unknown+r.Refused != 0 {
		t.Fatalf("after resending everything: %s; want all %d acknowledged", r, len(batches)*perBatch)
	}
}
