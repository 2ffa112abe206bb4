package journey_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/journey"
)

const sendJourney = `
kind: journey
id: ready
name: Ready
triggers: [{event: Order Ready For Pickup}, {event: Order Completed}]
re_entry: {policy: always}
steps:
  - send: {channel: sms, template: pickup-ready}
`

// TestSendsGetTheWholeTriggeringEvent: a send gets every property of the
// event that enrolled the customer (the journey names none of them), and
// the store it names: its store_id property, else the store of the POS
// source it came from.
func TestSendsGetTheWholeTriggeringEvent(t *testing.T) {
	w := newWorld(t)
	w.apply(sendJourney)
	props := map[string]any{"order_id": "web-1042", "store_id": "paris-rivoli", "total": 179.8, "fulfilment": "click_collect",
		"products": []any{map[string]any{"sku": "SHOE-42", "quantity": 2.0}}}
	w.track("sophie", "Order Ready For Pickup", props)
	w.tick()
	sent := w.rec.Sent()
	if len(sent) != 1 || !reflect.DeepEqual(sent[0].Event, props) || sent[0].Store != "paris-rivoli" {
		t.Fatalf("sent %+v, want the event's properties %v and store paris-rivoli", sent, props)
	}

	// At a till: the POS source's store.
	w.log(&event.Event{Type: event.Track, Event: "Order Completed", UserID: "sophie", StoreID: "lyon-part-dieu",
		Properties: json.RawMessage(`{"order_id":"pos-7","total":59}`)})
	w.tick()
	if sent = w.rec.Sent(); len(sent) != 2 || sent[1].Store != "lyon-part-dieu" || sent[1].Event["order_id"] != "pos-7" {
		t.Fatalf("POS send %+v, want store lyon-part-dieu", sent[1:])
	}
}

// TestEventPropertiesAreBounded: an event whose properties take more than
// MaxEventProperties bytes keeps those the steps name and the smallest
// others that fit; the largest (a long products array) is left out, and
// named in the enrolment's state.
func TestEventPropertiesAreBounded(t *testing.T) {
	w := newWorld(t)
	w.apply(`
kind: journey
id: big
name: Big
triggers: [{event: Order Completed}]
steps:
  - branch:
      cases:
        - when: {in_stock: {sku: "{{ event.sku }}", store: "{{ event.note }}"}}
          steps: []
  - send: {channel: sms, template: receipt}
`)
	var products []any
	for i := range 200 {
		products = append(products, map[string]any{"sku": "SKU-" + strings.Repeat("x", i%7), "name": "A product with a long name", "price": 19.9})
	}
	note := strings.Repeat("n", journey.MaxEventProperties-200) // named by the journey: kept whatever its size
	w.track("max", "Order Completed", map[string]any{"order_id": "A-1", "sku": "S", "note": note, "products": products, "currency": "EUR"})
	w.tick()
	sent := w.rec.Sent()
	if len(sent) != 1 {
		t.Fatalf("sent %+v", sent)
	}
	ev := sent[0].Event
	if ev["order_id"] != "A-1" || ev["sku"] != "S" || ev["note"] != note || ev["currency"] != "EUR" || ev["products"] != nil {
		t.Fatalf("kept %d properties: %v", len(ev), keys(ev))
	}
	var st struct {
		Omitted []string `json:"event_omitted"`
	}
	_ = json.Unmarshal(w.enrolments("max")[0].State, &st)
	if !reflect.DeepEqual(st.Omitted, []string{"products"}) {
		t.Fatalf("omitted %v, want [products]", st.Omitted)
	}
	if b, _ := json.Marshal(ev); len(b) > journey.MaxEventProperties {
		t.Fatalf("kept %d bytes, more than %d", len(b), journey.MaxEventProperties)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
