package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// hostileEvents are events with a value one engine or one reader refuses,
// next to the values both hold: validation must drop or correct each of
// them alone, and what it lets through must append in the same transaction
// as a hundred ordinary events, on every engine.
var hostileEvents = []struct {
	raw    string
	action string // "" when stored as sent
	code   string
	field  string
}{
	{`{"type":"track","event":"Huge","userId":"u","messageId":"huge","properties":{"amount":1e131072}}`, event.Dropped, event.CodeInvalidNumber, "properties.amount"},
	{`{"type":"track","event":"Inf","userId":"u","messageId":"inf","properties":{"amount":-1e309}}`, event.Dropped, event.CodeInvalidNumber, "properties.amount"},
	{`{"type":"track","event":"Scale","userId":"u","messageId":"scale","properties":{"x":1e-16384}}`, event.Dropped, event.CodeInvalidNumber, "properties.x"},
	{`{"type":"track","event":"Deep","userId":"u","messageId":"deep","properties":` + nested(70) + `}`, event.Dropped, event.CodeTooDeep, ""},
	{`{"type":"track","event":"Nul","userId":"u","messageId":"nul","properties":{"note":"a\u0000b"}}`, event.Corrected, event.CodeInvalidText, ""},
	{`{"type":"track","event":"Surrogate","userId":"u","messageId":"surrogate","properties":{"note":"a\ud800b\udfff"}}`, event.Corrected, event.CodeInvalidText, ""},
	{"{\"type\":\"track\",\"event\":\"Latin1\",\"userId\":\"u\",\"messageId\":\"latin1\",\"properties\":{\"note\":\"caf\xe9\"}}", event.Corrected, event.CodeInvalidText, ""},
	{`{"type":"track","event":"Zero date","userId":"u","messageId":"zero","timestamp":"0001-01-01T00:00:00Z"}`, event.Corrected, event.CodeInvalidTimestamp, "timestamp"},
	{`{"type":"track","event":"Year 0","userId":"u","messageId":"year0","timestamp":"0001-01-01T00:30:00+01:00"}`, event.Corrected, event.CodeInvalidTimestamp, "timestamp"},
	{`{"type":"track","event":"Far","userId":"u","messageId":"far","timestamp":"9999-12-31T23:59:59.999999Z","properties":{"big":1.7976931348623157e308,"tiny":4.9e-324,"zero":1e-400,"pair":"\ud83d\ude00"}}`, "", "", ""},
	{`{"type":"track","event":"Old","userId":"u","messageId":"old","timestamp":"0001-01-01T00:00:01Z"}`, "", "", ""},
}

func nested(levels int) string {
	s := "1"
	for range levels {
		s = `{"a":` + s + `}`
	}
	return s
}

func testHostileValues(t *testing.T, s store.Store) {
	ctx := context.Background()
	env := &event.Envelope{SourceID: "web", Channel: "web", ReceivedAt: t0}
	var events []*event.Event
	var rejects []*event.Rejection
	var raws []string
	for i := range 100 {
		raws = append(raws, fmt.Sprintf(`{"type":"track","event":"Product Viewed","userId":"u","messageId":"ok-%d","properties":{"price":%d.5}}`, i, i))
	}
	for _, h := range hostileEvents {
		raws = append(raws, h.raw)
	}
	for i, raw := range raws {
		e, warnings, err := env.Normalize(i, []byte(raw), "")
		if err != nil {
			rejects = append(rejects, event.NewRejection(env, i, "", event.Dropped, err.(*problem.ValidationError), []byte(raw)))
			continue
		}
		for _, w := range warnings {
			rejects = append(rejects, event.NewRejection(env, i, e.MessageID, event.Corrected, w, []byte(raw)))
		}
		events = append(events, e)
	}
	for i, h := range hostileEvents {
		var got *event.Rejection
		for _, r := range rejects {
			if r.Index == 100+i {
				got = r
			}
		}
		switch {
		case h.action == "" && got != nil:
			t.Errorf("%s: %s %s (%s), want stored as sent", h.raw[:60], got.Action, got.Code, got.Reason)
		case h.action != "" && (got == nil || got.Action != h.action || got.Code != h.code || h.field != "" && got.Field != h.field):
			t.Errorf("%.60s: rejection %+v, want %s %s %s", h.raw, got, h.action, h.code, h.field)
		}
	}
	// One transaction: the engine must take everything validation let through.
	if err := s.Append(ctx, events, rejects); err != nil {
		t.Fatalf("Append of the validated batch: %v", err)
	}
	got, err := s.ReadAfter(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(events) || len(events) != 100+7 {
		t.Fatalf("stored %d events of %d validated; want the 100 ordinary ones and 7 hostile ones stored or corrected", len(got), len(events))
	}
	for _, e := range got {
		var generic map[string]any
		if err := json.Unmarshal(e.Properties, &generic); len(e.Properties) > 0 && err != nil {
			t.Errorf("%s: properties read back unreadable: %v", e.MessageID, err)
		}
		if e.MessageID == "zero" && !e.Timestamp.Equal(t0) {
			t.Errorf("zero date: timestamp %v, want the receive time %v", e.Timestamp, t0)
		}
	}
	list, err := s.ListRejections(ctx, store.RejectionQuery{Limit: 100})
	if err != nil || len(list) != len(rejects) {
		t.Fatalf("rejections stored %d of %d: %v", len(list), len(rejects), err)
	}
}
