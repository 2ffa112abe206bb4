package event

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/problem"
)

func TestNormalizeRefusesWhatAStoreCannotHold(t *testing.T) {
	deep := func(levels int) string {
		// The event is level 1, properties level 2: levels-2 more objects.
		return `{"type":"track","event":"X","userId":"u","properties":` +
			strings.Repeat(`{"a":`, levels-1) + `1` + strings.Repeat(`}`, levels-1) + `}`
	}
	cases := []struct {
		name, body  string
		code, field string
		reason      string
	}{
		{"number beyond PostgreSQL's numeric", `{"type":"track","event":"X","userId":"u","properties":{"amount":1e131072}}`,
			CodeInvalidNumber, "properties.amount", "number 1e131072 is out of range"},
		{"number beyond a float", `{"type":"track","event":"X","userId":"u","properties":{"items":[{"p":1},{"p":2},{"p":-1.8E+308}]}}`,
			CodeInvalidNumber, "properties.items[2].p", "number -1.8E+308 is out of range"},
		{"too many decimals for PostgreSQL", `{"type":"track","event":"X","userId":"u","properties":{"x":1e-16384}}`,
			CodeInvalidNumber, "properties.x", "more than 16383 digits after the decimal point"},
		{"trailing zeros count too", `{"type":"track","event":"X","userId":"u","properties":{"x":1.` + strings.Repeat("0", 16384) + `}}`,
			CodeInvalidNumber, "properties.x", "more than 16383 digits"},
		{"number in context", `{"type":"track","event":"X","userId":"u","context":{"screen":{"width":1e400}}}`,
			CodeInvalidNumber, "context.screen.width", "out of range"},
		{"number as an id", `{"type":"identify","userId":1e999}`, CodeInvalidNumber, "userId", "out of range"},
		{"65 levels", deep(65), CodeTooDeep, "properties" + strings.Repeat(".a", 63), "nested more than 64 levels"},
		{"5,000 levels", `{"type":"track","event":"X","userId":"u","properties":{"a":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}}`,
			CodeTooDeep, "properties.a" + strings.Repeat("[0]", 62), "nested more than 64 levels"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := envelope().Normalize(0, []byte(c.body), "")
			ve, ok := err.(*problem.ValidationError)
			if !ok || ve.Code != c.code || ve.Path != c.field || !strings.Contains(ve.Reason, c.reason) {
				t.Fatalf("got %v\nwant code %s field %q reason containing %q", err, c.code, c.field, c.reason)
			}
		})
	}
	if _, _, err := envelope().Normalize(0, []byte(deep(64)), ""); err != nil {
		t.Fatalf("64 levels refused: %v", err)
	}
}

func TestNormalizeKeepsOrdinaryNumbers(t *testing.T) {
	for _, n := range []string{"0", "-0", "89.9", "1e308", "-1.7976931348623157e308", "1e-400", "4.9e-324",
		"12345678901234567890123", "0.000000000000000000001", "1E+2", "1.5e-10"} {
		body := `{"type":"track","event":"X","userId":"u","properties":{"n":` + n + `}}`
		e, warnings, err := envelope().Normalize(0, []byte(body), "")
		if err != nil || len(warnings) > 0 {
			t.Errorf("%s: %v %v", n, err, warnings)
			continue
		}
		if string(e.Properties) != `{"n":`+n+`}` {
			t.Errorf("%s: stored %s", n, e.Properties)
		}
	}
}

func TestNormalizeReplacesLoneSurrogates(t *testing.T) {
	raw := []byte(`{"type":"identify","userId":"u","traits":{"hi":"a\ud800b","lo":"\udc00","pair":"\ud83d\ude00","lit":"\\ud800","hi2":"\uD800\u0041"}}`)
	e, warnings, err := envelope().Normalize(0, raw, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || warnings[0].Code != CodeInvalidText || !strings.Contains(warnings[0].Reason, "surrogate") {
		t.Fatalf("warnings = %v", warnings)
	}
	if strings.Contains(strings.ToLower(string(e.Traits)), `\ud800`) && !strings.Contains(string(e.Traits), `\\ud800`) {
		t.Fatalf("lone surrogate kept: %s", e.Traits)
	}
	var traits map[string]string
	if err := json.Unmarshal(e.Traits, &traits); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"hi": "a\uFFFDb", "lo": "\uFFFD", "pair": "😀", "lit": `\ud800`, "hi2": "\uFFFDA"}
	for k, v := range want {
		if traits[k] != v {
			t.Errorf("traits[%s] = %q, want %q", k, traits[k], v)
		}
	}
}

func TestNormalizeZeroDateIsCorrected(t *testing.T) {
	for _, ts := range []string{"0001-01-01", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000+00:00"} {
		e, warnings, err := envelope().Normalize(0, []byte(`{"type":"track","event":"X","userId":"u","timestamp":"`+ts+`"}`), "")
		if err != nil {
			t.Fatal(err)
		}
		if !e.Timestamp.Equal(received) || len(warnings) != 1 || warnings[0].Code != CodeInvalidTimestamp ||
			warnings[0].Path != "timestamp" || !strings.Contains(warnings[0].Reason, "zero date") {
			t.Fatalf("%s: timestamp %v, warnings %v; want the receive time and a correction", ts, e.Timestamp, warnings)
		}
	}
	// A zero sentAt cannot correct the clock skew: it is ignored, and said so.
	e, warnings, err := envelope().Normalize(0, []byte(`{"type":"track","event":"X","userId":"u","timestamp":"2026-11-23T09:00:00Z","sentAt":"0001-01-01T00:00:00Z"}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if !e.Timestamp.Equal(received.Add(-time.Hour)) || len(warnings) != 1 || warnings[0].Path != "sentAt" {
		t.Fatalf("timestamp %v, warnings %v", e.Timestamp, warnings)
	}
}

// BenchmarkNormalize measures the per-event validation cost on a typical
// ~600-byte track event, and how much of it the inspection pass takes.
func BenchmarkNormalize(b *testing.B) {
	raw := []byte(`{"type":"track","event":"Product Viewed","userId":"user-123456","anonymousId":"5f2b8c1e-2f0a-4c5e-9a57-1d2e3f4a5b6c",
		"messageId":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","timestamp":"2026-11-23T09:59:58.123Z",
		"properties":{"sku":"SHOE-42","name":"Trail runner \"Alpine\"","price":89.9,"currency":"EUR","quantity":1,"category":"shoes/trail","brand":"Parcours","variant":"blue/42","position":3,"url":"https://shop.example/p/shoe-42"},
		"context":{"library":{"name":"analytics.js","version":"5.2.1"},"locale":"fr-FR","page":{"path":"/p/shoe-42","referrer":"https://instagram.com/","title":"Trail runner"},
		"userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"}}`)
	b.Run("normalize", func(b *testing.B) {
		env := envelope()
		env.IP = "192.0.2.1"
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, _, err := env.Normalize(0, raw, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("inspect", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if in := inspect(raw, 0, ""); in.bad != nil || in.rewrite {
				b.Fatal(in.bad)
			}
		}
	})
}
