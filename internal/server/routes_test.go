package server_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/httpapi"
)

var updateDocs = flag.Bool("update", false, "rewrite the route table of docs/api.md from httpapi.Routes")

const (
	docsFile   = "../../docs/api.md"
	docsBegin  = "<!-- routes: generated from httpapi.Routes by `go test ./internal/server -run TestRouteTableDocumented -update` -->\n"
	docsFinish = "<!-- /routes -->\n"
)

// routeDocs renders the table as docs/api.md shows it.
func routeDocs(routes []httpapi.Route) string {
	var b strings.Builder
	b.WriteString("| method | path | authority | what it does |\n|---|---|---|---|\n")
	for _, r := range routes {
		m := r.Method
		if m == "" {
			m = "any"
		}
		b.WriteString("| " + m + " | `" + r.Pattern + "` | " + string(r.Auth) + " | " + r.About + " |\n")
	}
	return b.String()
}

// TestRouteTableDocumented fails when docs/api.md does not list the route
// table as it is: a route added, removed or changed must be documented.
func TestRouteTableDocumented(t *testing.T) {
	h := newHarness(t)
	raw, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, docsBegin), strings.Index(doc, docsFinish)
	if i < 0 || j < i {
		t.Fatalf("docs/api.md has no generated route table (%q ... %q)", docsBegin, docsFinish)
	}
	want := routeDocs(h.srv.Routes())
	if got := doc[i+len(docsBegin) : j]; got != want {
		if *updateDocs {
			if err := os.WriteFile(docsFile, []byte(doc[:i+len(docsBegin)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("docs/api.md's route table differs from httpapi.Routes; run go test ./internal/server -run TestRouteTableDocumented -update")
	}
}

// TestRouteTable checks the table itself: one row per method and pattern,
// each with its authority and a description.
func TestRouteTable(t *testing.T) {
	h := newHarness(t)
	seen := map[string]bool{}
	for _, r := range h.srv.Routes() {
		if seen[r.Key()] {
			t.Errorf("%s twice", r.Key())
		}
		seen[r.Key()] = true
		if r.Auth == "" || r.About == "" || r.Handler == nil {
			t.Errorf("%s: authority %q, about %q, handler set %v", r.Key(), r.Auth, r.About, r.Handler != nil)
		}
		if strings.HasPrefix(r.Pattern, "/api/v1/") && r.Auth != httpapi.AuthAdmin && r.Auth != httpapi.AuthPassword && r.Auth != httpapi.AuthVisitor {
			t.Errorf("%s: a management route without the admin key", r.Key())
		}
	}
}
