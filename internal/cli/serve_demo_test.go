package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeDemo runs `parcours serve --demo` as a real process: it loads
// the demo once (users per role, the click & collect orders being picked,
// the visitor whose browsing is joined, the VIP task at the Lyon store,
// the examples), serves the console, and a restart on the same data
// directory serves it again without loading it twice.
func TestServeDemo(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, engine{name: "SQLite"}, "--demo", "--demo-customers", "40", "--demo-days", "20")
	deadline := time.Now().Add(4 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "demo-load.log"))
			t.Fatalf("the demo was not loaded in 4 minutes; serve said:\n%s\nthe load said:\n%.3000s", n.log(), log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	key := adminKey(t, dir)
	get := func(path string, out any) {
		t.Helper()
		req, _ := http.NewRequest("GET", n.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	check := func() {
		t.Helper()
		var users struct {
			Users []struct{ Email, Role string } `json:"users"`
		}
		get("/api/v1/users", &users)
		if len(users.Users) != len(demoAccounts) {
			t.Errorf("%d users, want the %d demo accounts: %+v", len(users.Users), len(demoAccounts), users.Users)
		}
		var orders struct {
			Orders []struct{ ID, Status string } `json:"orders"`
		}
		get("/api/v1/orders?status=picking", &orders)
		demo := 0
		for _, o := range orders.Orders {
			if strings.HasPrefix(o.ID, "CC-DEMO-") {
				demo++
			}
		}
		if demo != 3 {
			t.Errorf("%d demo click & collect orders being picked, want 3: %+v", demo, orders.Orders)
		}
		var segs struct {
			Segments []struct{ ID string } `json:"segments"`
		}
		get("/api/v1/segments", &segs)
		if len(segs.Segments) < 5 {
			t.Errorf("%d segments: the examples were not applied", len(segs.Segments))
		}
		// The loyalty journeys are live: the programme they are about must be too.
		var prog struct{ ID string }
		get("/api/v1/loyalty/programme", &prog)
		if prog.ID != "club" {
			t.Errorf("loyalty programme %q, want the example's club", prog.ID)
		}
	}
	check()
	// The joined browsing and the VIP's task come through the pipeline.
	for wait := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var p struct {
			ID int64 `json:"id"`
		}
		var tasks struct {
			Tasks []struct{ Title string } `json:"tasks"`
		}
		req, _ := http.NewRequest("GET", n.url+"/api/v1/profiles?email=chloe.demo@example.fr", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		get("/api/v1/tasks?store_id=store-lyon-01&status=open", &tasks)
		if p.ID > 0 && len(tasks.Tasks) > 0 && strings.Contains(tasks.Tasks[0].Title, "(gold)") {
			break
		}
		if time.Now().After(wait) {
			t.Fatalf("after a minute: Chloé's profile %d, Lyon's tasks %+v", p.ID, tasks.Tasks)
		}
	}
	resp, err := http.Get(n.url + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the console's sign-in page: %s", resp.Status)
	}

	n.stop()
	n = startNode(t, dir, engine{name: "SQLite"}, "--demo", "--demo-customers", "40", "--demo-days", "20")
	time.Sleep(2 * time.Second) // a second load would have started by now
	if _, err := os.Stat(filepath.Join(dir, "demo-load.log")); err != nil {
		t.Fatal(err)
	}
	check()
	n.stop()
}
