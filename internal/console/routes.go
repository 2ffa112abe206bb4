package console

import (
	"net/http"
	"strings"
)

// routes is the console's own table, under the one route /console/ of the
// server's table (internal/httpapi.Routes): each page with the
// permission its links need (the API checks again on every call).
func (c *Console) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("GET /console/assets/", c.assets())
	m.HandleFunc("GET /console/login", c.loginPage)
	m.HandleFunc("POST /console/login", c.login)
	m.HandleFunc("POST /console/lang", c.setLang)
	m.HandleFunc("POST /console/logout", c.guard("", c.logout))
	m.HandleFunc("GET /console/account", c.guard("", c.account))

	m.HandleFunc("GET /console/{$}", c.guard("", c.dashboard))

	m.HandleFunc("GET /console/customers", c.guard("profiles:read", c.customers))
	m.HandleFunc("GET /console/customers/{id}", c.guard("profiles:read", c.customer))
	m.HandleFunc("GET /console/customers/{id}/timeline", c.guard("profiles:read", c.timeline))
	m.HandleFunc("POST /console/customers/{id}/unmerge", c.guard("profiles:write", c.unmerge))

	m.HandleFunc("GET /console/stores", c.guard("tasks:read", c.stores))
	m.HandleFunc("GET /console/store/{store}", c.guard("tasks:read", c.storePage))
	m.HandleFunc("GET /console/store/{store}/lookup", c.guard("clienteling:read", c.storeLookup))
	m.HandleFunc("POST /console/tasks/{id}/done", c.guard("tasks:write", c.taskDone))

	m.HandleFunc("GET /console/segments", c.guard("segments:read", c.segments))
	m.HandleFunc("GET /console/segments/new", c.guard("segments:write", c.segmentEditor))
	m.HandleFunc("GET /console/segments/{id}", c.guard("segments:read", c.segment))
	m.HandleFunc("GET /console/segments/{id}/members.csv", c.guard("segments:members", c.segmentCSV))
	m.HandleFunc("POST /console/segments/preview", c.guard("segments:write", c.segmentPreview))
	m.HandleFunc("POST /console/segments", c.guard("segments:write", c.segmentApply))

	m.HandleFunc("GET /console/journeys", c.guard("journeys:read", c.journeys))
	m.HandleFunc("GET /console/journeys/{id}", c.guard("journeys:read", c.journey))
	m.HandleFunc("GET /console/journeys/{id}/counts", c.guard("journeys:read", c.journeyCounts))
	m.HandleFunc("POST /console/journeys/{id}/{action}", c.guard("journeys:write", c.journeyAction))

	m.HandleFunc("GET /console/templates", c.guard("templates:read", c.templates))
	m.HandleFunc("GET /console/templates/{id}", c.guard("templates:read", c.template))
	m.HandleFunc("POST /console/templates/{id}", c.guard("templates:write", c.templateSave))
	m.HandleFunc("POST /console/templates/{id}/preview", c.guard("templates:read", c.templatePreview))

	if c.opts.Outbox != nil { // the demo's captured messages
		m.HandleFunc("GET /console/outbox", c.guard("messages:read", c.outbox))
		m.HandleFunc("GET /console/outbox/{n}", c.guard("messages:read", c.outboxMessage))
	}

	m.HandleFunc("GET /console/orders", c.guard("orders:read", c.orders))
	m.HandleFunc("POST /console/orders/{id}/transition", c.guard("orders:write", c.orderTransition))

	m.HandleFunc("GET /console/conversations", c.guard("conversations:read", c.conversations))

	m.HandleFunc("GET /console/settings", c.guard("sources:read", c.settings))
	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, c.session(r), &APIError{Status: http.StatusNotFound, Code: "not_found", Message: "no console page at " + r.URL.Path})
	})
	return m
}

// setLang serves POST /console/lang: the language switch, kept in a
// cookie for a year.
func (c *Console) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.FormValue("lang")
	if lang != "fr" && lang != "en" {
		lang = "fr"
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		SameSite: http.SameSiteLaxMode, Secure: c.opts.SecureCookies || r.TLS != nil})
	next := r.FormValue("next")
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") {
		next = "/console/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// account serves GET /console/account: who is signed in and what the
// role grants (where a role with no page of its own lands).
func (c *Console) account(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, r, s, "account", http.StatusOK, nil)
}
