// Package console is the web app of Parcours for the people who run the
// brand: marketers, store staff, agents and managers. Its pages are
// rendered on the server with html/template from files embedded in the
// binary, enhanced by htmx for partial updates and uPlot for the charts
// (both vendored under assets/vendor, pinned, with their licences); there
// is no Node step anywhere (docs/console.md).
//
// The console is a client of the management API, in process: every page
// reads and changes what it shows through the same handler the API's
// clients call, with the credentials of the person signed in (their
// session cookie, or the admin key they signed in with). So a page shows
// exactly what the person's role and stores let the API answer, and every
// change lands in the audit log as theirs; the console holds no rule of
// its own about who may see what beyond hiding the links the role could
// not follow.
package console

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/parcours/parcours/internal/clock"
)

//go:embed assets
var assetsFS embed.FS

//go:embed templates/*.html
var templatesFS embed.FS

// Options configure the console. API is required.
type Options struct {
	// API is the management API's handler (in practice the server's whole
	// handler): the console calls it in process for everything it shows.
	API http.Handler
	// Outbox, when set, is the demo's capturing providers: the console
	// shows what they captured (/console/outbox).
	Outbox *Outbox
	// Zone is the brand's time zone: dates are shown in it and say so.
	// Nil: UTC.
	Zone *time.Location
	// SecureCookies marks the console's cookies Secure on plain HTTP (behind
	// a TLS proxy).
	SecureCookies bool
	// Accounts are shown on the sign-in page (the demo's users); empty in
	// production.
	Accounts []Account
	Clock    clock.Clock
	Logger   *slog.Logger
}

// Account is a demo account the sign-in page offers to fill in.
type Account struct {
	Email, Password, Role string
}

// Console serves the pages under /console/.
type Console struct {
	opts  Options
	log   *slog.Logger
	pages map[string]*page
	mux   *http.ServeMux
}

// New returns the console.
func New(o Options) *Console {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Zone == nil {
		o.Zone = time.UTC
	}
	c := &Console{opts: o, log: o.Logger}
	c.pages = parsePages()
	c.mux = c.routes()
	return c
}

// ServeHTTP serves one console request.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The console's pages load their own scripts and styles and nothing
	// else; htmx talks to the console only. No inline script anywhere.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	c.mux.ServeHTTP(w, r)
}

// Root answers GET /: the console's front door.
func (c *Console) Root(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/console/", http.StatusFound)
}

// assets serves the embedded static files, cached for a day (their
// vendored names carry their versions).
func (c *Console) assets() http.Handler {
	sub, _ := fs.Sub(assetsFS, "assets")
	files := http.StripPrefix("/console/assets/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}
