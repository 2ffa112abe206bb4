package journey_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/segment"
)

// backfill appends events as they are stored (their own times and import
// mark kept) in one batch, and runs every stage.
func (w *world) backfill(events ...*event.Event) {
	w.t.Helper()
	for _, e := range events {
		w.n++
		e.MessageID, e.SourceID, e.Channel = fmt.Sprintf("m%d", w.n), "src_crm", "crm"
		if e.ReceivedAt.IsZero() {
			e.ReceivedAt = w.clk.Now()
		}
	}
	if err := w.st.Append(context.Background(), events, nil); err != nil {
		w.t.Fatal(err)
	}
	w.drain()
}

// past is a track event of user that happened at ts.
func past(user, name string, ts time.Time, props map[string]any) *event.Event {
	b, _ := json.Marshal(props)
	return &event.Event{Type: event.Track, Event: name, UserID: user, Properties: b, Timestamp: ts}
}

// traces records the engine's trace.
type traces struct {
	mu  sync.Mutex
	all []journey.TraceEntry
}

func (tr *traces) add(t journey.TraceEntry) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.all = append(tr.all, t)
}

func (tr *traces) find(kind, what, why string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.ContainsFunc(tr.all, func(t journey.TraceEntry) bool {
		return t.Kind == kind && t.What == what && strings.Contains(t.Why, why)
	})
}

const browse = `
kind: journey
id: browse
name: Browse abandonment
triggers: [{event: Product Viewed}]
re_entry: {policy: always}
steps:
  - send: {channel: sms, template: browse-sms}
---
kind: journey
id: browse-fresh
name: Browse abandonment, two hours at most
triggers: [{event: Product Viewed, where: {fresh: true}, max_age: 2h}]
steps:
  - send: {channel: sms, template: fresh-sms}
`

// TestHistoryNeverEnrols: a backfill of thousands of old events, imported
// or sent with their old timestamps, enrols nobody and sends nothing; a
// live event a second later sends one message.
func TestHistoryNeverEnrols(t *testing.T) {
	w := newWorld(t)
	tr := &traces{}
	w.eng = w.engine(journey.Options{Sender: w.rec, Trace: tr.add})
	w.apply(browse)
	now := w.clk.Now()
	var imported, old []*event.Event
	for i := range 2000 {
		// A CRM export of 2025 views, and the same through the tracking
		// API with their timestamps: 1,000 customers, 2 views each.
		e := past(fmt.Sprintf("c%d", i%1000), "Product Viewed", time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Minute), map[string]any{"sku": "SHOE-42"})
		e.Imported = true
		imported = append(imported, e)
		old = append(old, past(fmt.Sprintf("c%d", i%1000), "Product Viewed", now.Add(-25*time.Hour-time.Duration(i)*time.Minute), map[string]any{"sku": "SHOE-42"}))
	}
	// An import of views of today, minutes old: imported is history too.
	recent := past("c1", "Product Viewed", now.Add(-time.Minute), nil)
	recent.Imported = true
	w.backfill(append(imported, recent)...)
	w.backfill(old...)
	w.at(time.Hour)
	if n := len(w.rec.Sent()); n != 0 {
		t.Fatalf("the backfill sent %d messages", n)
	}
	if n := len(w.enrolments("c1")); n != 0 {
		t.Fatalf("the backfill enrolled c1 %d times", n)
	}
	if !tr.find("enter", "not entered", "history: imported") || !tr.find("enter", "not entered", "before it was received (max_age 1d)") {
		t.Fatal("the trace does not say why history enrols nobody")
	}
	// A second later, c1 views a product live: one message.
	w.clk.Advance(time.Second)
	w.track("c1", "Product Viewed", map[string]any{"sku": "SHOE-42"})
	w.tick()
	if got := w.templates("c1"); !slices.Equal(got, []string{"browse-sms"}) {
		t.Fatalf("the live view sent %v", got)
	}
	if got := len(w.rec.Sent()); got != 1 {
		t.Fatalf("%d messages in all, want 1", got)
	}
}

// TestFreshnessWindowPerTrigger: max_age is the trigger's own window,
// measured from the event's time to when it was received — not to when
// the engine reads it, so a server catching up decides as it would have.
func TestFreshnessWindowPerTrigger(t *testing.T) {
	w := newWorld(t)
	w.apply(browse)
	now := w.clk.Now()
	fresh := map[string]any{"fresh": true}
	w.backfill(
		past("ana", "Product Viewed", now.Add(-3*time.Hour), fresh),    // older than 2h: browse only
		past("ben", "Product Viewed", now.Add(-90*time.Minute), fresh), // within 2h: both
	)
	// Received fresh at now, read by an engine three days late (it was
	// down): still news.
	late := past("cid", "Product Viewed", now, fresh)
	late.ReceivedAt = now
	w.clk.Advance(72 * time.Hour)
	w.backfill(late)
	w.tick()
	for user, want := range map[string][]string{
		"ana": {"browse-sms"},
		"ben": {"browse-sms", "fresh-sms"},
		"cid": {"browse-sms", "fresh-sms"},
	} {
		got := w.templates(user)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: sent %v, want %v", user, got, want)
		}
	}
}

const buyersSegment = `
kind: segment
id: buyers
name: Bought once
where: {performed: {event: Order Completed}}
`

const buyersJourney = `
kind: journey
id: thanks-buyers
name: Welcome new buyers
triggers: [{segment_entered: buyers}]
steps:
  - send: {channel: email, template: welcome-buyer}
`

// TestSegmentEntriesCausedByHistoryTriggerNothing: an imported or old
// order puts the customer in the segment, silently for journeys; a live
// one enrols. A segment saved later finds its first members by a backfill:
// history too.
func TestSegmentEntriesCausedByHistoryTriggerNothing(t *testing.T) {
	w := newWorld(t)
	saveSegments(t, w, buyersSegment)
	w.apply(buyersJourney)
	imported := past("ana", "Order Completed", w.clk.Now(), nil)
	imported.Imported = true
	w.backfill(imported, past("ben", "Order Completed", w.clk.Now().Add(-400*24*time.Hour), nil))
	w.track("cid", "Order Completed", nil)
	w.tick()
	if got := len(w.rec.Sent()); got != 1 || !slices.Equal(w.templates("cid"), []string{"welcome-buyer"}) {
		t.Fatalf("sent %+v, want only cid's welcome", w.rec.Sent())
	}
	for _, u := range []string{"ana", "ben"} {
		if n := len(w.enrolments(u)); n != 0 {
			t.Fatalf("%s entered %d times on a segment entry caused by history", u, n)
		}
	}
	// A new segment, with its journey: its backfill enrols nobody.
	saveSegments(t, w, `
kind: segment
id: ordered
name: Ordered
where: {performed: {event: Order Completed}}
`)
	w.apply(`
kind: journey
id: ordered-journey
name: Ordered
triggers: [{segment_entered: ordered}]
steps:
  - send: {channel: email, template: ordered}
`)
	w.tick()
	if got := len(w.rec.Sent()); got != 1 {
		t.Fatalf("the backfill of a new segment sent %+v", w.rec.Sent())
	}
	// Then a live order of someone new: the segment entry enrols.
	w.track("dan", "Order Completed", nil)
	w.tick()
	if got := w.templates("dan"); !slices.Equal(got, []string{"welcome-buyer", "ordered"}) && !slices.Equal(got, []string{"ordered", "welcome-buyer"}) {
		t.Fatalf("dan: %v", got)
	}
}

const cartExit = `
kind: journey
id: cart
name: Cart
triggers: [{event: Product Added}]
exit_on: [{event: Order Completed}]
steps:
  - wait: {for: 1h}
  - send: {channel: email, template: offer}
---
kind: journey
id: signup
name: Sign-up
triggers: [{event: Signed Up}]
steps:
  - wait_for:
      event: Order Completed
      timeout: 1d
      on_event: [{send: {channel: email, template: thanks}}]
      on_timeout: [{send: {channel: email, template: nudge}}]
`

// TestHistoryExitsButNeverWakes: an imported purchase made before the
// customer entered does not end the enrolment; one made after it does (it
// only stops messages); a live one always does. History never wakes a
// wait_for (its on_event steps would message).
func TestHistoryExitsButNeverWakes(t *testing.T) {
	w := newWorld(t)
	tr := &traces{}
	w.eng = w.engine(journey.Options{Sender: w.rec, Trace: tr.add})
	w.apply(cartExit)
	entry := w.clk.Now()
	for _, u := range []string{"ana", "ben", "cid"} {
		w.track(u, "Product Added", nil)
	}
	w.track("dan", "Signed Up", nil)
	w.track("eve", "Signed Up", nil)
	w.tick() // their wait_for starts
	w.clk.Advance(20 * time.Minute)
	before := past("ana", "Order Completed", entry.Add(-400*24*time.Hour), nil) // a 2025 order, imported
	before.Imported = true
	after := past("ben", "Order Completed", entry.Add(10*time.Minute), nil) // bought in store after entering, imported
	after.Imported = true
	danAfter := past("dan", "Order Completed", entry.Add(10*time.Minute), nil)
	danAfter.Imported = true
	w.backfill(before, after, danAfter)
	// cid's purchase, live, stamped a minute before the entry (the app
	// sent it late): it counts.
	w.backfill(past("cid", "Order Completed", entry.Add(-time.Minute), nil))
	w.track("eve", "Order Completed", nil)
	w.at(2 * 24 * time.Hour)
	for user, want := range map[string][]string{"ana": {"offer"}, "ben": nil, "cid": nil, "dan": {"nudge"}, "eve": {"thanks"}} {
		if got := w.templates(user); !slices.Equal(got, want) {
			t.Errorf("%s: sent %v, want %v", user, got, want)
		}
	}
	if en := w.enrolments("ben")[0]; en.Status != journey.EnrolExited || !strings.Contains(en.Reason, "exit_on[0]: Order Completed") {
		t.Errorf("ben: %s %s", en.Status, en.Reason)
	}
	if !tr.find("wait_for", "event ignored", "history: imported") {
		t.Error("the trace does not say dan's imported order was ignored")
	}
}

// saveSegments saves segment definitions (and backfills them).
func saveSegments(t *testing.T, w *world, src string) {
	t.Helper()
	defs, err := segment.ParseYAML("segments.yaml", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.seg.Save(context.Background(), defs, nil); err != nil {
		t.Fatal(err)
	}
}
