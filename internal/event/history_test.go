package event

import (
	"encoding/json"
	"testing"
	"time"
)

func TestHistorical(t *testing.T) {
	recv := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		e        Event
		maxAge   time.Duration
		historic bool
	}{
		{"live", Event{Timestamp: recv.Add(-time.Minute), ReceivedAt: recv}, DefaultMaxAge, false},
		{"at the window's edge", Event{Timestamp: recv.Add(-DefaultMaxAge), ReceivedAt: recv}, DefaultMaxAge, false},
		{"just past it", Event{Timestamp: recv.Add(-DefaultMaxAge - time.Second), ReceivedAt: recv}, DefaultMaxAge, true},
		{"a 2025 event sent today", Event{Timestamp: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), ReceivedAt: recv}, DefaultMaxAge, true},
		{"a window of its own", Event{Timestamp: recv.Add(-3 * time.Hour), ReceivedAt: recv}, 2 * time.Hour, true},
		{"imported, however recent", Event{Timestamp: recv, ReceivedAt: recv, Imported: true}, DefaultMaxAge, true},
		{"from the future (skew)", Event{Timestamp: recv.Add(time.Hour), ReceivedAt: recv}, DefaultMaxAge, false},
		{"no event time", Event{ReceivedAt: recv}, DefaultMaxAge, true},
	}
	for _, c := range cases {
		if got := c.e.Historical(c.maxAge); got != c.historic {
			t.Errorf("%s: Historical = %v, want %v (age %s)", c.name, got, c.historic, c.e.Age())
		}
	}
}

// TestImportedIsStored: the mark survives the stored form (the body both
// engines keep), as encoding/json writes it.
func TestImportedIsStored(t *testing.T) {
	e := &Event{MessageID: "m", Type: Track, Event: "Order Completed", UserID: "u", Timestamp: time.Unix(0, 0),
		ReceivedAt: time.Unix(10, 0), SourceID: "crm", Channel: "crm", Imported: true}
	var fromAppend, fromJSON map[string]any
	if err := json.Unmarshal(e.AppendJSON(nil), &fromAppend); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(e)
	json.Unmarshal(b, &fromJSON)
	if fromAppend["imported"] != true || fromJSON["imported"] != true {
		t.Fatalf("imported not written: %v / %v", fromAppend, fromJSON)
	}
	var back Event
	if err := Unmarshal(e.AppendJSON(nil), &back); err != nil || !back.Imported {
		t.Fatalf("round trip lost the mark: %+v, %v", back, err)
	}
	e.Imported = false
	var live map[string]any
	if err := json.Unmarshal(e.AppendJSON(nil), &live); err != nil {
		t.Fatal(err)
	}
	if _, ok := live["imported"]; ok {
		t.Fatalf("a live event carries imported: %s", e.AppendJSON(nil))
	}
}
