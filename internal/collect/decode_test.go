package collect

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/event"
)

func gz(t testing.TB, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

func TestReadBody(t *testing.T) {
	const max = 1000
	bomb := gz(t, strings.Repeat("a", 10*max))
	cases := []struct {
		name     string
		body     []byte
		encoding string
		want     string
		code     string
	}{
		{"plain", []byte(`{"a":1}`), "", `{"a":1}`, ""},
		{"gzip header", gz(t, `{"a":1}`), "gzip", `{"a":1}`, ""},
		{"gzip sniffed", gz(t, `{"a":1}`), "", `{"a":1}`, ""},
		{"corrupt gzip", append(gz(t, `{"a":1}`)[:12], 0xff, 0xff), "gzip", "", CodeBadGzip},
		{"not gzip at all", []byte(`{"a":1}`), "gzip", "", CodeBadGzip},
		{"gzip bomb", bomb, "gzip", "", CodeBodyTooLarge},
		{"too large", bytes.Repeat([]byte("a"), max+1), "", "", CodeBodyTooLarge},
		{"brotli", []byte(`{}`), "br", "", CodeUnsupportedCode},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadBody(bytes.NewReader(c.body), c.encoding, max, nil, nil)
			var re *RequestError
			switch {
			case c.code == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case c.code == "" && string(got) != c.want:
				t.Fatalf("body %q, want %q", got, c.want)
			case c.code != "" && (!errors.As(err, &re) || re.Code != c.code):
				t.Fatalf("error %v, want code %s", err, c.code)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	req, err := Decode([]byte("\xef\xbb\xbf "+`{"batch":[{"type":"track"},{"type":"page"}],"writeKey":"wk","sentAt":"2026-01-01T00:00:00Z",
		"context":{"ip":"1.1.1.1"},"integrations":{"All":false}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Events) != 2 || req.WriteKey != "wk" || req.SentAt != "2026-01-01T00:00:00Z" ||
		string(req.Context["ip"]) != `"1.1.1.1"` || string(req.Integrations["All"]) != "false" {
		t.Fatalf("decoded %+v", req)
	}
	single, err := Decode([]byte(`{"userId":"u","event":"X","writeKey":"k"}`), event.Track)
	if err != nil || len(single.Events) != 1 || single.WriteKey != "k" || single.Type != event.Track {
		t.Fatalf("single = %+v, %v", single, err)
	}
	empty, err := Decode([]byte(`{"batch":[]}`), "")
	if err != nil || len(empty.Events) != 0 {
		t.Fatalf("empty batch = %+v, %v", empty, err)
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{"batch":`, `{"batch":{}}`, `{"batch":[],"context":[1]}`, `nul`} {
		if _, err := Decode([]byte(bad), ""); err == nil {
			t.Errorf("Decode(%q) succeeded, want an error", bad)
		}
	}
}

// FuzzDecodeRequest feeds arbitrary bodies through everything a request
// goes through before storage: decompression, decoding, per-event
// validation. Nothing may panic, and every outcome must be one of: a
// request error, or events and rejections that account for every element of
// the batch.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"batch":[{"type":"track","event":"X","userId":"u"},{"type":"nope"}],"context":{"a":1},"sentAt":"2024-01-01T00:00:00Z"}`), false)
	f.Add([]byte(`{"batch":[{"type":"identify","anonymousId":"a","traits":{"email":"x@y.z"}}],"integrations":{"all":true}}`), true)
	f.Add([]byte("\xef\xbb\xbf{\"batch\":[]}"), false)
	// Values one engine refuses, in events and in the batch-level context.
	f.Add([]byte(`{"batch":[{"type":"track","event":"X","userId":"u","properties":{"a":1e131072,"b":-1e309,"c":1e-16384}}]}`), false)
	f.Add([]byte(`{"batch":[{"type":"track","event":"X","userId":"u","properties":{"a":"\u0000\ud800\udc00\ud800"}}],"context":{"n":"\udfff"}}`), false)
	f.Add([]byte(`{"batch":[{"type":"track","event":"X","userId":"u","properties":`+strings.Repeat(`{"a":[`, 40)+strings.Repeat(`]}`, 40)+`}],"context":{"deep":`+strings.Repeat("[", 70)+strings.Repeat("]", 70)+`}}`), true)
	f.Add([]byte(`{"batch":[{"type":"track","event":"X","userId":"u","timestamp":"0001-01-01","sentAt":"0001-01-01T00:00:00Z"}],"sentAt":"0001-01-01"}`), false)
	f.Fuzz(func(t *testing.T, body []byte, compress bool) {
		if compress {
			body = gz(t, string(body))
		}
		raw, err := ReadBody(bytes.NewReader(body), "", 1<<16, nil, nil)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("ReadBody error of type %T: %v", err, err)
			}
			return
		}
		req, err := Decode(raw, "")
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("Decode error of type %T: %v", err, err)
			}
			return
		}
		env := &event.Envelope{Context: req.Context, Integrations: req.Integrations, SourceID: "s", Channel: "web"}
		events, rejects := prepare(env, req.Events, req.Scans, "")
		// Inspecting while splitting decides exactly as inspecting apart.
		again, rejectsAgain := Prepare(env, req.Events, "")
		if len(again) != len(events) || len(rejectsAgain) != len(rejects) {
			t.Fatalf("split-time inspection: %d events, %d rejections; apart: %d, %d", len(events), len(rejects), len(again), len(rejectsAgain))
		}
		for i, r := range rejects {
			if a := rejectsAgain[i]; r.Code != a.Code || r.Field != a.Field || r.Reason != a.Reason {
				t.Fatalf("rejection %d: %+v split-time, %+v apart", i, r, a)
			}
		}
		dropped := 0
		for _, r := range rejects {
			if r.Action == event.Dropped {
				dropped++
			}
		}
		if len(events)+dropped != len(req.Events) {
			t.Fatalf("%d events in, %d stored + %d dropped out", len(req.Events), len(events), dropped)
		}
		for _, e := range events {
			stored := e.AppendJSON(nil)
			if !json.Valid(stored) {
				t.Fatalf("invalid stored JSON: %s", stored)
			}
			// What is accepted, both engines store and any reader reads:
			// no number beyond a float, no nesting beyond the cap, no
			// escape PostgreSQL refuses.
			if err := event.Check(stored); err != nil {
				t.Fatalf("accepted an event a store refuses: %v\n%s", err, stored)
			}
		}
	})
}

// BenchmarkDecodeBatch splits and inspects a batch of 5,000 small events
// (the most a request may carry): the cost must grow with the body, not
// with its square.
func BenchmarkDecodeBatch(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"batch":[`)
	for i := range benchBatchEvents {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"type":"track","event":"E","userId":"u","messageId":"m-` + strings.Repeat("1", 8) + `","properties":{"n":1.5}}`)
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Decode(body, ""); err != nil {
			b.Fatal(err)
		}
	}
}

var benchBatchEvents = DefaultMaxBatchEvents
