package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// page is one page's templates: the layout with the page's own.
type page struct{ t *template.Template }

var funcs = template.FuncMap{
	"json": func(v any) (string, error) { b, err := json.Marshal(v); return string(b), err },
	"query": func(kv ...string) string {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q.Encode()
	},
	"pathesc": url.PathEscape,
	"deref": func(p *float64) float64 {
		if p == nil {
			return 0
		}
		return *p
	},
	"join":  strings.Join,
	"add":   func(a, b int) int { return a + b },
	"since": func(t time.Time, now time.Time) time.Duration { return now.Sub(t) },
	"upper": strings.ToUpper,
	"str":   jsonString,
	"list":  func(s ...string) []string { return s },
	"statuses": func() []string {
		return []string{"placed", "confirmed", "picking", "ready_for_pickup", "collected", "expired", "shipped", "delivered", "cancelled"}
	},
	"orEmpty": func(v any) map[string][]problem {
		m, _ := v.(map[string][]problem)
		return m
	},
	"deref2": func(p *bool) bool { return p != nil && *p },
	"channels": func() []string {
		return []string{"web", "ios", "android", "pos", "email", "sms", "call_center", "commerce"}
	},
	"types": func() []string { return []string{"track", "page", "identify", "screen", "alias", "group"} },
}

func init() {
	// sub is a view with other data: what a page passes to a template it
	// shares with an htmx fragment.
	funcs["sub"] = func(v view, d any) view { v.Data = d; return v }
}

// parsePages parses every page with the layout, once, at start: a broken
// template stops the binary's tests, not a user's page.
func parsePages() map[string]*page {
	names, err := fs.Glob(templatesFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*page{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		t := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templatesFS, "templates/layout.html", n))
		pages[base] = &page{t: t}
	}
	return pages
}

// view is what every page's template gets.
type view struct {
	L      locale
	S      *session
	Nav    []navItem
	Active string
	Path   string
	Now    time.Time
	Demo   bool
	Data   any
}

type navItem struct {
	Href, Key, ID string
}

// nav is the menu, filtered by what the role may read.
func (c *Console) nav(s *session) []navItem {
	if s == nil {
		return nil
	}
	var out []navItem
	add := func(perm, href, key, id string) {
		if s.Can(perm) {
			out = append(out, navItem{href, key, id})
		}
	}
	if s.StoreRole() {
		for _, st := range s.Stores {
			out = append(out, navItem{"/console/store/" + url.PathEscape(st), "nav.store", "store"})
		}
	}
	add("measure:read", "/console/", "nav.dashboard", "dashboard")
	add("profiles:read", "/console/customers", "nav.customers", "customers")
	add("segments:read", "/console/segments", "nav.segments", "segments")
	add("journeys:read", "/console/journeys", "nav.journeys", "journeys")
	add("templates:read", "/console/templates", "nav.templates", "templates")
	if c.opts.Outbox != nil {
		add("messages:read", "/console/outbox", "nav.outbox", "outbox")
	}
	add("orders:read", "/console/orders", "nav.orders", "orders")
	if !s.StoreRole() {
		add("tasks:read", "/console/stores", "nav.stores", "stores")
	}
	add("conversations:read", "/console/conversations", "nav.conversations", "conversations")
	add("sources:read", "/console/settings", "nav.settings", "settings")
	return out
}

// render writes a page: the layout around the named page's content, or
// only its "partial" template for an htmx request that asks for it.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, name string, status int, data any) {
	c.renderTemplate(w, r, s, name, "layout.html", status, data)
}

// partial writes one named template of a page without the layout: what
// htmx swaps in.
func (c *Console) partial(w http.ResponseWriter, r *http.Request, s *session, name, tmpl string, status int, data any) {
	c.renderTemplate(w, r, s, name, tmpl, status, data)
}

func (c *Console) renderTemplate(w http.ResponseWriter, r *http.Request, s *session, name, tmpl string, status int, data any) {
	p, ok := c.pages[name]
	if !ok {
		http.Error(w, "console: no page "+name, http.StatusInternalServerError)
		return
	}
	v := view{L: c.localeOf(r), S: s, Nav: c.nav(s), Active: name, Path: r.URL.RequestURI(),
		Now: c.opts.Clock.Now(), Demo: c.opts.Outbox != nil, Data: data}
	var b bytes.Buffer
	if err := p.t.ExecuteTemplate(&b, tmpl, v); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "console: render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// handler is a page handler for a signed-in person.
type handler func(w http.ResponseWriter, r *http.Request, s *session)

// guard resolves who is signed in (else the sign-in page), checks that
// their role grants perm (else a page saying which permission is
// missing), and checks the form's CSRF token on changes.
func (c *Console) guard(perm string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.session(r)
		if s == nil {
			if r.Header.Get("HX-Request") != "" {
				w.Header().Set("HX-Redirect", "/console/login")
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/console/login?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusSeeOther)
			return
		}
		if perm != "" && !s.Can(perm) {
			c.fail(w, r, s, &APIError{Status: http.StatusForbidden, Code: "forbidden", Message: "missing permission " + perm + " (role " + s.Role + ")"})
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !checkCSRF(r, s) {
			c.fail(w, r, s, &APIError{Status: http.StatusForbidden, Code: "csrf", Message: "the form has expired: reload the page and try again"})
			return
		}
		h(w, r, s)
	}
}

// fail shows an error page (or, for htmx, an error fragment) with the
// API's status and message.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, msg := http.StatusInternalServerError, err.Error()
	var ae *APIError
	if errors.As(err, &ae) {
		status, msg = ae.Status, ae.Message
	}
	if status >= 500 {
		c.log.Error("console: page failed", "path", r.URL.Path, "err", err)
	}
	if r.Header.Get("HX-Request") != "" {
		c.partial(w, r, s, "error", "alert", status, msg)
		return
	}
	c.render(w, r, s, "error", status, map[string]any{"Status": status, "Message": msg})
}
