package bench

import (
	"fmt"
	"strings"
)

// Template is a request body with holes for message ids: rendering a request
// copies the bytes and writes a counter into each hole, so that generating
// load costs next to nothing beside the server under test.
type Template struct {
	body  []byte
	holes []int // offsets of the counter digits, idDigits wide
}

const idDigits = 16

// NewTemplate builds a body of batchSize realistic track events of about
// eventSize bytes each ("batch"), or one event ("track").
func NewTemplate(endpoint string, batchSize, eventSize int, runID string) *Template {
	if eventSize <= 0 {
		eventSize = 600
	}
	var b strings.Builder
	if endpoint == "batch" {
		b.WriteString(`{"batch":[`)
	}
	var holes []int
	for i := range batchSize {
		if i > 0 {
			b.WriteByte(',')
		}
		start := b.Len()
		fmt.Fprintf(&b, `{"type":"track","messageId":"bench-%s-`, runID)
		holes = append(holes, b.Len())
		b.WriteString(strings.Repeat("0", idDigits))
		if eventSize < 200 {
			// A minimal event (about 90 bytes): batches of tens of
			// thousands of events, the hardest on memory.
			fmt.Fprintf(&b, `","userId":"u%d","event":"E"}`, i%1000)
			continue
		}
		fmt.Fprintf(&b, `","anonymousId":"anon-%05d","userId":"user-%05d","event":"Product Viewed",`+
			`"properties":{"product_id":"SKU-%05d","sku":"SHOE-RUN-42","category":"shoes","name":"Trail runner","brand":"Parcours","price":89.9,"currency":"EUR","url":"https://shop.example/p/trail-runner"},`+
			`"context":{"library":{"name":"parcours-bench","version":"1.0"},"page":{"path":"/p/trail-runner","referrer":"https://instagram.com/"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64)","locale":"fr-FR","pad":"`,
			i*7%100000, i*13%100000, i%1000)
		pad := eventSize - (b.Len() - start) - len(`"},"timestamp":"2026-11-23T10:00:00.000Z"}`)
		b.WriteString(strings.Repeat("x", max(pad, 0)))
		b.WriteString(`"},"timestamp":"2026-11-23T10:00:00.000Z"}`)
	}
	if endpoint == "batch" {
		b.WriteString(`],"sentAt":"2026-11-23T10:00:01.000Z"}`)
	}
	return &Template{body: []byte(b.String()), holes: holes}
}

// Render returns a copy of the body for request number n. Each hole gets a
// distinct id in random order, as the UUIDs of real clients are: a
// benchmark with ordered ids would flatter the dedup index.
func (t *Template) Render(n int64) []byte {
	out := make([]byte, len(t.body))
	copy(out, t.body)
	for i, h := range t.holes {
		x := splitmix64(uint64(n)<<12 | uint64(i))
		for d := idDigits - 1; d >= 0; d-- {
			out[h+d] = "0123456789abcdef"[x&15]
			x >>= 4
		}
	}
	return out
}

// splitmix64 is a bijective mixer: distinct inputs give distinct ids.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
