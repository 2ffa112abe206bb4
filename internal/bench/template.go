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

const idDigits = 12

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
		fmt.Fprintf(&b, `{"type":"track","messageId":"bench-%s-%03d-`, runID, i)
		holes = append(holes, b.Len())
		b.WriteString(strings.Repeat("0", idDigits))
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

// Render returns a copy of the body with request number n in every hole.
func (t *Template) Render(n int64) []byte {
	out := make([]byte, len(t.body))
	copy(out, t.body)
	var digits [idDigits]byte
	for i := idDigits - 1; i >= 0; i-- {
		digits[i] = byte('0' + n%10)
		n /= 10
	}
	for _, h := range t.holes {
		copy(out[h:], digits[:])
	}
	return out
}
