package journey_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/store"
)

// TestTaskSnapshot: the task's cart is what was added since the last
// order; its history holds the last N events, newest first; a customer
// with no known position gets no task (no store), and the journey goes
// on.
func TestTaskSnapshot(t *testing.T) {
	w := newWorld(t)
	stores := []place.Location{{ID: "lyon", Name: "Lyon", Lat: 45.7578, Lon: 4.8320}}
	w.eng = w.engine(journey.Options{Sender: w.rec, Tasks: w.st, Stores: stores})
	w.apply(`
kind: journey
id: vip
name: VIP
triggers:
  - event: Visit
steps:
  - task: {store: nearest, title: "{{ trait.first_name }} is here", history: 2}
  - send: {channel: push, template: welcome}
`)
	w.identify("sara", map[string]any{"first_name": "Sara", "phone": "+33612345678"})
	w.track("sara", "Product Added", map[string]any{"sku": "SHOE-42", "price": 89.9, "quantity": 1})
	w.at(time.Minute)
	w.track("sara", "Order Completed", map[string]any{"total": 89.9, "products": []map[string]any{{"sku": "SHOE-42", "price": 89.9, "quantity": 1}}})
	w.at(2 * time.Minute)
	w.track("sara", "Product Added", map[string]any{"sku": "BAG-7", "price": 40, "quantity": 1})
	w.at(3 * time.Minute)
	w.track("sara", "Visit", map[string]any{"latitude": 45.7582, "longitude": 4.8325})
	w.at(4 * time.Minute)
	w.identify("nico", map[string]any{"first_name": "Nico"})
	w.track("nico", "Visit", nil) // no position: no store
	w.at(5 * time.Minute)

	list, err := w.st.ListTasks(context.Background(), store.TaskQuery{})
	if err != nil || len(list) != 1 {
		t.Fatalf("tasks = %d, %v; want sara's only", len(list), err)
	}
	var d journey.TaskDetail
	if err := json.Unmarshal(list[0].Detail, &d); err != nil {
		t.Fatal(err)
	}
	cart, _ := json.Marshal(d.Cart)
	if !strings.Contains(string(cart), "BAG-7") || strings.Contains(string(cart), "SHOE-42") {
		t.Errorf("cart = %s, want BAG-7 only (SHOE-42 was bought)", cart)
	}
	if len(d.History) != 2 || d.History[0].Event != "Visit" || d.History[1].Event != "Product Added" {
		t.Errorf("history = %+v, want Visit then Product Added", d.History)
	}
	if d.Customer["first_name"] != "Sara" || d.Customer["phone"] != "+33612345678" {
		t.Errorf("customer = %v", d.Customer)
	}
	if got := w.templates("nico"); len(got) != 1 {
		t.Errorf("nico's sends = %v: without a store the journey goes on", got)
	}
}
