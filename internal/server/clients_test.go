package server_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	rudder "github.com/rudderlabs/analytics-go/v4"
	segment "github.com/segmentio/analytics-go/v3"

	"github.com/parcours/parcours/internal/event"
)

// The official clients are used unmodified, pointed at Parcours by their
// endpoint setting only.

var clientTime = time.Date(2026, 11, 20, 18, 30, 0, 123_000_000, time.UTC)

type counting struct{ ok, failed atomic.Int64 }

func (c *counting) Success(segment.Message)        { c.ok.Add(1) }
func (c *counting) Failure(segment.Message, error) { c.failed.Add(1) }

type rudderCounting struct{ ok, failed atomic.Int64 }

func (c *rudderCounting) Success(rudder.Message)        { c.ok.Add(1) }
func (c *rudderCounting) Failure(rudder.Message, error) { c.failed.Add(1) }

func TestSegmentAnalyticsGo(t *testing.T) {
	h := newHarness(t)
	cb := &counting{}
	client, err := segment.NewWithConfig(h.src.WriteKey, segment.Config{
		Endpoint: h.http.URL, Interval: 50 * time.Millisecond, BatchSize: 20, Callback: cb,
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 60
	want := map[string]event.Type{}
	for i := range n {
		id := fmt.Sprintf("seg-%d", i)
		user := fmt.Sprintf("user-%d", i%7)
		var msg segment.Message
		switch i % 6 {
		case 0:
			msg, want[id] = segment.Track{MessageId: id, UserId: user, Event: "Product Viewed", Timestamp: clientTime,
				Properties: segment.NewProperties().Set("sku", "SHOE-42").Set("price", 89.9)}, event.Track
		case 1:
			msg, want[id] = segment.Identify{MessageId: id, UserId: user, Timestamp: clientTime,
				Traits: segment.NewTraits().SetEmail("a@b.fr")}, event.Identify
		case 2:
			msg, want[id] = segment.Page{MessageId: id, AnonymousId: "anon-" + user, Name: "Home", Timestamp: clientTime}, event.Page
		case 3:
			msg, want[id] = segment.Screen{MessageId: id, UserId: user, Name: "Cart", Timestamp: clientTime}, event.Screen
		case 4:
			msg, want[id] = segment.Group{MessageId: id, UserId: user, GroupId: "loyalty-gold", Timestamp: clientTime}, event.Group
		case 5:
			msg, want[id] = segment.Alias{MessageId: id, UserId: user, PreviousId: "anon-" + user, Timestamp: clientTime}, event.Alias
		}
		if err := client.Enqueue(msg); err != nil {
			t.Fatalf("Enqueue %s: %v", id, err)
		}
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if cb.ok.Load() != n || cb.failed.Load() != 0 {
		t.Fatalf("client callbacks: %d ok, %d failed", cb.ok.Load(), cb.failed.Load())
	}
	checkClientEvents(t, h, want)
}

func TestRudderAnalyticsGoGzip(t *testing.T) {
	h := newHarness(t)
	cb := &rudderCounting{}
	client, err := rudder.NewWithConfig(h.src.WriteKey, rudder.Config{
		DataPlaneUrl: h.http.URL, Interval: 50 * time.Millisecond, BatchSize: 20, Callback: cb, NoProxySupport: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 60
	want := map[string]event.Type{}
	for i := range n {
		id := fmt.Sprintf("rs-%d", i)
		user := fmt.Sprintf("user-%d", i%7)
		var msg rudder.Message
		switch i % 6 {
		case 0:
			msg, want[id] = rudder.Track{MessageId: id, UserId: user, Event: "Order Completed", OriginalTimestamp: clientTime,
				Properties: rudder.NewProperties().Set("total", 120.5)}, event.Track
		case 1:
			msg, want[id] = rudder.Identify{MessageId: id, UserId: user, OriginalTimestamp: clientTime,
				Traits: rudder.NewTraits().SetEmail("a@b.fr")}, event.Identify
		case 2:
			msg, want[id] = rudder.Page{MessageId: id, AnonymousId: "anon-" + user, Name: "Home", OriginalTimestamp: clientTime}, event.Page
		case 3:
			msg, want[id] = rudder.Screen{MessageId: id, UserId: user, Name: "Cart", OriginalTimestamp: clientTime}, event.Screen
		case 4:
			msg, want[id] = rudder.Group{MessageId: id, UserId: user, GroupId: "loyalty-gold", OriginalTimestamp: clientTime}, event.Group
		case 5:
			msg, want[id] = rudder.Alias{MessageId: id, UserId: user, PreviousId: "anon-" + user, OriginalTimestamp: clientTime}, event.Alias
		}
		if err := client.Enqueue(msg); err != nil {
			t.Fatalf("Enqueue %s: %v", id, err)
		}
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if cb.ok.Load() != n || cb.failed.Load() != 0 {
		t.Fatalf("client callbacks: %d ok, %d failed", cb.ok.Load(), cb.failed.Load())
	}
	checkClientEvents(t, h, want)
}

// checkClientEvents checks that every message was stored once with its type
// and id, and that its time is the client's, corrected for skew.
func checkClientEvents(t *testing.T, h *harness, want map[string]event.Type) {
	t.Helper()
	got := h.events()
	if len(got) != len(want) {
		t.Fatalf("stored %d events, want %d", len(got), len(want))
	}
	seen := map[string]bool{}
	for _, e := range got {
		typ, ok := want[e.MessageID]
		if !ok || seen[e.MessageID] {
			t.Fatalf("unexpected or repeated message %q", e.MessageID)
		}
		seen[e.MessageID] = true
		if e.Type != typ || e.ID() == "" {
			t.Errorf("%s: type %s id %q, want type %s", e.MessageID, e.Type, e.ID(), typ)
		}
		if !e.OriginalTimestamp.Equal(clientTime) || e.SentAt.IsZero() {
			t.Errorf("%s: originalTimestamp %v sentAt %v", e.MessageID, e.OriginalTimestamp, e.SentAt)
		}
		if want := e.ReceivedAt.Add(-e.SentAt.Sub(e.OriginalTimestamp)); !e.Timestamp.Equal(want) {
			t.Errorf("%s: timestamp %v, want skew-corrected %v", e.MessageID, e.Timestamp, want)
		}
	}
}
