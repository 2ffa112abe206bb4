package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The cookies the console reads. The session cookie is the management
// API's own (POST /api/v1/login sets it); the key cookie holds the API key
// of someone who signed in with one (the admin key before any user
// exists), HttpOnly and SameSite=Strict like the session's.
const (
	sessionCookie = "parcours_session"
	keyCookie     = "parcours_console_key"
	langCookie    = "parcours_lang"
)

// creds are the credentials the console calls the API with.
type creds struct {
	token string // session token
	key   string // API key
	csrf  string // the session's anti-forgery token, sent on changes
}

func (cr *creds) apply(req *http.Request) {
	switch {
	case cr == nil:
	case cr.key != "":
		req.Header.Set("Authorization", "Bearer "+cr.key)
	case cr.token != "":
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cr.token})
		if cr.csrf != "" && req.Method != http.MethodGet {
			req.Header.Set("X-CSRF-Token", cr.csrf)
		}
	}
}

// session is who is signed in, as GET /api/v1/me answers.
type session struct {
	creds       *creds
	Kind        string   `json:"kind"`
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Role        string   `json:"role"`
	Stores      []string `json:"stores"`
	Permissions []string `json:"permissions"`
	CSRF        string   `json:"csrf_token"`
}

// Can reports whether the role grants the permission.
func (s *session) Can(perm string) bool { return s != nil && slices.Contains(s.Permissions, perm) }

// StoreRole reports whether the person works in stores (and lands there).
func (s *session) StoreRole() bool { return s.Role == "store_staff" || s.Role == "store_manager" }

// session finds who the request's cookies sign in, or nil.
func (c *Console) session(r *http.Request) *session {
	cr := &creds{}
	if k, err := r.Cookie(keyCookie); err == nil && k.Value != "" {
		cr.key = k.Value
	} else if t, err := r.Cookie(sessionCookie); err == nil && t.Value != "" {
		cr.token = t.Value
	} else {
		return nil
	}
	s := &session{creds: cr}
	if _, err := c.call(r.Context(), r, cr, http.MethodGet, "/api/v1/me", nil, s); err != nil {
		return nil
	}
	if cr.key != "" {
		// A key has no session, so no CSRF token of its own: the console
		// derives one from the key for its forms.
		sum := sha256.Sum256([]byte("parcours-console-csrf:" + cr.key))
		s.CSRF = hex.EncodeToString(sum[:16])
	} else {
		cr.csrf = s.CSRF
	}
	s.creds = cr
	return s
}

// checkCSRF reports whether a form carries the session's token. The
// cookies are SameSite=Strict already; this is the second lock.
func checkCSRF(r *http.Request, s *session) bool {
	got := r.FormValue("csrf")
	if got == "" {
		got = r.Header.Get("X-CSRF-Token")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}

// landing is where a person goes after signing in: store staff to their
// store's page, the others to the dashboard or, without measure, the
// customers.
func landing(s *session) string {
	switch {
	case s.StoreRole() && len(s.Stores) > 0:
		return "/console/store/" + url.PathEscape(s.Stores[0])
	case s.Can("measure:read"):
		return "/console/"
	case s.Can("profiles:read"):
		return "/console/customers"
	}
	return "/console/account"
}

func (c *Console) cookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.opts.SecureCookies || r.TLS != nil})
}

// loginPage serves GET /console/login.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if s := c.session(r); s != nil {
		http.Redirect(w, r, landing(s), http.StatusSeeOther)
		return
	}
	c.render(w, r, nil, "login", http.StatusOK, map[string]any{"Accounts": c.opts.Accounts, "Next": r.URL.Query().Get("next")})
}

// login serves POST /console/login: an email and password through the
// API's login (which sets the session cookie), or an API key checked
// with GET /api/v1/me.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, err error) {
		msg := err.Error()
		var ae *APIError
		if errors.As(err, &ae) {
			msg = ae.Message
		}
		c.render(w, r, nil, "login", status, map[string]any{"Accounts": c.opts.Accounts, "Error": msg,
			"Email": r.FormValue("email"), "Next": r.FormValue("next")})
	}
	var s *session
	if key := strings.TrimSpace(r.FormValue("key")); key != "" {
		s = &session{creds: &creds{key: key}}
		if _, err := c.call(r.Context(), r, s.creds, http.MethodGet, "/api/v1/me", nil, s); err != nil {
			fail(http.StatusUnauthorized, err)
			return
		}
		c.cookie(w, r, keyCookie, key, 12*3600)
		c.cookie(w, r, sessionCookie, "", -1)
	} else {
		body := map[string]string{"email": r.FormValue("email"), "password": r.FormValue("password"), "totp": r.FormValue("totp")}
		s = &session{}
		rec, err := c.call(r.Context(), r, nil, http.MethodPost, "/api/v1/login", body, s)
		if err != nil {
			status := http.StatusUnauthorized
			var ae *APIError
			if errors.As(err, &ae) {
				status = ae.Status
			}
			fail(status, err)
			return
		}
		for _, sc := range rec.h.Values("Set-Cookie") {
			w.Header().Add("Set-Cookie", sc)
		}
		c.cookie(w, r, keyCookie, "", -1)
	}
	next := r.FormValue("next")
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") {
		next = landing(s)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout serves POST /console/logout: it ends the session (or forgets the
// key) and goes back to the sign-in page.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if s.creds.token != "" {
		_ = c.send(r, s, http.MethodPost, "/api/v1/logout", nil, nil)
	}
	c.cookie(w, r, keyCookie, "", -1)
	c.cookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}
