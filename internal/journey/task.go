package journey

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// TaskStore keeps the tasks task steps create; the store engines are one.
type TaskStore interface {
	// CreateTask stores t once per t.Key and sets t to the stored task.
	CreateTask(ctx context.Context, t *store.Task) (created bool, err error)
}

// EventTaskCreated is the event a task step appends to the customer's
// timeline.
const EventTaskCreated = "Task Created"

// defaultHistory is how many timeline events a task holds by default.
const defaultHistory = 10

// TaskDetail is the customer as a task shows them to the store's staff.
type TaskDetail struct {
	Customer      map[string]any `json:"customer,omitempty"`
	Cart          any            `json:"cart"`
	LifetimeValue any            `json:"lifetime_value"`
	OrderCount    any            `json:"order_count"`
	Segments      []string       `json:"segments"`
	History       []TaskEvent    `json:"history"`
	// Store is the store an in_stock case found, if any.
	Store *StoreStock `json:"store,omitempty"`
}

// TaskEvent is one event of a task's history.
type TaskEvent struct {
	At         time.Time       `json:"at"`
	Type       string          `json:"type"`
	Event      string          `json:"event,omitempty"`
	Channel    string          `json:"channel,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
}

// customerTraits are the traits a task shows of its customer.
var customerTraits = []string{"first_name", "last_name", "firstName", "lastName", "name", "email", "phone", "loyalty_tier", "loyaltyTier"}

// task runs a task step: it creates the task (once per step key) and
// emits Task Created. It returns the outcome and what the trace shows.
func (r *runner) task(ctx context.Context, en *store.Enrolment, n *node, st *state, at time.Time) (string, string, error) {
	t := n.step.Task
	if r.e.o.Tasks == nil {
		return "not created", "no task store configured: not created", nil
	}
	prof := r.profile(en.Profile)
	x := expander{st: st, prof: prof}
	storeID := x.expand(t.Store)
	if t.Store == "nearest" {
		storeID = ""
		if lat, lon, ok := r.position(en.Profile, st); ok {
			if near, ok := nearestStore(r.e.o.Stores, lat, lon); ok {
				storeID = near.ID
			}
		}
	}
	if storeID == "" {
		return "no store", "no store for " + t.Store + ": not created", nil
	}
	detail, err := r.snapshot(ctx, prof, st, t.History, at)
	if err != nil {
		return "", "", err
	}
	task := &store.Task{Key: sendKey(en.Journey, en.Version, n.addr, en.Profile, en.ID), StoreID: storeID, ProfileID: en.Profile,
		JourneyID: en.Journey, Title: x.expand(t.Title), Note: x.expand(t.Note), Status: store.TaskOpen, Detail: detail, CreatedAt: at}
	created, err := r.e.o.Tasks.CreateTask(ctx, task)
	if err != nil {
		return "", "", fmt.Errorf("journey: task of enrolment %d: %w", en.ID, err)
	}
	if r.e.o.Emit != nil {
		// The message id is the task's key: emitted again after a crash,
		// the log's dedup drops it.
		props, _ := json.Marshal(map[string]any{"profileId": en.Profile, "taskId": task.ID, "storeId": storeID,
			"title": task.Title, "journeyId": en.Journey})
		r.emit = append(r.emit, &event.Event{MessageID: "parcours-task-" + task.Key, Type: event.Track, Event: EventTaskCreated,
			Properties: props, Timestamp: at, ReceivedAt: r.b.now, SourceID: "src_parcours", Channel: profile.InternalChannel})
	}
	what := fmt.Sprintf("task %d for store %s: %s", task.ID, storeID, task.Title)
	if !created {
		what += " (created before: the step ran again)"
	}
	return "created", what, nil
}

// snapshot is the customer as the task shows them: a few traits, the
// current cart (products added since the last order, not removed), the
// lifetime value and order count, segments, and the last events of the
// timeline up to at.
func (r *runner) snapshot(ctx context.Context, p *profile.Profile, st *state, n int, at time.Time) (json.RawMessage, error) {
	if n <= 0 {
		n = defaultHistory
	}
	computed := profile.Computed(p, &profile.Env{Now: at, Stores: r.e.o.Stores})
	d := TaskDetail{Customer: map[string]any{"profile_id": p.ID}, Cart: computed["current_cart"], LifetimeValue: computed["lifetime_value"],
		OrderCount: computed["order_count"], Segments: []string{}, History: []TaskEvent{}, Store: st.Store}
	for _, k := range customerTraits {
		if t, ok := p.Traits[k]; ok {
			var v any
			if json.Unmarshal(t.Value, &v) == nil {
				d.Customer[k] = v
			}
		}
	}
	if s := r.segs[p.ID]; s != nil {
		d.Segments = slices.Sorted(maps.Keys(s.Members))
	}
	evs, err := r.e.st.ProfileEvents(ctx, p.ID, p.ID, nil)
	if err != nil {
		return nil, fmt.Errorf("journey: timeline of profile %d: %w", p.ID, err)
	}
	var hist []TaskEvent
	for _, pe := range evs {
		e := pe.Event
		if e.Timestamp.After(at) || e.Event == EventTaskCreated {
			continue
		}
		hist = append(hist, TaskEvent{At: e.Timestamp, Type: string(e.Type), Event: e.Event, Channel: e.Channel, Properties: e.Properties})
	}
	slices.SortStableFunc(hist, func(a, b TaskEvent) int { return b.At.Compare(a.At) })
	if len(hist) > n {
		hist = hist[:n]
	}
	if hist != nil {
		d.History = hist
	}
	return json.Marshal(d)
}

// nearestStore is the store closest to a position.
func nearestStore(stores []place.Location, lat, lon float64) (place.Location, bool) {
	i, _ := place.Nearest(stores, func(s place.Location) (float64, float64) { return s.Lat, s.Lon }, lat, lon)
	if i < 0 {
		return place.Location{}, false
	}
	return stores[i], true
}
