package journey_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/store"
)

// lostReply creates tasks but, the first time, reports a failure after
// the task was stored: a crash between the write and its record.
type lostReply struct {
	journey.TaskStore
	calls int
}

func (l *lostReply) CreateTask(ctx context.Context, t *store.Task) (bool, error) {
	l.calls++
	created, err := l.TaskStore.CreateTask(ctx, t)
	if l.calls == 1 && err == nil {
		return false, errors.New("connection reset")
	}
	return created, err
}

// TestTaskForTheNearestStoreOnce: the task goes to the store nearest the
// customer with their cart and history; a step run again after a lost
// reply creates no second task; Task Created reaches the timeline.
func TestTaskForTheNearestStoreOnce(t *testing.T) {
	w := newWorld(t)
	tasks := &lostReply{TaskStore: w.st}
	stores := []place.Location{{ID: "lyon", Name: "Lyon", Lat: 45.7578, Lon: 4.8320}, {ID: "paris", Name: "Paris", Lat: 48.8606, Lon: 2.3376}}
	w.eng = w.engine(journey.Options{Sender: w.rec, Tasks: tasks, Stores: stores})
	w.apply(`
kind: journey
id: vip
name: VIP near a store
triggers:
  - event: Location Updated
    near: {km: 1}
steps:
  - task: {store: nearest, title: "{{ trait.first_name }} is near", note: "Cart: {{ event.latitude }}", history: 3}
  - send: {channel: push, template: welcome}
`)
	w.identify("sara", map[string]any{"first_name": "Sara", "email": "sara@example.fr"})
	w.track("sara", "Product Added", map[string]any{"sku": "SHOE-42", "name": "Trail runner", "price": 89.9, "quantity": 1})
	w.at(time.Hour)
	w.track("sara", "Location Updated", map[string]any{"latitude": 45.7582, "longitude": 4.8325})
	w.at(time.Hour + 10*time.Minute) // the failed try
	w.at(time.Hour + 30*time.Minute) // its retry, two minutes later
	list, err := w.st.ListTasks(context.Background(), store.TaskQuery{})
	if err != nil || len(list) != 1 || tasks.calls != 2 {
		t.Fatalf("tasks = %d, %v after %d calls; want exactly one after two", len(list), err, tasks.calls)
	}
	task := list[0]
	if task.StoreID != "lyon" || task.Title != "Sara is near" || task.Note != "Cart: 45.7582" || task.ProfileID != w.profile("sara") || task.Status != store.TaskOpen {
		t.Fatalf("task = %+v", task)
	}
	var d journey.TaskDetail
	if err := json.Unmarshal(task.Detail, &d); err != nil {
		t.Fatal(err)
	}
	cart, _ := json.Marshal(d.Cart)
	if !strings.Contains(string(cart), "SHOE-42") || d.Customer["email"] != "sara@example.fr" || len(d.History) != 3 ||
		d.History[0].Event != "Location Updated" {
		t.Fatalf("detail = %+v (cart %s)", d, cart)
	}
	if got := w.templates("sara"); len(got) != 1 {
		t.Fatalf("sends = %v: the journey goes on after the task", got)
	}
	evs, err := w.st.Timeline(context.Background(), store.TimelineQuery{Profile: w.profile("sara"), Event: journey.EventTaskCreated, Limit: 10})
	if err != nil || len(evs) != 1 {
		t.Fatalf("Task Created on the timeline: %d, %v; want one", len(evs), err)
	}
}
