package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTasksCommands(t *testing.T) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Method+" "+r.URL.RequestURI())
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.Path {
		case "GET /api/v1/tasks":
			w.Write([]byte(`{"tasks":[{"id":12,"key":"k","store_id":"lyon","profile_id":7,"title":"Sara is near","status":"open",
				"created_at":"2026-01-05T09:00:00Z","detail":{"cart":[]}}]}`))
		case "POST /api/v1/tasks/12/done":
			w.Write([]byte(`{"id":12,"store_id":"lyon","profile_id":7,"title":"Sara is near","status":"done","created_at":"2026-01-05T09:00:00Z"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	code, out, errOut := run(t, "tasks", "list", "--store", "lyon", "--server", srv.URL, "--admin-key", "k")
	if code != 0 || !strings.Contains(out, "Sara is near") || !strings.Contains(out, "lyon") || asked[0] != "GET /api/v1/tasks?limit=100&status=open&store_id=lyon" {
		t.Fatalf("list: exit %d\n%s\n%s\n%v", code, out, errOut, asked)
	}
	code, out, _ = run(t, "--json", "tasks", "list", "--status", "all", "--server", srv.URL, "--admin-key", "k")
	if code != 0 || !strings.Contains(out, `"detail"`) || asked[1] != "GET /api/v1/tasks?limit=100" {
		t.Fatalf("list --json: exit %d\n%s\n%v", code, out, asked)
	}
	code, out, errOut = run(t, "tasks", "done", "12", "--server", srv.URL, "--admin-key", "k")
	if code != 0 || strings.TrimSpace(out) != "task 12 is done" {
		t.Fatalf("done: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, cmd := range [][]string{{"tasks"}, {"tasks", "list"}, {"tasks", "done"}} {
		if code, out, _ := run(t, append(cmd, "--help")...); code != 0 || !strings.Contains(out, "Usage: parcours") {
			t.Errorf("parcours %s --help: exit %d\n%s", strings.Join(cmd, " "), code, out)
		}
	}
}

// TestTasksListPages: a list longer than --limit says how to get the
// rest, and --cursor asks for it; an unknown task's error says how to
// find the right id.
func TestTasksListPages(t *testing.T) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Method+" "+r.URL.RequestURI())
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/v1/tasks" && r.URL.Query().Get("cursor") == "":
			w.Write([]byte(`{"tasks":[{"id":1,"store_id":"lyon","profile_id":7,"title":"Sara","status":"open","created_at":"2026-01-05T09:00:00Z"}],"next_cursor":"MQ"}`))
		case r.URL.Path == "/api/v1/tasks":
			w.Write([]byte(`{"tasks":[{"id":2,"store_id":"lyon","profile_id":8,"title":"Theo","status":"open","created_at":"2026-01-05T09:00:00Z"}]}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"code":"not_found","message":"task 99: not found"}}`))
		}
	}))
	defer srv.Close()
	code, out, errOut := run(t, "tasks", "list", "--store", "lyon", "--limit", "1", "--server", srv.URL, "--admin-key", "k")
	if code != 0 || !strings.Contains(out, "Sara") || !strings.Contains(out, "parcours tasks list --store lyon --limit 1 --cursor MQ") {
		t.Fatalf("first page: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, "tasks", "list", "--store", "lyon", "--limit", "1", "--cursor", "MQ", "--server", srv.URL, "--admin-key", "k")
	if code != 0 || !strings.Contains(out, "Theo") || strings.Contains(out, "More tasks") || asked[1] != "GET /api/v1/tasks?cursor=MQ&limit=1&status=open&store_id=lyon" {
		t.Fatalf("second page: exit %d\n%s\n%s\n%v", code, out, errOut, asked)
	}
	code, out, errOut = run(t, "tasks", "done", "99", "--server", srv.URL, "--admin-key", "k")
	if code == 0 || !strings.Contains(errOut, "parcours tasks list") {
		t.Fatalf("done of an unknown task: exit %d\n%s\n%s", code, out, errOut)
	}
}
