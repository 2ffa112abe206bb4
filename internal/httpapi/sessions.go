package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/problem"
)

// session is what login and me answer: who is signed in, and the token
// that requests changing something must carry in X-CSRF-Token.
type session struct {
	Kind        string            `json:"kind"`
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Role        auth.Role         `json:"role"`
	Stores      []string          `json:"stores,omitempty"`
	Permissions []auth.Permission `json:"permissions"`
	CSRF        string            `json:"csrf_token,omitempty"`
	ExpiresAt   time.Time         `json:"expires_at,omitzero"`
}

func sessionOf(p *auth.Principal) session {
	return session{Kind: p.Kind, ID: p.ID, Name: p.Name, Role: p.Role, Stores: p.Stores,
		Permissions: p.Role.Permissions(), CSRF: p.CSRF, ExpiresAt: p.Expires}
}

// login serves POST /api/v1/login: {"email", "password", "totp"}. It sets
// the session cookie (HttpOnly, SameSite=Strict, Secure over TLS) and
// answers the CSRF token. Failed and successful logins go to the audit
// log.
func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		TOTP     string `json:"totp"`
	}
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	token, s, u, err := a.access.logins.Login(r.Context(), req.Email, req.Password, req.TOTP, a.clientIP(r), r.UserAgent())
	if err != nil {
		a.record(r, "anonymous", "session.login_failed", "users", strings.ToLower(clip(strings.TrimSpace(req.Email), 254)), httpjson.Status(problem.Describe(err).Kind))
		a.fail(w, r, err)
		return
	}
	a.record(r, "user:"+u.ID, "session.login", "users", u.ID, http.StatusOK)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: s.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: a.access.opts.SecureCookies || r.TLS != nil})
	httpjson.Write(w, http.StatusOK, sessionOf(&auth.Principal{Kind: "user", ID: u.ID, Name: u.Email, Role: u.Role,
		Stores: u.Stores, Session: s.ID, CSRF: s.CSRF, Expires: s.ExpiresAt}))
}

// me serves GET /api/v1/me: who the key or session is, and what it may do.
func (a *API) me(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, sessionOf(auth.FromContext(r.Context())))
}

// logout serves POST /api/v1/logout: it ends the session of the cookie.
func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	if p.Session == "" {
		a.fail(w, r, problem.New(problem.KindInvalid, "not_a_session", "an API key has no session to end: revoke it (POST /api/v1/keys/{id}/revoke)"))
		return
	}
	if err := a.access.logins.Logout(r.Context(), p.Session); err != nil {
		a.fail(w, r, err)
		return
	}
	a.access.forget()
	a.clearCookie(w, r)
	httpjson.Write(w, http.StatusOK, map[string]int{"sessions_ended": 1})
}

// logoutEverywhere serves POST /api/v1/logout/everywhere: it ends every
// session of the signed-in user.
func (a *API) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	if p.Kind != "user" {
		a.fail(w, r, problem.New(problem.KindInvalid, "not_a_session", "an API key has no sessions to end: revoke it (POST /api/v1/keys/{id}/revoke)"))
		return
	}
	n, err := a.access.logins.LogoutEverywhere(r.Context(), p.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.access.forget()
	a.clearCookie(w, r)
	httpjson.Write(w, http.StatusOK, map[string]int64{"sessions_ended": n})
}

func (a *API) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: a.access.opts.SecureCookies || r.TLS != nil})
}

// enrolTOTP serves POST /api/v1/me/totp: without a body it makes a new
// secret and answers it (with its otpauth:// URL for the QR code); with
// {"secret", "code"} it checks the code and turns TOTP on for the user.
func (a *API) enrolTOTP(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	if p.Kind != "user" {
		a.fail(w, r, problem.New(problem.KindInvalid, "not_a_user", "API keys do not sign in with a code: only users enrol TOTP"))
		return
	}
	var req struct {
		Secret string `json:"secret"`
		Code   string `json:"code"`
	}
	if r.ContentLength != 0 {
		if err := decodeBody(r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if req.Secret == "" {
		secret, url, err := auth.NewTOTP(p.Name)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]string{"secret": secret, "url": url,
			"next": "add it to your authenticator app, then POST the secret and the app's code to turn it on"})
		return
	}
	if !auth.CheckTOTP(req.Secret, req.Code, a.clock.Now()) {
		a.fail(w, r, problem.Invalid("code", "is not the current code of this secret: check the app's clock"))
		return
	}
	u, err := a.store.User(r.Context(), p.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	u.TOTPSecret, u.UpdatedAt = req.Secret, a.clock.Now()
	if err := a.store.UpdateUser(r.Context(), u); err != nil {
		a.fail(w, r, err)
		return
	}
	u.TOTP = true
	httpjson.Write(w, http.StatusOK, u)
}
