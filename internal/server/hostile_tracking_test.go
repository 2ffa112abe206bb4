package server_test

import (
	"bytes"
	"compress/gzip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/server"
)

// TestHostileTracking throws hostile input at the tracking API (/v1/*),
// on both engines: missing and forged keys, bodies that are not JSON, not
// gzip, too large, too deep, cut short or that stop arriving, numbers and text no engine holds, ids of 100,000
// bytes, unknown endpoints, paths that climb out. Each row gets its exact
// status and an error naming what, where and why; a bad event in a batch
// costs only itself, and the good events beside it are stored (issue
// 14.9).
func TestHostileTracking(t *testing.T) {
	var log logSink
	onEngines(t, func(t *testing.T, h *harness, _ engine) { hostileTracking(t, h, &log) }, withLog(&log), func(o *server.Options) {
		// A body that stops arriving is cut after this (the wall clock:
		// the kernel's read deadline).
		o.Ingest.BodyTimeout, o.Ingest.UnkeyedBodyTimeout = time.Second, time.Second
	})
}

func hostileTracking(t *testing.T, h *harness, log *logSink) {
	json := map[string]string{"Content-Type": "application/json"}
	good := func(id string) string {
		return `{"type":"track","event":"Product Viewed","userId":"u1","messageId":"` + id + `"}`
	}
	batch := func(events ...string) []byte {
		return []byte(`{"batch":[` + strings.Join(events, ",") + `]}`)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"type":"track","event":"Zipped","userId":"u1","messageId":"good-gzip"}`))
	zw.Close()
	long := strings.Repeat("x", 100000)
	rows := []hostile{
		{name: "no key", method: "POST", path: "/v1/track", header: json, body: []byte(good("k1")),
			status: 401, code: "unauthorized", says: []string{"write key"}},
		{name: "forged key", method: "POST", path: "/v1/track", header: map[string]string{"Authorization": basic("wk_forged:")}, body: []byte(good("k2")),
			status: 401, code: "unauthorized", says: []string{"write key"}},
		{name: "admin key is not a write key", method: "POST", path: "/v1/track", auth: "admin", body: []byte(good("k3")),
			status: 401, code: "unauthorized", says: []string{"write key"}},
		{name: "forged key in the body", method: "POST", path: "/v1/track", body: []byte(`{"writeKey":"wk_forged","type":"track","event":"E","userId":"u1"}`),
			status: 401, code: "unauthorized", says: []string{"write key"}},
		{name: "not JSON", method: "POST", path: "/v1/track", auth: "write", header: json, body: []byte("hello"),
			status: 400, code: "invalid_body", says: []string{"JSON object"}},
		{name: "JSON cut short", method: "POST", path: "/v1/track", auth: "write", header: json, body: []byte(`{"type":"track","event":"E","userId":"u1"`),
			status: 400, code: "invalid_body", says: []string{"not valid JSON"}},
		{name: "an array, not an event", method: "POST", path: "/v1/track", auth: "write", header: json, body: []byte(`[1,2]`),
			status: 400, code: "invalid_body", says: []string{"JSON object"}},
		{name: "batch not a list", method: "POST", path: "/v1/batch", auth: "write", header: json, body: []byte(`{"batch":"x"}`),
			status: 400, code: "invalid_body", says: []string{"batch"}},
		{name: "NUL bytes between events", method: "POST", path: "/v1/batch", auth: "write", header: json, body: []byte("{\"batch\":[" + good("nul-a") + "\x00]}"),
			status: 400, code: "invalid_body", says: []string{"batch"}},
		{name: "text/plain is read as JSON", method: "POST", path: "/v1/track", auth: "write", header: map[string]string{"Content-Type": "text/plain"}, body: []byte(good("good-plain")),
			status: 200},
		{name: "gzip that is not", method: "POST", path: "/v1/track", auth: "write", header: map[string]string{"Content-Encoding": "gzip"}, body: []byte(good("k4")),
			status: 400, code: "invalid_gzip", says: []string{"gzip"}},
		{name: "gzip that is", method: "POST", path: "/v1/track", auth: "write", header: map[string]string{"Content-Encoding": "gzip"}, body: gz.Bytes(),
			status: 200},
		{name: "unknown encoding", method: "POST", path: "/v1/track", auth: "write", header: map[string]string{"Content-Encoding": "br"}, body: []byte(good("k5")),
			status: 400, code: "unsupported_encoding", says: []string{"br"}},
		{name: "body too large", method: "POST", path: "/v1/batch", auth: "write", header: json, body: batch(`{"type":"track","event":"Big","userId":"u1","properties":{"x":"` + strings.Repeat("x", 5<<20) + `"}}`),
			status: 400, code: "body_too_large", says: []string{"4194304"}},
		{name: "body cut short", method: "POST", path: "/v1/track", auth: "write", header: json, body: []byte(good("k6")), truncated: 100,
			status: 400, code: "invalid_body", says: []string{"could not read the body"}},
		{name: "a body that stops arriving", method: "POST", path: "/v1/track", auth: "write", header: json, body: []byte(good("k9")[:20]), truncated: 50, stall: true,
			status: 408, code: "body_timeout", says: []string{"body"}},
		{name: "an unkeyed body that stops arriving", method: "POST", path: "/v1/track", header: json, body: []byte(`{"writeKey":"`), truncated: 50, stall: true,
			status: 408, code: "body_timeout", says: []string{"body"}},
		{name: "5,000 levels deep", method: "POST", path: "/v1/track", auth: "write", header: json,
			body:   []byte(`{"type":"track","event":"Deep","userId":"u1","messageId":"deep","properties":{"x":` + nest(5000) + `}}`),
			status: 400, code: "too_deep", says: []string{"properties.x", "64"}},
		{name: "1e131072 beside a good event", method: "POST", path: "/v1/batch", auth: "write", header: json,
			body:   batch(`{"type":"track","event":"Huge","userId":"u1","messageId":"huge","properties":{"total":1e131072}}`, good("good-huge")),
			status: 200, says: []string{`"stored":1`, "invalid_number", "properties.total"}},
		{name: "NUL and lone surrogate in text", method: "POST", path: "/v1/batch", auth: "write", header: json,
			body:   batch(`{"type":"track","event":"Note","userId":"u1","messageId":"good-nul","properties":{"note":"a\u0000b\ud800"}}`),
			status: 200, says: []string{`"stored":1`, "corrected", "invalid_text"}},
		{name: "invalid UTF-8", method: "POST", path: "/v1/batch", auth: "write", header: json,
			body:   batch("{\"type\":\"track\",\"event\":\"Caf\xe9\",\"userId\":\"u1\",\"messageId\":\"good-latin1\"}"),
			status: 200, says: []string{`"stored":1`, "invalid_text"}},
		{name: "year 1 and year 99999", method: "POST", path: "/v1/batch", auth: "write", header: json,
			body: batch(`{"type":"track","event":"Zero","userId":"u1","messageId":"good-year1","timestamp":"0001-01-01T00:00:00Z"}`,
				`{"type":"track","event":"Far","userId":"u1","messageId":"good-far","timestamp":"99999-01-01T00:00:00Z"}`),
			status: 200, says: []string{`"stored":2`, "invalid_timestamp", "timestamp"}},
		{name: "a number beside objects", method: "POST", path: "/v1/batch", auth: "write", header: json, body: batch("42", good("good-beside-42")),
			status: 200, says: []string{`"stored":1`, "not_an_object"}},
		{name: "no identity", method: "POST", path: "/v1/track", auth: "write", header: json, body: []byte(`{"type":"track","event":"E"}`),
			status: 400, code: "missing_identity", says: []string{"userId", "anonymousId"}},
		{name: "100,000-byte user id", method: "POST", path: "/v1/track", auth: "write", header: json,
			body:   []byte(`{"type":"track","event":"E","userId":"` + long + `"}`),
			status: 400, code: "too_large", says: []string{"100040 bytes", "32768"}},
		{name: "100,000-byte message id", method: "POST", path: "/v1/track", auth: "write", header: json,
			body:   []byte(`{"type":"track","event":"E","userId":"u1","messageId":"` + long + `"}`),
			status: 400, code: "too_large", says: []string{"100057 bytes", "32768", `"messageId":"xxxxxxxx`}},
		{name: "100,000-byte event name", method: "POST", path: "/v1/track", auth: "write", header: json,
			body:   []byte(`{"type":"track","event":"` + long + `","userId":"u1"}`),
			status: 400, code: "too_large", says: []string{"100041 bytes", "32768"}},
		{name: "too many events", method: "POST", path: "/v1/batch", auth: "write", header: json, body: batch(slices.Repeat([]string{`{}`}, 5001)...),
			status: 400, code: "too_many_events", says: []string{"5001", "5000"}},
		{name: "GET", method: "GET", path: "/v1/track", auth: "write",
			status: 405, code: "method_not_allowed", says: []string{"POST"}},
		{name: "unknown endpoint", method: "POST", path: "/v1/nope", auth: "write", header: json, body: []byte(good("k7")),
			status: 404, code: "not_found", says: []string{"/v1/track"}},
		{name: "path that climbs out", method: "POST", path: "/v1/../../etc/passwd", auth: "write", header: json, body: []byte(good("k8")),
			status: 307},
		{name: "dot segments in the path", method: "POST", path: "/v1/./batch/../track", auth: "write", header: json, body: []byte(good("good-dots")),
			status: 200},
	}
	h.runHostile(t, log, rows)
	stored := h.messageIDs()
	for _, id := range []string{"good-plain", "good-gzip", "good-huge", "good-nul", "good-latin1", "good-year1", "good-far", "good-beside-42", "good-dots"} {
		if !slices.Contains(stored, id) {
			t.Errorf("good event %s beside the bad ones was not stored; stored %v", id, stored)
		}
	}
	for _, id := range stored {
		if !strings.HasPrefix(id, "good-") {
			t.Errorf("stored %.40q, which a row refused", id)
		}
	}
}
