package server_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/store"
)

// TestStoreRolesKeepToTheirStores: a store_staff key of lyon-01 lists,
// reads and closes lyon-01's tasks only and sets no stock; a
// store_manager key sets its store's stock only; on both engines.
func TestStoreRolesKeepToTheirStores(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, _ engine) {
		ctx := context.Background()
		ids := map[string]int64{}
		for _, s := range []string{"lyon-01", "paris-02"} {
			task := &store.Task{Key: "k-" + s, StoreID: s, ProfileID: 1, Title: "Call back", Status: store.TaskOpen, CreatedAt: now}
			if _, err := h.st.CreateTask(ctx, task); err != nil {
				t.Fatal(err)
			}
			ids[s] = task.ID
		}
		keys := h.roleKeys() // store roles on lyon-01
		staff := bearer(keys[auth.RoleStoreStaff])

		code, _, out := h.do("GET", "/api/v1/tasks", nil, staff)
		tasks, _ := out["tasks"].([]any)
		if code != 200 || len(tasks) != 1 || tasks[0].(map[string]any)["store_id"] != "lyon-01" {
			t.Errorf("staff lists tasks: %d %v; want lyon-01's only", code, out)
		}
		if code, _, out := h.do("GET", "/api/v1/tasks?store_id=paris-02", nil, staff); code != 403 {
			t.Errorf("staff lists paris-02's tasks: %d %v", code, out)
		}
		if code, _, out := h.do("GET", fmt.Sprintf("/api/v1/tasks/%d", ids["paris-02"]), nil, staff); code != 403 {
			t.Errorf("staff reads a paris-02 task: %d %v", code, out)
		}
		if code, _, out := h.do("POST", fmt.Sprintf("/api/v1/tasks/%d/done", ids["paris-02"]), nil, staff); code != 403 {
			t.Errorf("staff closes a paris-02 task: %d %v", code, out)
		}
		if code, _, out := h.do("POST", fmt.Sprintf("/api/v1/tasks/%d/done", ids["lyon-01"]), nil, staff); code != 200 || out["status"] != "done" {
			t.Errorf("staff closes a lyon-01 task: %d %v", code, out)
		}
		// The owner sees every store.
		if code, _, out := h.do("GET", "/api/v1/tasks?status=open", nil, bearer(h.admin)); code != 200 || len(out["tasks"].([]any)) != 1 {
			t.Errorf("owner lists tasks: %d %v", code, out)
		}
		manager := bearer(keys[auth.RoleStoreManager])
		for _, c := range []struct {
			method, path, body string
		}{
			{"PUT", "/api/v1/stock/SHOE-42/paris-02", `{"on_hand":3}`},
			{"POST", "/api/v1/stock/adjustments", `{"key":"a1","deltas":[{"sku":"SHOE-42","location_id":"paris-02","delta":1}]}`},
		} {
			if code, _, out := h.do(c.method, c.path, []byte(c.body), manager); code != 403 {
				t.Errorf("manager of lyon-01: %s %s: %d %v", c.method, c.path, code, out)
			}
		}
	}, noRateLimit)
}
