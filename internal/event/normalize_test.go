package event

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parcours/parcours/internal/problem"
)

var received = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func envelope() *Envelope {
	return &Envelope{ReceivedAt: received, SourceID: "src_web", Channel: "web"}
}

func TestNormalizeValid(t *testing.T) {
	e, warnings, err := envelope().Normalize(0, []byte(`{
		"type": "track", "event": "Order Completed", "userId": 42, "messageId": "m-1",
		"properties": {"total": 89.9}, "timestamp": "2026-11-23T09:00:00Z"}`), "")
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Normalize: %v, %v", err, warnings)
	}
	if e.Type != Track || e.Event != "Order Completed" || e.UserID != "42" || e.MessageID != "m-1" ||
		string(e.Properties) != `{"total": 89.9}` || e.SourceID != "src_web" || e.Channel != "web" {
		t.Fatalf("unexpected event %+v", e)
	}
	if !e.Timestamp.Equal(received.Add(-time.Hour)) || !e.ReceivedAt.Equal(received) {
		t.Fatalf("timestamp %v, receivedAt %v", e.Timestamp, e.ReceivedAt)
	}
}

func TestNormalizeRejects(t *testing.T) {
	cases := []struct {
		name, body string
		typ        Type
		code       string
		field      string
	}{
		{"no identity", `{"type":"track","event":"X"}`, "", CodeMissingIdentity, "userId"},
		{"track without event", `{"type":"track","userId":"u"}`, "", CodeMissingField, "event"},
		{"track path without event", `{"userId":"u"}`, Track, CodeMissingField, "event"},
		{"unknown type", `{"type":"purchase","userId":"u"}`, "", CodeUnknownType, "type"},
		{"missing type", `{"userId":"u"}`, "", CodeUnknownType, "type"},
		{"alias without previousId", `{"type":"alias","userId":"u"}`, "", CodeMissingField, "previousId"},
		{"group without groupId", `{"type":"group","userId":"u"}`, "", CodeMissingField, "groupId"},
		{"not an object", `["a"]`, "", CodeNotObject, ""},
		{"properties not an object", `{"type":"track","event":"X","userId":"u","properties":"big"}`, "", CodeInvalidField, "properties"},
		{"userId boolean", `{"type":"identify","userId":true}`, "", CodeInvalidField, "userId"},
		{"too large", `{"type":"track","event":"X","userId":"u","properties":{"p":"` + strings.Repeat("é", MaxEventSize/2) + `"}}`, "", CodeTooLarge, ""},
		{"userId too long", `{"type":"identify","userId":"` + strings.Repeat("u", 600) + `"}`, "", CodeInvalidField, "userId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := envelope().Normalize(0, []byte(c.body), c.typ)
			ve, ok := err.(*problem.ValidationError)
			if !ok || ve.Code != c.code || ve.Path != c.field {
				t.Fatalf("got %v, want code %s field %q", err, c.code, c.field)
			}
		})
	}
}

func TestNormalizeSkewCorrection(t *testing.T) {
	// The client's clock is 2 hours ahead: it says it sent at 12:00:05 an
	// event it timed at 12:00:00. Parcours received it at 10:00:00.
	env := envelope()
	e, _, err := env.Normalize(0, []byte(`{"type":"page","anonymousId":"a","timestamp":"2026-11-23T12:00:00Z","sentAt":"2026-11-23T12:00:05Z"}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := received.Add(-5 * time.Second); !e.Timestamp.Equal(want) {
		t.Fatalf("timestamp = %v, want %v", e.Timestamp, want)
	}
	if !e.OriginalTimestamp.Equal(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)) || !e.SentAt.Equal(time.Date(2026, 11, 23, 12, 0, 5, 0, time.UTC)) {
		t.Fatalf("originalTimestamp %v, sentAt %v", e.OriginalTimestamp, e.SentAt)
	}
	// A batch-level sentAt applies to events without their own.
	env.SentAt = time.Date(2026, 11, 23, 12, 1, 0, 0, time.UTC)
	e, _, _ = env.Normalize(0, []byte(`{"type":"page","anonymousId":"a","timestamp":"2026-11-23T12:00:00Z"}`), "")
	if want := received.Add(-time.Minute); !e.Timestamp.Equal(want) {
		t.Fatalf("with batch sentAt: timestamp = %v, want %v", e.Timestamp, want)
	}
}

func TestNormalizeBadTimestampUsesReceivedAt(t *testing.T) {
	e, warnings, err := envelope().Normalize(0, []byte(`{"type":"identify","userId":"u","timestamp":"last tuesday"}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if !e.Timestamp.Equal(received) || len(warnings) != 1 || warnings[0].Code != CodeInvalidTimestamp || warnings[0].Path != "timestamp" {
		t.Fatalf("timestamp %v, warnings %v", e.Timestamp, warnings)
	}
}

func TestNormalizeMergesBatchContextAndIntegrations(t *testing.T) {
	env := envelope()
	env.Context = map[string]json.RawMessage{"library": json.RawMessage(`{"name":"batch"}`), "locale": json.RawMessage(`"fr-FR"`)}
	env.Integrations = map[string]json.RawMessage{"all": json.RawMessage(`false`), "Mailchimp": json.RawMessage(`true`)}
	env.IP = "192.0.2.1"
	e, _, err := env.Normalize(0, []byte(`{"type":"track","event":"X","userId":"u","channel":"browser",
		"context":{"library":{"name":"event"}},"integrations":{"ALL":true}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	var ctx map[string]any
	if err := json.Unmarshal(e.Context, &ctx); err != nil {
		t.Fatal(err)
	}
	if ctx["library"].(map[string]any)["name"] != "event" || ctx["locale"] != "fr-FR" || ctx["ip"] != "192.0.2.1" || ctx["channel"] != "browser" {
		t.Fatalf("context = %s", e.Context)
	}
	var integ map[string]any
	json.Unmarshal(e.Integrations, &integ)
	if integ["All"] != true || integ["Mailchimp"] != true || len(integ) != 2 {
		t.Fatalf("integrations = %s", e.Integrations)
	}
}

func TestNormalizeFillsMessageID(t *testing.T) {
	a, _, _ := envelope().Normalize(0, []byte(`{"type":"identify","userId":"u"}`), "")
	b, _, _ := envelope().Normalize(0, []byte(`{"type":"identify","userId":"u"}`), "")
	if a.MessageID == "" || a.MessageID == b.MessageID {
		t.Fatalf("filled ids %q and %q: want distinct, non-empty", a.MessageID, b.MessageID)
	}
	env := envelope()
	env.NewMessageID = func(i int, raw []byte, e *Event) string { return "stable-" + e.UserID }
	c, _, _ := env.Normalize(0, []byte(`{"type":"identify","userId":"u"}`), "")
	if c.MessageID != "stable-u" {
		t.Fatalf("NewMessageID not used: %q", c.MessageID)
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	e, _, err := envelope().Normalize(0, []byte(`{"type":"track","event":"Caf\u00e9 \"vu\"\n","userId":"u\u2028<x>","messageId":"m",
		"properties":{"a":[1,2]},"timestamp":"2026-11-23T09:00:00.123456789+01:00","sentAt":"2026-11-23T09:00:01+01:00"}`), "")
	if err != nil {
		t.Fatal(err)
	}
	e.Seq = 7
	e.StoreID = "lyon"
	var fromAppend, fromJSON map[string]any
	if err := json.Unmarshal(e.AppendJSON(nil), &fromAppend); err != nil {
		t.Fatalf("AppendJSON wrote invalid JSON: %v\n%s", err, e.AppendJSON(nil))
	}
	b, _ := json.Marshal(e)
	json.Unmarshal(b, &fromJSON)
	ga, _ := json.Marshal(fromAppend)
	gj, _ := json.Marshal(fromJSON)
	if string(ga) != string(gj) {
		t.Fatalf("AppendJSON differs from encoding/json:\n%s\n%s", ga, gj)
	}
	var back Event
	if err := Unmarshal(e.AppendJSON(nil), &back); err != nil || !back.Timestamp.Equal(e.Timestamp) || back.UserID != e.UserID {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		`{"type":"track","event":"X","userId":"u","properties":{"a":1},"timestamp":"2024-01-01T00:00:00Z","sentAt":"2024-01-01T00:00:01Z"}`,
		`{"type":"identify","anonymousId":1,"traits":{"email":"A@B.C"},"context":{"ip":"1.2.3.4"},"integrations":{"all":false}}`,
		`{"type":"alias","previousId":"a","userId":"b"}`,
		`{"type":"track","event":"X","userId":"u","properties":{"a":1e131072,"b":[1e-16384]}}`,
		`{"type":"track","event":"X","userId":"u","properties":{"a":"\ud800\\ud800\udc00\u0000","b":"\ud83d\ude00"}}`,
		`{"type":"track","event":"X","userId":"u","properties":` + strings.Repeat(`{"a":[`, 40) + strings.Repeat(`]}`, 40) + `}`,
		`{"type":"track","event":"X","userId":"u","timestamp":"0001-01-01","sentAt":"0001-01-01T00:00:00Z"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		env := envelope()
		env.Context = map[string]json.RawMessage{"locale": json.RawMessage(`"fr"`)}
		env.IP = "::1"
		e, _, err := env.Normalize(0, raw, "")
		// A batch's events are inspected while the batch is split: the
		// outcome must be the same.
		if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '{' {
			if end, scan, serr := ScanObject(trimmed, 0); serr == nil && end == len(trimmed) {
				_, _, err2 := env.NormalizeScanned(0, trimmed, "", scan)
				if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
					t.Fatalf("scanned: %v; inspected apart: %v", err2, err)
				}
			}
		}
		if err != nil {
			if _, ok := err.(*problem.ValidationError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		// What was accepted must store as valid JSON and read back.
		stored := e.AppendJSON(nil)
		if !utf8.Valid(stored) || bytes.Contains(stored, []byte(`\u0000`)) && !bytes.Contains(stored, []byte(`\\u0000`)) {
			t.Fatalf("stored form has invalid UTF-8 or NUL: %q", stored)
		}
		// Both engines can store it: no number out of range, no nesting
		// too deep, no escape PostgreSQL refuses.
		if in := inspect(stored, 0, ""); in.bad != nil || in.rewrite {
			t.Fatalf("stored form would be refused: %v, rewrite %v\n%s", in.bad, in.rewrite, stored)
		}
		// Every reader can decode it: numbers fit a float64.
		var generic any
		if err := json.Unmarshal(stored, &generic); err != nil {
			t.Fatalf("stored form is not readable as plain JSON: %v\n%s", err, stored)
		}
		var back Event
		if err := Unmarshal(stored, &back); err != nil {
			t.Fatalf("stored form does not decode: %v\n%s", err, e.AppendJSON(nil))
		}
		if back.MessageID != e.MessageID || back.Type != e.Type || back.UserID != e.UserID {
			t.Fatalf("round trip changed the event: %+v vs %+v", back, e)
		}
	})
}

func TestNormalizeSanitizesText(t *testing.T) {
	raw := []byte("{\"type\":\"identify\",\"userId\":\"u\",\"traits\":{\"name\":\"a\xffb\",\"nul\":\"x\\u0000y\",\"lit\":\"\\\\u0000\"}}")
	e, warnings, err := envelope().Normalize(0, raw, "")
	if err != nil {
		t.Fatal(err)
	}
	var traits map[string]string
	if err := json.Unmarshal(e.Traits, &traits); err != nil {
		t.Fatal(err)
	}
	if traits["name"] != "a\uFFFDb" || traits["nul"] != "x\uFFFDy" || traits["lit"] != `\u0000` {
		t.Fatalf("traits = %q", traits)
	}
	if len(warnings) != 1 || warnings[0].Code != CodeInvalidText {
		t.Fatalf("warnings = %v", warnings)
	}
}
