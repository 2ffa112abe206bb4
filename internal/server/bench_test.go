package server_test

import (
	"bytes"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/parcours/parcours/internal/bench"
	"github.com/parcours/parcours/internal/server"
)

func benchmarkBatch(b *testing.B, decodeOnly bool) {
	h := newHarness(b, func(o *server.Options) { o.DecodeOnly = decodeOnly })
	defer h.http.Close()
	const size = 100
	tpl := bench.NewTemplate("batch", size, 600, "b")
	postBatches(b, h, tpl, size)
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkBatchDurable measures /v1/batch (100 events of ~600 bytes) on the
// embedded store, in process. `parcours bench ingest` measures the same
// over real connections from another process.
func BenchmarkBatchDurable(b *testing.B) { benchmarkBatch(b, false) }

// BenchmarkBatchDecodeOnly is the floor: the same requests, validated and
// dropped.
func BenchmarkBatchDecodeOnly(b *testing.B) { benchmarkBatch(b, true) }

// postBatches posts b.N batches rendered from tpl to /v1/batch, 8 requests
// in flight, timing them (the timer is reset first).
func postBatches(b *testing.B, h *harness, tpl *bench.Template, size int) {
	auth := basic(h.src.WriteKey + ":")
	var seq atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		client := &http.Client{}
		for pb.Next() {
			req, _ := http.NewRequest("POST", h.http.URL+"/v1/batch", bytes.NewReader(tpl.Render(seq.Add(1))))
			req.Header.Set("Authorization", auth)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}
