package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/server"
)

// TestTasksAPI: a journey's task step creates a task for the store the
// customer is near; staff list the store's open tasks and mark one done.
func TestTasksAPI(t *testing.T) {
	rec := &journey.Recorder{}
	h := newHarness(t, func(o *server.Options) {
		o.JourneySender = rec
		o.Stores = []profile.Store{{ID: "lyon", Name: "Lyon Bellecour", Lat: 45.7578, Lon: 4.8320}}
	})
	def := `{"id":"vip","name":"VIP near","triggers":[{"event":"Location Updated","near":{"km":0.5}}],
		"steps":[{"task":{"store":"nearest","title":"{{ trait.first_name }} is near","note":"Offer a coffee"}}]}`
	if code, resp := h.post("/api/v1/journeys", def); code != 200 {
		t.Fatalf("save: %d %v", code, resp)
	}
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/identify", `{"userId":"sara","traits":{"first_name":"Sara"},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	if code, resp := h.ingest("/v1/track", `{"userId":"sara","event":"Location Updated","properties":{"latitude":45.7582,"longitude":4.8325},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	var tasks []any
	deadline := time.Now().Add(10 * time.Second)
	for len(tasks) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		_, resp := h.api("/api/v1/tasks?store_id=lyon&status=open")
		tasks, _ = resp["tasks"].([]any)
	}
	if len(tasks) != 1 {
		t.Fatalf("open tasks of lyon: %v", tasks)
	}
	task := tasks[0].(map[string]any)
	if task["title"] != "Sara is near" || task["note"] != "Offer a coffee" || task["profile_id"] != float64(h.profileOf("sara")) ||
		task["detail"].(map[string]any)["history"] == nil {
		t.Fatalf("task = %v", task)
	}
	id := int64(task["id"].(float64))
	code, resp := h.post(fmt.Sprintf("/api/v1/tasks/%d/done", id), "")
	if code != 200 || resp["status"] != "done" || resp["done_at"] == nil {
		t.Fatalf("done: %d %v", code, resp)
	}
	if _, resp := h.api("/api/v1/tasks?store_id=lyon&status=open"); len(resp["tasks"].([]any)) != 0 {
		t.Fatalf("open tasks after done: %v", resp)
	}
	if _, resp := h.api("/api/v1/tasks?store_id=lyon&status=done"); len(resp["tasks"].([]any)) != 1 {
		t.Fatalf("done tasks: %v", resp)
	}
	for path, want := range map[string]int{"/api/v1/tasks/999": 404, "/api/v1/tasks?status=closed": 400, "/api/v1/tasks/x": 400} {
		if code, resp := h.api(path); code != want {
			t.Errorf("GET %s: %d %v, want %d", path, code, resp, want)
		}
	}
	if code, _ := h.post("/api/v1/tasks/999/done", ""); code != 404 {
		t.Errorf("done of an unknown task: %d, want 404", code)
	}
}
