package server_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/privacy"
	"github.com/parcours/parcours/internal/server"
)

// TestPrivacyRouteScenarios requests every privacy route: the export of a
// profile (and of none), erasure by id and by identifier (and their
// refusals), the list of erasures, and a retention pass (issue 19.5-19.7).
func TestPrivacyRouteScenarios(t *testing.T) {
	h := newHarness(t, func(o *server.Options) { o.Retention = privacy.DefaultPolicy() })
	ts := h.clock.Now().Format(time.RFC3339)
	for _, u := range []string{"ines", "jules"} {
		if code, resp := h.ingest("/v1/identify", `{"userId":"`+u+`","traits":{"email":"`+u+`@example.fr"},"timestamp":"`+ts+`"}`); code != 200 {
			t.Fatalf("%d %v", code, resp)
		}
	}
	ines := strconv.FormatInt(h.profileOf("ines"), 10)
	h.profileOf("jules")
	h.settle()
	runScenarios(t, h, []apiScenario{
		{Name: "export", Method: "GET", URL: "/api/v1/profiles/" + ines + "/export", Admin: true, ExpectedStatus: 200,
			ExpectedContent: []string{"manifest.json", "events.json"}},
		{Name: "export of nobody", Method: "GET", URL: "/api/v1/profiles/999999/export", Admin: true, ExpectedStatus: 404},
		{Name: "export without the admin key", Method: "GET", URL: "/api/v1/profiles/" + ines + "/export", ExpectedStatus: 401},
		{Name: "erase by id", Method: "DELETE", URL: "/api/v1/profiles/" + ines + "?reason=ticket-7", Admin: true, ExpectedStatus: 200,
			ExpectedContent: []string{`"erasure"`, `"reason":"ticket-7"`, `"events":`}},
		{Name: "erase it again", Method: "DELETE", URL: "/api/v1/profiles/" + ines, Admin: true, ExpectedStatus: 404},
		{Name: "erase a bad id", Method: "DELETE", URL: "/api/v1/profiles/abc", Admin: true, ExpectedStatus: 400},
		{Name: "erase by email", Method: "DELETE", URL: "/api/v1/profiles?email=JULES@example.fr", Admin: true, ExpectedStatus: 200,
			ExpectedContent: []string{`"erasure"`}},
		{Name: "erase by an identifier nobody holds", Method: "DELETE", URL: "/api/v1/profiles?identifier=email:nobody@example.fr", Admin: true,
			ExpectedStatus: 404},
		{Name: "erase without naming whom", Method: "DELETE", URL: "/api/v1/profiles", Admin: true, ExpectedStatus: 400,
			ExpectedContent: []string{"?email="}},
		{Name: "the erasures, naming nobody", Method: "GET", URL: "/api/v1/erasures", Admin: true, ExpectedStatus: 200,
			ExpectedContent: []string{`"erasures"`, `"reason":"ticket-7"`}, NotExpectedContent: []string{"ines", "jules"}},
		{Name: "a retention pass", Method: "POST", URL: "/api/v1/retention/run", Admin: true, ExpectedStatus: 200,
			ExpectedContent: []string{`"removed"`, `"events_days":395`, `"anonymous_profiles_days":90`}},
	})
}

// TestExportHoldsEverything: the archive of a customer is a zip with a
// manifest listing one JSON file per kind, each with its record count
// and checksum, and holds their identifiers, traits, events, segment
// history, journey enrolment, messages, consent, orders and tasks
// (issue 19.5), on both engines.
func TestExportHoldsEverything(t *testing.T) {
	indexDir := t.TempDir()
	onEngines(t, func(t *testing.T, h *harness, e engine) {
		id := writePerson(t, h)
		code, body := h.raw("GET", "/api/v1/profiles/"+strconv.FormatInt(id, 10)+"/export", "", map[string]string{"Authorization": "Bearer " + h.admin})
		if code != 200 {
			t.Fatalf("export: %d %s", code, body)
		}
		z, err := zip.NewReader(bytes.NewReader([]byte(body)), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, f := range z.File {
			r, _ := f.Open()
			files[f.Name], _ = io.ReadAll(r)
			r.Close()
		}
		var m privacy.Manifest
		if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
			t.Fatalf("manifest: %v", err)
		}
		if m.Format != privacy.ArchiveFormat || m.ProfileID != id || len(m.Files) != len(privacy.Kinds)+1 {
			t.Fatalf("manifest: %+v", m)
		}
		count := map[string]int{}
		for _, f := range m.Files {
			if _, ok := files[f.Name]; !ok {
				t.Errorf("the manifest lists %s, not in the archive", f.Name)
			}
			count[f.Kind] = f.Count
		}
		for _, kind := range []string{"identifiers", "events", "timeline", "segment_memberships", "segment_history", "journey_enrolments",
			"messages", "consent_ledger", "orders", "reservations", "tasks", "carts"} {
			if count[kind] == 0 {
				t.Errorf("the archive has no %s: %v", kind, count)
			}
		}
		for name, want := range map[string][]string{
			"profile.json":     {erasedEmail, erasedFirst, erasedLast},
			"identifiers.json": {erasedEmail, erasedPhone, erasedUser, erasedAnon},
			"events.json":      {"Product Added", "Order Completed"},
			"messages.json":    {"Bonjour " + erasedFirst},
			"orders.json":      {"web-9001"},
			"tasks.json":       {erasedFirst + " " + erasedLast + " is near"},
		} {
			for _, w := range want {
				if !bytes.Contains(files[name], []byte(w)) {
					t.Errorf("%s does not hold %q: %.600s", name, w, files[name])
				}
			}
		}
		if bytes.Contains(files["orders.json"], []byte("web-9002")) {
			t.Error("the archive holds another customer's order")
		}
	}, withIndexIn(indexDir))
}
