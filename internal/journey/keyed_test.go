package journey_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/store"
)

const pickup = `
kind: journey
id: pickup
name: Click & collect ready
triggers: [{event: Order Ready For Pickup}]
re_entry: {policy: always, key: order_id}
exit_on: [{event: Order Collected}]
steps:
  - send: {channel: sms, template: pickup-ready}
  - wait: {for: 2d}
  - send: {channel: sms, template: pickup-reminder}
`

// byStatus counts a user's enrolments in a journey by status.
func byStatus(w *world, user, id string) map[string]int {
	out := map[string]int{}
	for _, en := range w.enrolments(user) {
		if en.Journey == id {
			out[en.Status]++
		}
	}
	return out
}

// TestKeyedReEntry: a second order ready a minute after the first is
// notified (two enrolments, two sends with their own keys); the same order
// twice is not; collecting order A ends A's enrolment only; an event
// without the key applies to every enrolment.
func TestKeyedReEntry(t *testing.T) {
	w := newWorld(t)
	w.apply(pickup)
	w.track("nina", "Order Ready For Pickup", map[string]any{"order_id": "A"})
	w.tick()
	w.clk.Advance(time.Minute)
	w.track("nina", "Order Ready For Pickup", map[string]any{"order_id": "B"})
	w.track("nina", "Order Ready For Pickup", map[string]any{"order_id": "A"}) // sent twice: one enrolment
	w.tick()
	if got := w.templates("nina"); !slices.Equal(got, []string{"pickup-ready", "pickup-ready"}) {
		t.Fatalf("two orders ready: sent %v", got)
	}
	sent := w.rec.Sent()
	if sent[0].Key == sent[1].Key || sent[0].Enrolment == sent[1].Enrolment {
		t.Fatalf("two sends share a key: %s / %s", sent[0].Key, sent[1].Key)
	}
	if got := byStatus(w, "nina", "pickup"); got[journey.EnrolActive] != 2 || len(w.enrolments("nina")) != 2 {
		t.Fatalf("enrolments: %v", got)
	}
	// Order A collected an hour later: B goes on to its reminder.
	w.clk.Advance(time.Hour)
	w.track("nina", "Order Collected", map[string]any{"order_id": "A"})
	w.at(3 * 24 * time.Hour)
	if got := w.templates("nina"); !slices.Equal(got, []string{"pickup-ready", "pickup-ready", "pickup-reminder"}) {
		t.Fatalf("after A was collected: sent %v", got)
	}
	var a, b *store.Enrolment
	for _, en := range w.enrolments("nina") {
		if en.Status == journey.EnrolExited {
			a = en
		} else {
			b = en
		}
	}
	if a == nil || b == nil || b.Status != journey.EnrolCompleted || !strings.Contains(a.Reason, "Order Collected") ||
		a.EnteredAt.After(b.EnteredAt) {
		t.Fatalf("A should have exited, B completed: %+v / %+v", a, b)
	}
	if r := w.rec.Sent()[2]; r.Enrolment != b.ID {
		t.Fatalf("the reminder went to enrolment %d, want B's %d", r.Enrolment, b.ID)
	}
	// omar: two orders, then an Order Collected without order_id: both end.
	w.track("omar", "Order Ready For Pickup", map[string]any{"order_id": 1001})
	w.track("omar", "Order Ready For Pickup", map[string]any{"order_id": "1002"})
	w.track("omar", "Order Ready For Pickup", map[string]any{"order_id": "1001"}) // the number and the string are one order
	w.tick()
	w.track("omar", "Order Collected", nil)
	if got := byStatus(w, "omar", "pickup"); got[journey.EnrolExited] != 2 || len(w.enrolments("omar")) != 2 {
		t.Fatalf("omar: %v", got)
	}
	st, err := w.st.JourneyStats(context.Background(), "pickup")
	if err != nil {
		t.Fatal(err)
	}
	if st.Entered != 4 || st.Handed["sms"] != 5 || st.Exits["exit_on[0]: Order Collected"] != 3 {
		t.Fatalf("stats: entered %d, handed %v, exits %v", st.Entered, st.Handed, st.Exits)
	}
}

// TestKeyedPoliciesApplyPerKey: with policy once the customer enters once
// per order; with a cool-down, the cool-down runs per order.
func TestKeyedPoliciesApplyPerKey(t *testing.T) {
	for _, tc := range []struct {
		policy string
		want   int
	}{{"{policy: once, key: order.id}", 2}, {"{policy: cooldown, cooldown: 1d, key: order.id}", 3}} {
		t.Run(tc.policy, func(t *testing.T) {
			w := newWorld(t)
			w.apply(strings.Replace(strings.Replace(pickup, "{policy: always, key: order_id}", tc.policy, 1),
				"  - wait: {for: 2d}\n  - send: {channel: sms, template: pickup-reminder}\n", "", 1))
			order := func(id string) map[string]any { return map[string]any{"order": map[string]any{"id": id}} }
			w.track("nina", "Order Ready For Pickup", order("A"))
			w.tick()
			w.at(time.Hour)
			w.track("nina", "Order Ready For Pickup", order("A")) // A again, over: refused by both
			w.track("nina", "Order Ready For Pickup", order("B")) // another order: enters
			w.tick()
			w.at(26 * time.Hour)
			w.track("nina", "Order Ready For Pickup", order("A")) // a day later: the cool-down has passed
			w.tick()
			if n := len(w.enrolments("nina")); n != tc.want {
				t.Fatalf("%d enrolments, want %d", n, tc.want)
			}
		})
	}
}

// TestKeyedWaitFor: the awaited event carrying the key wakes (and
// converts) only its own enrolment.
func TestKeyedWaitFor(t *testing.T) {
	w := newWorld(t)
	w.apply(`
kind: journey
id: review
name: Review per order
triggers: [{event: Order Completed}]
re_entry: {policy: always, key: order_id}
goal: {event: Order Delivered, within: 7d}
steps:
  - wait_for:
      event: Order Delivered
      timeout: 5d
      on_event: [{send: {channel: email, template: review-please}}]
      on_timeout: [{exit: {reason: never delivered}}]
`)
	w.track("lina", "Order Completed", map[string]any{"order_id": "L-1"})
	w.track("lina", "Order Completed", map[string]any{"order_id": "L-2"})
	w.tick()
	w.clk.Advance(time.Hour)
	w.track("lina", "Order Delivered", map[string]any{"order_id": "L-2"})
	w.at(6 * 24 * time.Hour)
	if got := w.templates("lina"); !slices.Equal(got, []string{"review-please"}) {
		t.Fatalf("sent %v", got)
	}
	got := map[string]string{}
	for _, en := range w.enrolments("lina") {
		got[en.Status] = en.Reason
	}
	if !strings.Contains(got[journey.EnrolExited], "never delivered") || len(got) != 2 {
		t.Fatalf("L-1 should time out, L-2 complete: %v", got)
	}
	if st, err := w.st.JourneyStats(context.Background(), "review"); err != nil || st.Converted != 1 {
		t.Fatalf("converted %d, want 1 (L-2 only): %v", st.Converted, err)
	}
}

// TestMergedKeyedEnrolmentsStay: when two profiles merge, their
// enrolments for different orders both go on; two for the same order
// become one.
func TestMergedKeyedEnrolmentsStay(t *testing.T) {
	w := newWorld(t)
	w.apply(pickup)
	props := func(id string) []byte { return []byte(`{"order_id":"` + id + `"}`) }
	w.log(&event.Event{Type: event.Track, Event: "Order Ready For Pickup", AnonymousID: "phone-1", Properties: props("A")})
	w.log(&event.Event{Type: event.Track, Event: "Order Ready For Pickup", AnonymousID: "phone-1", Properties: props("C")})
	w.track("ana", "Order Ready For Pickup", map[string]any{"order_id": "B"})
	w.track("ana", "Order Ready For Pickup", map[string]any{"order_id": "C"})
	w.tick()
	w.log(&event.Event{Type: event.Identify, UserID: "ana", AnonymousID: "phone-1"})
	all := w.enrolments("ana")
	got := byStatus(w, "ana", "pickup")
	if len(all) != 4 || got[journey.EnrolActive] != 3 || got[journey.EnrolExited] != 1 {
		t.Fatalf("after the merge: %v", got)
	}
	for _, en := range all {
		if en.Status == journey.EnrolExited && !strings.Contains(en.Reason, "profile merged into") {
			t.Fatalf("exited for %q", en.Reason)
		}
	}
}
