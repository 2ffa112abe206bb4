package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/problem"
)

// SessionCookie is the name of the console's session cookie.
const SessionCookie = "parcours_session"

// CSRFHeader carries a session's anti-forgery token on every request that
// changes something (POST, PUT, PATCH, DELETE) made with the cookie.
const CSRFHeader = "X-CSRF-Token"

// AccessOptions bound who gets into the management API and how often.
// Zero fields take the defaults.
type AccessOptions struct {
	// Login bounds sign-in: attempts per address, lockout, session length.
	Login auth.LoginPolicy
	// KeyRate is how many requests a second one API key or one session
	// may make, with bursts of twice as many; owner keys are not limited
	// (the CLI's, and the benchmarks'). Default 50; negative: no limit.
	KeyRate float64
	// KeyCache is how long a key found valid is believed without reading
	// the store again; revoking or rotating through this process forgets
	// it at once, another process sees it after at most this. Default 5s.
	KeyCache time.Duration
	// SecureCookies sets Secure on the session cookie even when the
	// request did not come over TLS (serve behind a TLS proxy).
	SecureCookies bool
	// TrustProxy takes the client's address from X-Forwarded-For (only
	// behind a proxy you run): the login limit per address and the audit
	// log's "from where" read it.
	TrustProxy bool
	// AuditRetention is how long the audit log keeps an entry (its own
	// retention, apart from the data's); default 365 days, the upper end
	// of what the CNIL recommends for access logs; negative: forever.
	AuditRetention time.Duration
}

// DefaultAuditRetention is the audit log's retention by default.
const DefaultAuditRetention = 365 * 24 * time.Hour

// access is who may do what: the keys, the sessions, the rate limits.
type access struct {
	a      *API
	opts   AccessOptions
	logins *auth.Logins

	mu     sync.Mutex
	keys   map[string]cachedKey     // by the key's hash, or "session:" and the token's
	limits map[string]*rate.Limiter // by principal (Actor)
}

type cachedKey struct {
	p     *auth.Principal
	until time.Time
}

func newAccess(a *API, o AccessOptions) *access {
	if o.KeyRate == 0 {
		o.KeyRate = 50
	}
	if o.KeyCache <= 0 {
		o.KeyCache = 5 * time.Second
	}
	return &access{a: a, opts: o, logins: auth.NewLogins(a.store, a.clock, o.Login),
		keys: map[string]cachedKey{}, limits: map[string]*rate.Limiter{}}
}

// WithAccess sets the access options (AccessOptions).
func (a *API) WithAccess(o AccessOptions) *API {
	a.access = newAccess(a, o)
	return a
}

// The answers to a request without credentials, or with wrong ones.
var (
	errNoCredentials = problem.New(problem.KindUnauthorized, "unauthorized",
		"send an API key as 'Authorization: Bearer KEY' (serve wrote the owner key to the admin-key file of the data directory), or log in: POST /api/v1/login")
	errUnknownKey = problem.New(problem.KindUnauthorized, "unauthorized",
		"this is not an API key of this Parcours (a source's write key only ingests, at /v1/*)")
	errCSRF = problem.New(problem.KindForbidden, "csrf",
		"a request made with the session cookie that changes something must carry the session's token in the "+CSRFHeader+" header (POST /api/v1/login and GET /api/v1/me return it)")
)

// forbidden is the answer to a principal whose role lacks perm.
func forbidden(p *auth.Principal, perm auth.Permission) error {
	return &problem.Error{Kind: problem.KindForbidden, Code: "forbidden",
		Message: fmt.Sprintf("missing permission %s: the %s %s has the role %s, which does not grant it (docs/security.md lists the roles)", perm, p.Kind, p.ID, p.Role),
		Details: map[string]string{"permission": string(perm), "role": string(p.Role)}}
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// authenticate is the one place where the management API checks who
// calls and whether they may: it finds the principal (an API key, or a
// session cookie with its CSRF token on changes), applies the
// principal's rate limit, checks that its role grants the route's
// permission (403 naming the permission), and records the request in
// the audit log when it changes something or reads personal data in
// bulk.
func (a *API) authenticate(rt Route, next http.Handler) http.Handler {
	perm := Permission(rt)
	audit := auditOf(rt, perm)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.access.principal(r)
		if err != nil {
			if errors.Is(err, errNoCredentials) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="parcours"`)
			}
			a.fail(w, r, err)
			return
		}
		if err := a.access.allow(p); err != nil {
			a.fail(w, r, err)
			return
		}
		if p.Session != "" && unsafeMethod(r.Method) && !auth.SameSecret(r.Header.Get(CSRFHeader), p.CSRF) {
			a.fail(w, r, errCSRF)
			return
		}
		if !p.Role.Can(perm) {
			a.fail(w, r, forbidden(p, perm))
			return
		}
		r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		if !unsafeMethod(r.Method) && !perm.BulkRead() {
			next.ServeHTTP(w, r)
			return
		}
		a.audited(w, r, p, audit, next)
	})
}

// principal finds who makes the request: the bearer key, else the
// session cookie.
func (x *access) principal(r *http.Request) (*auth.Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, key, _ := strings.Cut(h, " ")
		key = strings.TrimSpace(key)
		if !strings.EqualFold(scheme, "Bearer") || key == "" {
			return nil, errNoCredentials
		}
		return x.keyPrincipal(r.Context(), key)
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return x.sessionPrincipal(r.Context(), c.Value)
	}
	return nil, errNoCredentials
}

// sessionPrincipal finds who a session cookie signs in, believing a
// session found valid for as long as a key (KeyCache): logging out,
// disabling a user or changing their role through this process forgets
// it at once.
func (x *access) sessionPrincipal(ctx context.Context, token string) (*auth.Principal, error) {
	id := "session:" + auth.HashSecret(token)
	now := x.a.clock.Now()
	x.mu.Lock()
	c, ok := x.keys[id]
	x.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.p, nil
	}
	p, err := x.logins.Principal(ctx, token)
	if err != nil {
		return nil, err
	}
	x.remember(id, p, now)
	return p, nil
}

// remember believes p valid until KeyCache from now, or its expiry.
func (x *access) remember(id string, p *auth.Principal, now time.Time) {
	until := now.Add(x.opts.KeyCache)
	if !p.Expires.IsZero() && p.Expires.Before(until) {
		until = p.Expires
	}
	x.mu.Lock()
	if len(x.keys) > 10_000 {
		clear(x.keys)
	}
	x.keys[id] = cachedKey{p, until}
	x.mu.Unlock()
}

// keyPrincipal finds an API key by its hash. The store looks it up by
// the SHA-256 of the secret, which tells an attacker timing nothing of
// the secret; the hash found is then compared with the request's in
// constant time all the same.
func (x *access) keyPrincipal(ctx context.Context, secret string) (*auth.Principal, error) {
	hash := auth.HashSecret(secret)
	now := x.a.clock.Now()
	x.mu.Lock()
	c, ok := x.keys[hash]
	x.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.p, nil
	}
	k, err := x.a.store.APIKeyByHash(ctx, hash)
	if errors.Is(err, problem.ErrNotFound) {
		return nil, errUnknownKey
	}
	if err != nil {
		return nil, err
	}
	if !auth.SameSecret(k.Hash, hash) {
		return nil, errUnknownKey
	}
	switch {
	case !k.RevokedAt.IsZero():
		return nil, problem.New(problem.KindUnauthorized, "key_revoked",
			fmt.Sprintf("key %s was revoked at %s: ask an admin for a new one", k.ID, k.RevokedAt.Format(time.RFC3339)))
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		return nil, problem.New(problem.KindUnauthorized, "key_expired",
			fmt.Sprintf("key %s expired at %s: ask an admin for a new one", k.ID, k.ExpiresAt.Format(time.RFC3339)))
	}
	p := &auth.Principal{Kind: "key", ID: k.ID, Name: k.Name, Role: k.Role, Stores: k.Stores, Expires: k.ExpiresAt}
	x.remember(hash, p, now)
	return p, nil
}

// forget drops every key and session believed valid: after a
// revocation, a rotation, a logout or a change of role or status, the
// next request reads the store.
func (x *access) forget() {
	x.mu.Lock()
	clear(x.keys)
	x.mu.Unlock()
}

// allow takes one request from the principal's budget (owner keys have
// none).
func (x *access) allow(p *auth.Principal) error {
	if x.opts.KeyRate < 0 || (p.Kind == "key" && p.Role == auth.RoleOwner) {
		return nil
	}
	x.mu.Lock()
	lim, ok := x.limits[p.Actor()]
	if !ok {
		if len(x.limits) > 10_000 {
			clear(x.limits)
		}
		lim = rate.NewLimiter(rate.Limit(x.opts.KeyRate), int(2*x.opts.KeyRate)+1)
		x.limits[p.Actor()] = lim
	}
	x.mu.Unlock()
	if lim.AllowN(x.a.clock.Now(), 1) {
		return nil
	}
	return &problem.Error{Kind: problem.KindTooMany, Code: "rate_limited", RetryAfter: time.Second,
		Message: fmt.Sprintf("the %s %s makes more than %g requests a second: slow down", p.Kind, p.ID, x.opts.KeyRate)}
}

// clientIP is the address the request came from: the first of
// X-Forwarded-For behind a trusted proxy, else the connection's.
func (a *API) clientIP(r *http.Request) string {
	if a.access.opts.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
