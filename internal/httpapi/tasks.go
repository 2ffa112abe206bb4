package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// listTasks serves GET /api/v1/tasks?store_id=&status=open|done&limit=&cursor=,
// oldest first.
func (a *API) listTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := limitParam(q)
	cursor, err2 := cursorID(q)
	if err = errors.Join(err, err2); err != nil {
		a.fail(w, r, err)
		return
	}
	var after int64
	if cursor != "" {
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil {
			a.fail(w, r, problem.Invalid("cursor", "is not a cursor this API handed out"))
			return
		}
	}
	status := q.Get("status")
	if status != "" && status != store.TaskOpen && status != store.TaskDone {
		a.fail(w, r, problem.Invalid("status", "is open or done"))
		return
	}
	storeID, err := scopedStore(r, q.Get("store_id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.store.ListTasks(r.Context(), store.TaskQuery{StoreID: storeID, Status: status, After: after, Limit: limit})
	page := struct {
		Tasks      []*store.Task `json:"tasks"`
		NextCursor string        `json:"next_cursor,omitempty"`
	}{Tasks: append([]*store.Task{}, list...)}
	if len(list) > 0 {
		page.NextCursor = nextIDCursor(len(list), limit, strconv.FormatInt(list[len(list)-1].ID, 10))
	}
	a.reply(w, r, http.StatusOK, page, err)
}

func taskID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, problem.Invalid("id", "is a task id, a positive integer")
	}
	return id, nil
}

func (a *API) getTask(w http.ResponseWriter, r *http.Request) {
	id, err := taskID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	t, err := a.store.Task(r.Context(), id)
	if err == nil {
		err = checkStore(r, t.StoreID)
	}
	a.reply(w, r, http.StatusOK, t, err)
}

// taskStatus serves POST /api/v1/tasks/{id}/done (and /reopen).
func (a *API) taskStatus(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := taskID(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		t, err := a.store.Task(r.Context(), id)
		if err == nil {
			err = checkStore(r, t.StoreID)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		t, err = a.store.SetTaskStatus(r.Context(), id, status, a.clock.Now())
		a.reply(w, r, http.StatusOK, t, err)
	}
}
