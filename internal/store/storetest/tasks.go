package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/store"
)

func testDateTimers(t *testing.T, s journeyStore) {
	ctx := context.Background()
	for _, id := range []string{"birthday", "renewal"} {
		if err := s.SaveJourney(ctx, &store.JourneyRecord{ID: id, Definition: []byte(`{}`), Status: "live", UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	d := func(h int) time.Time { return t0.Truncate(time.Second).Add(time.Duration(h) * time.Hour) }
	if err := s.SetDateTimers(ctx, []store.DateTimer{
		{Journey: "birthday", Trigger: 0, Profile: 1, Due: d(3), Occurrence: "2026-03-17"},
		{Journey: "birthday", Trigger: 0, Profile: 2, Due: d(1), Occurrence: "2026-03-15"},
		{Journey: "renewal", Trigger: 1, Profile: 1, Due: d(2), Occurrence: "2026-05-01"},
		{Journey: "birthday", Trigger: 0, Profile: 3, Due: d(50), Occurrence: "2026-03-17"},
	}, time.Time{}); err != nil {
		t.Fatalf("SetDateTimers: %v", err)
	}
	due, err := s.DueDateTimers(ctx, d(3), 10)
	if err != nil || len(due) != 3 || due[0].Profile != 2 || due[1].Journey != "renewal" || due[2].Profile != 1 ||
		!due[0].Due.Equal(d(1)) || due[0].Occurrence != "2026-03-15" || due[1].Trigger != 1 {
		t.Fatalf("DueDateTimers = %+v, %v; want profiles 2, 1 (renewal), 1 by instant", due, err)
	}
	if due, err := s.DueDateTimers(ctx, d(3), 1); err != nil || len(due) != 1 || due[0].Profile != 2 {
		t.Fatalf("DueDateTimers with limit 1 = %+v, %v", due, err)
	}
	// Moving a timer on replaces it; a zero instant deletes it.
	if err := s.SetDateTimers(ctx, []store.DateTimer{
		{Journey: "birthday", Trigger: 0, Profile: 2, Due: d(24 * 365), Occurrence: "2027-03-15"},
		{Journey: "renewal", Trigger: 1, Profile: 1},
	}, time.Time{}); err != nil {
		t.Fatalf("SetDateTimers (move, delete): %v", err)
	}
	// A timer due at or before keep is left alone (the tick fires it):
	// neither moved nor deleted.
	if err := s.SetDateTimers(ctx, []store.DateTimer{
		{Journey: "birthday", Trigger: 0, Profile: 1, Due: d(24 * 365), Occurrence: "2027-03-17"},
		{Journey: "birthday", Trigger: 0, Profile: 3},
	}, d(3)); err != nil {
		t.Fatalf("SetDateTimers keeping the due ones: %v", err)
	}
	if due, err := s.DueDateTimers(ctx, d(3), 10); err != nil || len(due) != 1 || due[0].Profile != 1 || due[0].Occurrence != "2026-03-17" {
		t.Fatalf("a due timer was moved: %+v, %v", due, err)
	}
	if due, err := s.DueDateTimers(ctx, d(60), 10); err != nil || len(due) != 1 {
		t.Fatalf("a timer not due (profile 3's) should be deleted: %+v, %v", due, err)
	}
	if due, err := s.DueDateTimers(ctx, d(3), 10); err != nil || len(due) != 1 || due[0].Profile != 1 || due[0].Journey != "birthday" {
		t.Fatalf("after moving on = %+v, %v; want only profile 1's birthday", due, err)
	}
	// A paused journey's timers wait.
	if err := s.SetJourneyStatus(ctx, "birthday", "paused", d(4)); err != nil {
		t.Fatal(err)
	}
	if due, err := s.DueDateTimers(ctx, d(100), 10); err != nil || len(due) != 0 {
		t.Fatalf("paused journey's timers = %+v, %v; want none", due, err)
	}
}

func testTasks(t *testing.T, s journeyStore) {
	ctx := context.Background()
	at := t0.Truncate(time.Microsecond)
	mk := func(key, storeID string, profile int64) *store.Task {
		return &store.Task{Key: key, StoreID: storeID, ProfileID: profile, JourneyID: "vip", Title: "Sara is near",
			Note: "her cart", Status: store.TaskOpen, Detail: []byte(`{"cart":[{"sku":"SHOE-42"}]}`), CreatedAt: at}
	}
	a := mk("k1", "lyon", 7)
	created, err := s.CreateTask(ctx, a)
	if err != nil || !created || a.ID == 0 {
		t.Fatalf("CreateTask = %v, %v, id %d", created, err, a.ID)
	}
	again := mk("k1", "paris", 8)
	created, err = s.CreateTask(ctx, again)
	if err != nil || created || again.ID != a.ID || again.StoreID != "lyon" || again.ProfileID != 7 {
		t.Fatalf("CreateTask with the same key = %v, %v, %+v; want the first task, not created", created, err, again)
	}
	b := mk("k2", "lyon", 9)
	c := mk("k3", "paris", 7)
	for _, x := range []*store.Task{b, c} {
		if _, err := s.CreateTask(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Task(ctx, a.ID)
	if err != nil || got.Title != "Sara is near" || got.Note != "her cart" || string(got.Detail) != `{"cart":[{"sku":"SHOE-42"}]}` ||
		!got.CreatedAt.Equal(at) || got.Status != store.TaskOpen || !got.DoneAt.IsZero() || got.JourneyID != "vip" {
		t.Fatalf("Task = %+v, %v", got, err)
	}
	if _, err := s.Task(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown task: %v, want ErrNotFound", err)
	}
	list, err := s.ListTasks(ctx, store.TaskQuery{StoreID: "lyon", Status: store.TaskOpen})
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("lyon's open tasks = %+v, %v", list, err)
	}
	done, err := s.SetTaskStatus(ctx, a.ID, store.TaskDone, at.Add(time.Hour))
	if err != nil || done.Status != store.TaskDone || !done.DoneAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("SetTaskStatus done = %+v, %v", done, err)
	}
	if _, err := s.SetTaskStatus(ctx, 999, store.TaskDone, at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("done of an unknown task: %v, want ErrNotFound", err)
	}
	if list, err := s.ListTasks(ctx, store.TaskQuery{StoreID: "lyon", Status: store.TaskOpen}); err != nil || len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("lyon's open tasks after one is done = %+v, %v", list, err)
	}
	if list, err := s.ListTasks(ctx, store.TaskQuery{After: a.ID, Limit: 1}); err != nil || len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("a page after the first = %+v, %v", list, err)
	}
	if list, err := s.ListTasks(ctx, store.TaskQuery{ProfileID: 7}); err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != c.ID {
		t.Fatalf("profile 7's tasks = %+v, %v; want tasks %d and %d", list, err, a.ID, c.ID)
	}
	if list, err := s.ListTasks(ctx, store.TaskQuery{ProfileID: 7, Status: store.TaskOpen}); err != nil || len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("profile 7's open tasks = %+v, %v; want task %d", list, err, c.ID)
	}
	if list, err := s.ListTasks(ctx, store.TaskQuery{ProfileID: 7, StoreID: "lyon"}); err != nil || len(list) != 1 || list[0].ID != a.ID {
		t.Fatalf("profile 7's tasks at lyon = %+v, %v; want task %d", list, err, a.ID)
	}
	if list, err := s.ListTasks(ctx, store.TaskQuery{ProfileID: 404}); err != nil || list == nil || len(list) != 0 {
		t.Fatalf("tasks of a profile with none = %#v, %v; want an empty list", list, err)
	}
	if list, err := s.ListTasks(ctx, store.TaskQuery{StoreID: "nowhere"}); err != nil || list == nil || len(list) != 0 {
		t.Fatalf("no tasks = %#v, %v; want an empty list", list, err)
	}
	reopened, err := s.SetTaskStatus(ctx, a.ID, store.TaskOpen, at.Add(2*time.Hour))
	if err != nil || reopened.Status != store.TaskOpen || !reopened.DoneAt.IsZero() {
		t.Fatalf("reopened = %+v, %v", reopened, err)
	}
}
