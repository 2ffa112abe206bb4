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
