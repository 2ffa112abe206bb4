package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/source"
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

// TestStoreRolesOrdersAndReservations: store roles read, place and move
// the orders and reservations of their stores only; on both engines.
func TestStoreRolesOrdersAndReservations(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, _ engine) {
		h.commerceBasics() // store lyon, SHOE-42
		for _, c := range []struct{ method, path, body string }{
			{"PUT", "/api/v1/locations/paris", `{"name":"Paris","lat":48.86,"lon":2.34,"time_zone":"Europe/Paris","capabilities":["click_collect"]}`},
			{"PUT", "/api/v1/stock/SHOE-42/paris", `{"on_hand":5}`},
		} {
			if code, out := h.adminJSON(c.method, c.path, c.body); code != 200 {
				t.Fatalf("%s %s: %d %v", c.method, c.path, code, out)
			}
		}
		order := func(loc string) string {
			return `{"channel":"store","currency":"EUR","location_id":"` + loc + `","fulfilment":"click_collect","customer":{"user_id":"u-` + loc + `"},"lines":[{"sku":"SHOE-42","quantity":1,"price":10}]}`
		}
		ids := map[string]string{}
		for _, loc := range []string{"lyon", "paris"} {
			code, out := h.adminJSON("POST", "/api/v1/orders", order(loc))
			if code != 201 {
				t.Fatalf("order at %s: %d %v", loc, code, out)
			}
			ids[loc], _ = out["id"].(string)
			code, out = h.adminJSON("POST", "/api/v1/reservations", `{"sku":"SHOE-42","location_id":"`+loc+`","quantity":1}`)
			if code != 201 {
				t.Fatalf("reservation at %s: %d %v", loc, code, out)
			}
			ids["r-"+loc] = fmt.Sprint(out["id"])
		}
		key := func(role auth.Role) map[string]string {
			k, secret, _ := auth.NewAPIKey(string(role), role, []string{"lyon"}, time.Time{}, "test", now)
			if err := h.st.CreateAPIKey(context.Background(), k); err != nil {
				t.Fatal(err)
			}
			return bearer(secret)
		}
		manager, staff := key(auth.RoleStoreManager), key(auth.RoleStoreStaff)

		code, _, out := h.do("GET", "/api/v1/orders", nil, manager)
		orders, _ := out["orders"].([]any)
		if code != 200 || len(orders) != 1 || orders[0].(map[string]any)["location_id"] != "lyon" {
			t.Errorf("manager lists orders: %d %v; want lyon's only", code, out)
		}
		for _, c := range []struct {
			who          map[string]string
			method, path string
			body         string
			want         int
		}{
			{manager, "GET", "/api/v1/orders/" + ids["lyon"], "", 200},
			{manager, "GET", "/api/v1/orders/" + ids["paris"], "", 403},
			{manager, "GET", "/api/v1/orders/" + ids["paris"] + "/returns", "", 403},
			{manager, "POST", "/api/v1/orders/" + ids["paris"] + "/transitions", `{"to":"ready_for_pickup"}`, 403},
			{manager, "POST", "/api/v1/orders/" + ids["paris"] + "/returns", `{"lines":[{"sku":"SHOE-42","quantity":1}]}`, 403},
			{manager, "POST", "/api/v1/orders", order("paris"), 403},
			{staff, "GET", "/api/v1/reservations/" + ids["r-lyon"], "", 200},
			{staff, "GET", "/api/v1/reservations/" + ids["r-paris"], "", 403},
			{staff, "POST", "/api/v1/reservations/" + ids["r-paris"] + "/release", "", 403},
			{staff, "POST", "/api/v1/reservations", `{"sku":"SHOE-42","location_id":"paris","quantity":1}`, 403},
			{staff, "GET", "/api/v1/reservations?location_id=paris", "", 403},
		} {
			if code, _, out := h.do(c.method, c.path, []byte(c.body), c.who); code != c.want {
				t.Errorf("%s %s: %d %v, want %d", c.method, c.path, code, out, c.want)
			}
		}
		// The orders reserve stock too: lyon holds two reservations.
		code, _, out = h.do("GET", "/api/v1/reservations", nil, staff)
		res, _ := out["reservations"].([]any)
		if code != 200 || len(res) != 2 {
			t.Errorf("staff lists reservations: %d %v; want lyon's two", code, out)
		}
		for _, r := range res {
			if r.(map[string]any)["location_id"] != "lyon" {
				t.Errorf("staff sees a reservation at %v", r.(map[string]any)["location_id"])
			}
		}
	}, noRateLimit)
}

// TestStoreRolesSeeTheirStoresCustomers: a store role reads the profiles
// of customers its stores have seen (an event of their tills, an order
// naming them) and no others, by id, by identifier or in the list; an
// unscoped role sees everyone.
func TestStoreRolesSeeTheirStoresCustomers(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, _ engine) {
		ctx := context.Background()
		pos, _ := source.New("Lyon tills", "pos", "lyon-01", now)
		if err := h.st.CreateSource(ctx, pos); err != nil {
			t.Fatal(err)
		}
		if code, _, resp := h.do("POST", "/v1/track", []byte(`{"userId":"ana","event":"Order Completed","properties":{"order_id":"T-1","total":20}}`),
			map[string]string{"Authorization": basic(pos.WriteKey + ":")}); code != 200 {
			t.Fatalf("till: %d %v", code, resp)
		}
		if code, resp := h.ingest("/v1/batch", `{"batch":[
			{"type":"track","userId":"bob","event":"Product Viewed"},
			{"type":"track","userId":"cleo","event":"Order Completed","properties":{"order_id":"W-2","total":30,"store_id":"lyon-01"}}]}`); code != 200 {
			t.Fatalf("web: %d %v", code, resp)
		}
		h.waitUnify()
		staff := bearer(h.roleKeys()[auth.RoleStoreStaff]) // lyon-01
		for user, want := range map[string]int{"ana": 200, "cleo": 200, "bob": 403} {
			code, _, out := h.do("GET", "/api/v1/profiles?user_id="+user, nil, staff)
			if code != want {
				t.Errorf("staff finds %s: %d %v; want %d", user, code, out, want)
			}
			if code == 200 {
				id := int64(out["id"].(float64))
				if c, _, _ := h.do("GET", fmt.Sprintf("/api/v1/profiles/%d/timeline", id), nil, staff); c != 200 {
					t.Errorf("staff reads %s's timeline: %d", user, c)
				}
			}
		}
		code, _, out := h.do("GET", "/api/v1/profiles", nil, staff)
		if list, _ := out["profiles"].([]any); code != 200 || len(list) != 2 {
			t.Errorf("staff lists profiles: %d, %d of them; want ana's and cleo's", code, len(list))
		}
		code, _, out = h.do("GET", "/api/v1/profiles", nil, map[string]string{"Authorization": "Bearer " + h.admin})
		if list, _ := out["profiles"].([]any); code != 200 || len(list) != 3 {
			t.Errorf("the owner lists profiles: %d, %d of them; want 3", code, len(list))
		}
	})
}
