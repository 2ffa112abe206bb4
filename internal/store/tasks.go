package store

import (
	"context"
	"encoding/json"
	"time"
)

// The statuses of a task.
const (
	TaskOpen = "open"
	TaskDone = "done"
)

// Tasks keeps the tasks journeys create for store staff (clienteling:
// "this customer is in your store, here is their cart and history").
type Tasks interface {
	// CreateTask stores t unless a task with its Key exists, and sets t
	// to the stored task either way: created is false when the key was
	// there (a step run again after a crash).
	CreateTask(ctx context.Context, t *Task) (created bool, err error)
	// Task returns one task, or ErrNotFound.
	Task(ctx context.Context, id int64) (*Task, error)
	// ListTasks returns the tasks q selects, by id.
	ListTasks(ctx context.Context, q TaskQuery) ([]*Task, error)
	// SetTaskStatus changes a task's status (done: DoneAt is at; open:
	// cleared) and returns it, or ErrNotFound.
	SetTaskStatus(ctx context.Context, id int64, status string, at time.Time) (*Task, error)
}

// Task is a task for the staff of one store about one customer.
type Task struct {
	ID int64 `json:"id"`
	// Key makes creation idempotent: the journey step's key.
	Key       string `json:"key"`
	StoreID   string `json:"store_id"`
	ProfileID int64  `json:"profile_id"`
	JourneyID string `json:"journey_id,omitempty"`
	Title     string `json:"title"`
	Note      string `json:"note,omitempty"`
	Status    string `json:"status"`
	// Detail is the customer as the task was created: their cart, a
	// short history, lifetime value, segments (JSON).
	Detail    json.RawMessage `json:"detail,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	DoneAt    time.Time       `json:"done_at,omitzero"`
}

// TaskQuery selects tasks; zero fields do not filter. After pages by id.
type TaskQuery struct {
	StoreID string
	Status  string
	// ProfileID selects one customer's tasks (clienteling), by an index:
	// a store's associate sees the customer in front of them.
	ProfileID int64
	After     int64
	Limit     int
}

// JourneyDateTimers keeps the timers of the journeys' date_trait
// triggers: per journey, trigger and customer, the instant they enter
// next and the occurrence (date) it is for. Due timers are read by their
// instant (indexed), never by scanning every profile.
type JourneyDateTimers interface {
	// SetDateTimers writes timers, replacing those of the same journey,
	// trigger and profile; a timer with a zero Due is deleted. A stored
	// timer due at or before keep is left as it is (the tick that fires
	// it moves it on); a zero keep replaces every one.
	SetDateTimers(ctx context.Context, ts []DateTimer, keep time.Time) error
	// DueDateTimers returns up to limit timers of live journeys due at or
	// before until, earliest first.
	DueDateTimers(ctx context.Context, until time.Time, limit int) ([]DateTimer, error)
}

// DateTimer is when one customer enters a journey by a date trait.
type DateTimer struct {
	Journey    string
	Trigger    int
	Profile    int64
	Due        time.Time
	Occurrence string // YYYY-MM-DD
}
