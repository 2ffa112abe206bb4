package server_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/parcours/parcours/internal/store"
)

// TestTasksAPIPagingAndInput: the task list pages by next_cursor to the
// end; bad ids, statuses, limits and cursors are 400s with the field;
// reopening a done task clears done_at.
func TestTasksAPIPagingAndInput(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	for i := range 5 {
		at := "lyon"
		if i%2 == 1 {
			at = "paris"
		}
		if _, err := h.st.CreateTask(ctx, &store.Task{Key: fmt.Sprintf("k%d", i), StoreID: at, ProfileID: int64(i + 1),
			Title: fmt.Sprintf("t%d", i), Status: "open", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []float64
	path := "/api/v1/tasks?store_id=lyon&limit=2"
	for range 5 {
		code, resp := h.api(path)
		if code != 200 {
			t.Fatalf("GET %s: %d %v", path, code, resp)
		}
		for _, x := range resp["tasks"].([]any) {
			ids = append(ids, x.(map[string]any)["id"].(float64))
		}
		next, _ := resp["next_cursor"].(string)
		if next == "" {
			break
		}
		path = "/api/v1/tasks?store_id=lyon&limit=2&cursor=" + next
	}
	if fmt.Sprint(ids) != "[1 3 5]" {
		t.Fatalf("lyon's tasks over the pages = %v, want [1 3 5]", ids)
	}
	bad := base64.RawURLEncoding.EncodeToString([]byte("abc"))
	for path, field := range map[string]string{
		"/api/v1/tasks?status=Done":          "status",
		"/api/v1/tasks?limit=0":              "limit",
		"/api/v1/tasks?limit=x":              "limit",
		"/api/v1/tasks?cursor=!!!":           "cursor",
		"/api/v1/tasks?cursor=" + bad:        "cursor",
		"/api/v1/tasks/0":                    "id",
		"/api/v1/tasks/-3":                   "id",
		"/api/v1/tasks/99999999999999999999": "id",
	} {
		code, resp := h.api(path)
		e, _ := resp["error"].(map[string]any)
		if code != 400 || e == nil || fmt.Sprint(e["details"]) == "" {
			t.Errorf("GET %s: %d %v, want 400 on %s", path, code, resp, field)
		}
	}
	if code, resp := h.post("/api/v1/tasks/1/done", ""); code != 200 || resp["done_at"] == nil {
		t.Fatalf("done: %d %v", code, resp)
	}
	if code, resp := h.post("/api/v1/tasks/1/reopen", ""); code != 200 || resp["status"] != "open" || resp["done_at"] != nil {
		t.Fatalf("reopen: %d %v, want open without done_at", code, resp)
	}
}
