package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store/storetest"
)

// BenchmarkAppend measures the store alone: commits of 1,000 events of
// about 600 bytes, as the group committer makes them under load.
func BenchmarkAppend(b *testing.B) {
	s := open(b)

	ctx := context.Background()
	props := json.RawMessage(`{"product_id":"SKU-00042","sku":"SHOE-RUN-42","category":"shoes","name":"Trail runner","brand":"Parcours","price":89.9,"currency":"EUR","url":"https://shop.example/p/trail-runner"}`)
	ctxJSON := json.RawMessage(`{"library":{"name":"bench","version":"1.0"},"page":{"path":"/p/trail-runner","referrer":"https://instagram.com/"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64)","locale":"fr-FR","ip":"192.0.2.1"}`)
	const size = 1000
	now := time.Now()
	b.ResetTimer()
	for n := range b.N {
		batch := make([]*event.Event, size)
		for i := range batch {
			e := storetest.Event("src_bench", fmt.Sprintf("m-%d-%d", n, i), fmt.Sprintf("user-%d", i%5000), now)
			e.AnonymousID = fmt.Sprintf("anon-%d", i%7000)
			e.Properties, e.Context = props, ctxJSON
			batch[i] = e
		}
		if err := s.Append(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
}
