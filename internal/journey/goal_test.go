package journey_test

import (
	"context"
	"testing"
	"time"
)

// A goal counts once per enrolment, only for events within the window
// after entry (not before it), whatever the enrolment's status.
func TestGoalConversions(t *testing.T) {
	w := newWorld(t)
	w.apply(`
kind: journey
id: cart
name: Cart
triggers: [{event: Product Added}]
goal: {event: Order Completed, within: 2d, where: {currency: EUR}}
steps:
  - send: {channel: email, template: offer}
`)
	w.track("zoe", "Order Completed", map[string]any{"currency": "EUR"}) // before entry: not a conversion
	w.track("ana", "Product Added", nil)
	w.track("zoe", "Product Added", nil)
	w.track("bob", "Product Added", nil)
	w.tick() // the journey ends for all three: completed
	w.at(time.Hour)
	w.track("ana", "Order Completed", map[string]any{"currency": "EUR"})
	w.track("ana", "Order Completed", map[string]any{"currency": "EUR"}) // once only
	w.track("bob", "Order Completed", map[string]any{"currency": "USD"}) // filtered out
	w.at(3 * 24 * time.Hour)
	w.track("zoe", "Order Completed", map[string]any{"currency": "EUR"}) // after the window
	st, err := w.st.JourneyStats(context.Background(), "cart")
	if err != nil {
		t.Fatal(err)
	}
	if st.Entered != 3 || st.Converted != 1 || st.Enrolments["completed"] != 3 {
		t.Fatalf("entered %d, converted %d, enrolments %v", st.Entered, st.Converted, st.Enrolments)
	}
}
