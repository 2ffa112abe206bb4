package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestApplyExamplesOnAFreshServer: examples/ runs as shipped. With its
// stores, catalog and stock imported, parcours apply -f examples/ applies
// the templates, segments and journeys in dependency order (a dry run
// first, which saves nothing), every template and topic the journeys name
// resolves, and applying again changes nothing.
func TestApplyExamplesOnAFreshServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	data := t.TempDir()
	examples := filepath.Join("..", "..", "examples")
	// Rejects go to the data directory, never beside the examples:
	// packages' tests run at once and must not write the source tree.
	for _, args := range [][]string{
		{"locations", "import", filepath.Join(examples, "commerce", "stores.csv"), "--rejects", filepath.Join(data, "stores.rejects")},
		{"catalog", "import", filepath.Join(examples, "commerce", "catalog.csv"), "--rejects", filepath.Join(data, "catalog.rejects")},
		{"stock", "import", filepath.Join(examples, "commerce", "stock.csv"), "--no-events", "--rejects", filepath.Join(data, "stock.rejects")},
	} {
		if code, out, errOut := run(t, append([]string{"--data-dir", data}, args...)...); code != 0 || !strings.Contains(out, "rejected: 0") {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
	}
	url, cmd := startServe(t, data)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()

	code, out, errOut := run(t, "--data-dir", data, "apply", "-f", examples, "--dry-run")
	if code != 0 || !strings.Contains(out, "template welcome-1: valid (new)") || !strings.Contains(out, "segment vip-win-back: valid") ||
		!strings.Contains(out, "journey win-back: valid") || !strings.Contains(out, "Dry run: nothing saved.") ||
		!strings.Contains(out, "survey post-purchase-nps: valid") || !strings.Contains(out, "journey post-contact-csat: valid") ||
		!strings.Contains(out, "loyalty programme club: valid") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	if ids := listIDs(t, url, data, "templates"); len(ids) != 0 {
		t.Fatalf("the dry run saved templates: %v", ids)
	}

	code, out, errOut = run(t, "--data-dir", data, "apply", "-f", examples)
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	templates, journeys := listIDs(t, url, data, "templates"), listIDs(t, url, data, "journeys")
	docs, err := readDocuments([]string{examples})
	if err != nil {
		t.Fatal(err)
	}
	var named int
	for _, d := range docs {
		if d.jour == nil {
			continue
		}
		if !journeys[d.jour.ID] {
			t.Errorf("journey %s (%s) was not applied", d.jour.ID, d.where)
		}
		for _, ref := range sendSteps(d.jour.Steps, "steps") {
			named++
			if !templates[ref.send.Template] {
				t.Errorf("%s: %s names template %q, which is not on the server", d.where, ref.path, ref.send.Template)
			}
		}
	}
	if len(journeys) != 13 || named < 20 {
		t.Fatalf("%d journeys, %d send steps", len(journeys), named)
	}
	if segs := listIDs(t, url, data, "segments"); !segs["lyon-shoe-lovers"] || !segs["vip-win-back"] || !segs["lapsed-customers"] {
		t.Fatalf("segments: %v", segs)
	}

	// Again: nothing changes.
	code, out, errOut = run(t, "--data-dir", data, "--json", "apply", "-f", examples)
	var again applied
	if code != 0 || json.Unmarshal([]byte(out), &again) != nil {
		t.Fatalf("apply again: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, r := range again.Templates {
		if r.Change != "unchanged" || r.Version != 1 {
			t.Errorf("template %s applied again: %s, version %d", r.ID, r.Change, r.Version)
		}
	}
	for _, r := range again.Journeys {
		if r.Version != 1 {
			t.Errorf("journey %s applied again: version %d", r.ID, r.Version)
		}
	}
	if len(again.Surveys) != 2 || again.Surveys[0].Changed || again.Surveys[0].Version != 1 {
		t.Errorf("surveys applied again: %+v", again.Surveys)
	}
	if len(again.Loyalty) != 1 || again.Loyalty[0].Changed || again.Loyalty[0].Version != 1 {
		t.Errorf("loyalty programme applied again: %+v", again.Loyalty)
	}
	// The saved funnels and reports of examples/measure.
	if len(again.Reports) != 4 || again.Reports[0].Version != 1 {
		t.Errorf("saved reports applied again: %+v", again.Reports)
	}
}

// TestApplyRefusesMissingReferences: a journey naming a template, topic or
// segment that is neither on the server nor in the files applied is
// refused before anything is saved, with its file and field; a dry run
// resolves references to definitions of the same apply.
func TestApplyRefusesMissingReferences(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	data := t.TempDir()
	url, cmd := startServe(t, data)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()

	const tpl = "kind: template\nid: hello\nname: Hello\ntopic: newsletter\nbody: {email: {subject: Bonjour, html: \"<p>Bonjour {{ profile.first_name }}</p>\"}}\n"
	const seg = "kind: segment\nid: fans\nname: Fans\nwhere: {channel: app}\n"
	journey := func(trigger, send string) string {
		return "kind: journey\nid: greet\nname: Greet\ntriggers: [" + trigger + "]\nsteps:\n  - wait: {for: 1h}\n  - send: " + send + "\n"
	}
	for _, c := range []struct {
		name  string
		files map[string]string
		says  []string
	}{
		{"missing template", map[string]string{"j.yaml": journey("{event: Signed Up}", "{channel: email, template: helo}")},
			[]string{"j.yaml: document 1: journey greet: steps[1].send.template: no template \"helo\""}},
		{"missing topic", map[string]string{"t.yaml": tpl, "j.yaml": journey("{event: Signed Up}", "{channel: email, template: hello, topic: cart}")},
			[]string{"j.yaml: document 1: journey greet: steps[1].send.topic: \"cart\" is not a topic", "newsletter, offers, order_updates"}},
		{"missing segment", map[string]string{"t.yaml": tpl, "j.yaml": journey("{segment_entered: fanz}", "{channel: email, template: hello}")},
			[]string{"j.yaml", "triggers[0].segment_entered", "fanz"}},
		{"template topic", map[string]string{"t.yaml": strings.Replace(tpl, "newsletter", "news", 1)},
			[]string{"t.yaml: document 1: template hello: topic: \"news\" is not a topic"}},
	} {
		dir := t.TempDir()
		for name, body := range c.files {
			os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600)
		}
		code, out, errOut := run(t, "--data-dir", data, "apply", "-f", dir)
		for _, want := range append(c.says, filepath.Join(dir)) {
			if code != 1 || !strings.Contains(errOut, want) {
				t.Errorf("%s: exit %d, want an error saying %q\n%s\n%s", c.name, code, want, out, errOut)
			}
		}
	}
	if ids := listIDs(t, url, data, "templates"); len(ids) != 0 {
		t.Fatalf("a refused apply saved templates: %v", ids)
	}

	// Within one apply, the journey finds the template and the segment
	// of the same files, in a dry run too.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(tpl+"---\n"+seg+"---\n"+journey("{segment_entered: fans}", "{channel: email, template: hello}")), 0o600)
	if code, out, errOut := run(t, "--data-dir", data, "apply", "-f", dir, "--dry-run"); code != 0 || !strings.Contains(out, "journey greet: valid") {
		t.Fatalf("dry run of a self-contained apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := run(t, "--data-dir", data, "apply", "-f", dir); code != 0 || !strings.Contains(out, "greet") {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
}

// listIDs lists the ids of a kind of definition on the server.
func listIDs(t *testing.T, url, data, kind string) map[string]bool {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(data, "admin-key"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", url+"/api/v1/"+kind, nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(key)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string][]struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, x := range body[kind] {
		ids[x.ID] = true
	}
	return ids
}
