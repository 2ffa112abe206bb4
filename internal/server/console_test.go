package server_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// consoleLogin posts the console's sign-in form and returns the status,
// the redirect and the cookies set.
func (h *harness) consoleLogin(form url.Values) (int, string, string) {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.http.URL+"/console/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	var cookies []string
	for _, c := range resp.Cookies() {
		if c.Value != "" {
			cookies = append(cookies, c.Name+"="+c.Value)
		}
	}
	return resp.StatusCode, resp.Header.Get("Location"), strings.Join(cookies, "; ")
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestConsole: the console's front door, sign-in with a password and
// with the admin key, where each role lands, what its menu shows, the
// permission and CSRF checks, the language switch, and every page
// answering for the owner; without a browser (the browser tests are in
// internal/console).
func TestConsole(t *testing.T) {
	h := newHarness(t)
	if code, loc := h.rawRedirect("GET", "/"); code != http.StatusFound || loc != "/console/" {
		t.Errorf("GET /: %d to %q, want 302 to /console/", code, loc)
	}
	if code, loc := h.rawRedirect("GET", "/console/segments"); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/login?next=") {
		t.Errorf("a page without a session: %d to %q, want the sign-in page", code, loc)
	}
	code, body := h.raw("GET", "/console/login", "", nil)
	if code != 200 || !strings.Contains(body, `name="password"`) {
		t.Fatalf("sign-in page: %d", code)
	}

	h.createUser("lea@example.fr", "store_staff", `,"stores":["store-lyon-01"]`)
	if code, _, _ := h.consoleLogin(url.Values{"email": {"lea@example.fr"}, "password": {"wrong password!"}}); code != http.StatusUnauthorized {
		t.Errorf("a wrong password: %d, want 401", code)
	}
	code, loc, staff := h.consoleLogin(url.Values{"email": {"lea@example.fr"}, "password": {"correct horse battery"}})
	if code != http.StatusSeeOther || loc != "/console/store/store-lyon-01" || !strings.Contains(staff, "parcours_session=") {
		t.Fatalf("store staff sign-in: %d to %q with %q, want their store's page and a session", code, loc, staff)
	}
	asStaff := map[string]string{"Cookie": staff, "Accept-Language": "fr-FR,fr;q=0.9"}
	code, page := h.raw("GET", loc, "", asStaff)
	if code != 200 || !strings.Contains(page, "Tâches du jour") || strings.Contains(page, `href="/console/segments"`) {
		t.Errorf("store page: %d; want French, today's tasks, and no segments in a store associate's menu", code)
	}
	if code, page := h.raw("GET", "/console/segments", "", asStaff); code != http.StatusForbidden || !strings.Contains(page, "segments:read") {
		t.Errorf("segments as store staff: %d, want 403 naming segments:read", code)
	}
	if code, _ := h.raw("GET", "/console/store/store-paris-01", "", asStaff); code != http.StatusForbidden {
		t.Errorf("another store's page: %d, want 403 (the API keeps staff to their stores)", code)
	}
	form := "to=ready_for_pickup"
	if code, page := h.raw("POST", "/console/tasks/1/done", form, map[string]string{"Cookie": staff, "Content-Type": "application/x-www-form-urlencoded"}); code != http.StatusForbidden || !strings.Contains(page, "expired") {
		t.Errorf("a change without the form's token: %d, want 403", code)
	}
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token in the store page's forms")
	}
	if code, _ := h.raw("POST", "/console/tasks/999/done", "csrf="+m[1], map[string]string{"Cookie": staff, "Content-Type": "application/x-www-form-urlencoded"}); code != http.StatusNotFound {
		t.Errorf("marking an unknown task done with the token: %d, want the API's 404", code)
	}

	code, loc, owner := h.consoleLogin(url.Values{"key": {h.admin}})
	if code != http.StatusSeeOther || loc != "/console/" || !strings.Contains(owner, "parcours_console_key=") {
		t.Fatalf("admin key sign-in: %d to %q", code, loc)
	}
	if code, _, _ := h.consoleLogin(url.Values{"key": {"pk_not_a_key"}}); code != http.StatusUnauthorized {
		t.Errorf("a wrong key: %d, want 401", code)
	}
	asOwner := map[string]string{"Cookie": owner, "Accept-Language": "en-GB,en;q=0.8"}
	for _, p := range []string{"/console/", "/console/customers", "/console/segments", "/console/segments/new", "/console/journeys",
		"/console/templates", "/console/orders", "/console/stores", "/console/store/store-lyon-01", "/console/conversations",
		"/console/settings", "/console/account"} {
		code, page := h.raw("GET", p, "", asOwner)
		if code != 200 {
			t.Errorf("%s: %d\n%.300s", p, code, page)
			continue
		}
		if !strings.Contains(page, `href="/console/settings"`) || !strings.Contains(page, "Sign out") {
			t.Errorf("%s: an owner's English menu lacks settings or sign out", p)
		}
	}
	if code, _ := h.raw("GET", "/console/outbox", "", asOwner); code != http.StatusNotFound {
		t.Errorf("outbox without the demo: %d, want 404", code)
	}
	if code, page := h.raw("GET", "/console/customers?q=nobody@example.fr", "", asOwner); code != 200 || !strings.Contains(page, "no profile holds") {
		t.Errorf("searching an unknown email: %d, want the API's answer on the page", code)
	}
	if code, _, out := h.do("POST", "/api/v1/segments?wait=true", []byte(`{"id":"web-visitors","name":"Web visitors","where":{"channel":"web"}}`), bearer(h.admin)); code >= 300 {
		t.Fatalf("create a segment: %d %v", code, out)
	}
	if code, page := h.raw("GET", "/console/segments/web-visitors", "", asOwner); code != 200 || !strings.Contains(page, "members.csv") {
		t.Errorf("segment page: %d, want the members and their CSV export", code)
	}
	req, _ := http.NewRequest("GET", h.http.URL+"/console/segments/web-visitors/members.csv", nil)
	req.Header.Set("Cookie", owner)
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("members CSV: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	page = h.pageOf("/console/customers", asOwner)
	if code, body := h.raw("POST", "/console/customers/1/unmerge", "merge_id=42&csrf="+csrfField.FindStringSubmatch(page)[1], map[string]string{"Cookie": owner, "Content-Type": "application/x-www-form-urlencoded"}); code != http.StatusNotFound {
		t.Errorf("undoing a merge of a profile that does not exist: %d, want the API's 404\n%.300s", code, body)
	}
	req, _ = http.NewRequest("GET", h.http.URL+"/console/assets/vendor/htmx-2.0.11.min.js", nil)
	resp, err = h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("vendored htmx: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	code, lang := h.rawRedirectWith("POST", "/console/lang", "lang=fr&next=/console/segments", map[string]string{"Cookie": owner, "Content-Type": "application/x-www-form-urlencoded"})
	if code != http.StatusSeeOther || lang != "/console/segments" {
		t.Errorf("language switch: %d to %q", code, lang)
	}
}

// rawRedirect sends a request and returns the status and Location.
func (h *harness) rawRedirect(method, path string) (int, string) {
	return h.rawRedirectWith(method, path, "", nil)
}

func (h *harness) rawRedirectWith(method, path, body string, header map[string]string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.http.URL+path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// pageOf reads a console page that must answer 200.
func (h *harness) pageOf(path string, header map[string]string) string {
	h.t.Helper()
	code, page := h.raw("GET", path, "", header)
	if code != 200 {
		h.t.Fatalf("%s: %d", path, code)
	}
	return page
}
