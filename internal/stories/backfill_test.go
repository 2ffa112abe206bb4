package stories_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// eventJourneys are the example journeys an event enters: the ones a
// backfill could set off.
var eventJourneys = []string{"abandoned-cart", "browse-abandonment", "click-collect-ready", "post-purchase", "welcome"}

// TestStoryBackfillSendsNothing: the brand goes live with its journeys,
// then loads its history — thousands of CRM events imported with
// `parcours import`, and a web shop replaying a month-old backlog through
// the tracking API with the events' own (old) timestamps. Nobody is
// messaged about last spring's cart: no journey enrols anyone from it.
// A customer from that history who fills a cart a second after the import
// gets that cart's reminders — the email an hour later, the SMS nudge the
// next day — and nothing else.
func TestStoryBackfillSendsNothing(t *testing.T) {
	l := newLive(t, liveOptions{})
	l.openShop(map[string]int{"TR-42@lyon-bellecour": 30, "BAG-7@lyon-bellecour": 30})
	// The journeys as shipped, with their templates.
	files := []string{"../../examples/templates", "../../examples/surveys"}
	for _, j := range eventJourneys {
		files = append(files, "../../examples/journeys/"+j+".yaml")
	}
	l.apply(files...)
	var crm struct {
		ID string `json:"id"`
	}
	l.call("POST", "/api/v1/sources", map[string]any{"name": "CRM export", "channel": "crm"}, &crm)

	// Last spring, 250 customers: who they are, what they looked at, put
	// in their cart, ordered and picked up — 2,000 lines.
	file := filepath.Join(t.TempDir(), "history.ndjson")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	spring := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	line := func(ev map[string]any) {
		b, _ := json.Marshal(ev)
		w.Write(append(b, '\n'))
	}
	for i := range 250 {
		user := fmt.Sprintf("crm-%03d", i)
		at := func(h int) string {
			return spring.Add(time.Duration(i)*time.Hour + time.Duration(h)*time.Minute).Format(time.RFC3339)
		}
		line(map[string]any{"type": "identify", "userId": user, "timestamp": at(0), "traits": map[string]any{"first_name": "Client", "email": user + "@example.fr",
			"phone": fmt.Sprintf("+33612%06d", i), "emailOptIn": true, "smsOptIn": true}})
		line(map[string]any{"type": "track", "userId": user, "event": "Signed Up", "timestamp": at(1)})
		line(map[string]any{"type": "track", "userId": user, "event": "Product Viewed", "timestamp": at(2),
			"properties": map[string]any{"sku": "TR-42", "name": "Trail runner"}, "context": map[string]any{"location": nearBellecour}})
		line(map[string]any{"type": "track", "userId": user, "event": "Product Added", "timestamp": at(3),
			"properties": map[string]any{"sku": "TR-42", "name": "Trail runner", "price": 89.9, "quantity": 1}})
		line(map[string]any{"type": "track", "userId": user, "event": "Product Added", "timestamp": at(4),
			"properties": map[string]any{"sku": "BAG-7", "name": "City bag", "price": 129, "quantity": 1}})
		line(map[string]any{"type": "track", "userId": user, "event": "Order Ready For Pickup", "timestamp": at(5),
			"properties": map[string]any{"order_id": "old-" + user, "store_id": "lyon-bellecour"}})
		line(map[string]any{"type": "track", "userId": user, "event": "Order Completed", "timestamp": at(6),
			"properties": map[string]any{"order_id": "spring-" + user, "total": 89.9, "currency": "EUR"}})
		if i%2 == 0 {
			// Half of them left a cart after their last order.
			line(map[string]any{"type": "track", "userId": user, "event": "Product Added", "timestamp": at(7),
				"properties": map[string]any{"sku": "BAG-7", "name": "City bag", "price": 129, "quantity": 1}})
		} else {
			line(map[string]any{"type": "track", "userId": user, "event": "Product Viewed", "timestamp": at(7),
				"properties": map[string]any{"sku": "BAG-7", "name": "City bag"}})
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := l.parcours("import", file, "--source", "CRM export", "--data-dir", l.dir)
	t.Logf("%s", out)

	// The web shop's backlog of a month ago, through the tracking API
	// with the events' timestamps: 100 customers, 600 events.
	old := start.Add(-30 * 24 * time.Hour)
	var batch []map[string]any
	for i := range 100 {
		user := fmt.Sprintf("web-%03d", i)
		ts := func(m int) string { return old.Add(time.Duration(i*10+m) * time.Minute).Format(time.RFC3339) }
		batch = append(batch,
			map[string]any{"type": "identify", "userId": user, "timestamp": ts(0), "traits": map[string]any{"email": user + "@example.fr",
				"phone": fmt.Sprintf("+33613%06d", i), "emailOptIn": true, "smsOptIn": true}},
			map[string]any{"type": "track", "userId": user, "event": "Signed Up", "timestamp": ts(1)},
			map[string]any{"type": "track", "userId": user, "event": "Product Viewed", "timestamp": ts(2),
				"properties": map[string]any{"sku": "TR-42"}, "context": map[string]any{"location": nearBellecour}},
			map[string]any{"type": "track", "userId": user, "event": "Product Added", "timestamp": ts(3), "properties": map[string]any{"sku": "TR-42", "price": 89.9}},
			map[string]any{"type": "track", "userId": user, "event": "Order Ready For Pickup", "timestamp": ts(4),
				"properties": map[string]any{"order_id": "w-" + user, "store_id": "lyon-bellecour"}},
			map[string]any{"type": "track", "userId": user, "event": "Order Completed", "timestamp": ts(5), "properties": map[string]any{"order_id": "w-" + user, "total": 89.9}},
		)
		if len(batch) >= 120 {
			l.track("batch", map[string]any{"batch": batch})
			batch = nil
		}
	}
	// A second later, live: one of last spring's customers fills a cart.
	l.at(time.Second)
	l.track("track", map[string]any{"userId": "crm-007", "event": "Product Added",
		"properties": map[string]any{"sku": "TR-42", "name": "Trail runner", "price": 89.9, "quantity": 1}})
	// An hour later: the cart email, and nothing from the history.
	l.at(time.Hour + time.Second)
	if got := l.box.list("", ""); len(got) != 1 || got[0].To != "crm-007@example.fr" {
		t.Fatalf("want the one email of the live cart; the backfill sent %d messages: %+v", len(got), got)
	}
	// The days go by: every wait of every journey would have come due.
	// Only the live cart's journey goes on: its SMS nudge a day later.
	for _, d := range []time.Duration{2 * time.Hour, 26 * time.Hour, 3 * 24 * time.Hour, 8 * 24 * time.Hour} {
		l.at(d)
	}
	var templates []string
	for _, m := range l.outbox("user_id=crm-007") {
		templates = append(templates, m["template_id"].(string))
	}
	if got := l.box.list("", ""); len(got) != 2 || got[1].To != "+33612000007" || fmt.Sprint(templates) != "[cart-reminder-offer cart-reminder-sms]" {
		t.Fatalf("after eight days, want the live cart's email and SMS; %d messages: %+v; crm-007's: %v", len(got), got, templates)
	}
	for _, j := range eventJourneys {
		var stats struct {
			Entered int `json:"entered"`
		}
		l.call("GET", "/api/v1/journeys/"+j+"/stats", nil, &stats)
		if want := map[bool]int{true: 1}[j == "abandoned-cart"]; stats.Entered != want {
			t.Fatalf("journey %s: %d customers entered, want %d (the live cart only)", j, stats.Entered, want)
		}
	}
}
