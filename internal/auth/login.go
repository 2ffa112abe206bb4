package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/problem"
)

// SessionStore is what sign-in needs from the store.
type SessionStore interface {
	// User finds a user by id or email (case-insensitive), or
	// problem.ErrNotFound.
	User(ctx context.Context, idOrEmail string) (*User, error)
	UpdateUser(ctx context.Context, u *User) error
	CreateSession(ctx context.Context, s *Session) error
	// SessionUser returns a session by id (its token's hash) with its
	// user, or problem.ErrNotFound.
	SessionUser(ctx context.Context, id string) (*Session, *User, error)
	DeleteSession(ctx context.Context, id string) error
	// DeleteUserSessions ends every session of a user: "log out
	// everywhere", and what disabling a user does.
	DeleteUserSessions(ctx context.Context, userID string) (int64, error)
}

// LoginPolicy bounds sign-in. Zero fields take the defaults.
type LoginPolicy struct {
	// MaxFailures failed logins in a row lock the account for Lockout;
	// defaults 5 and 15 minutes.
	MaxFailures int
	Lockout     time.Duration
	// PerIP is how many login attempts one address may make per minute,
	// after a burst of as many; default 10.
	PerIP int
	// SessionTTL is how long a session lasts from sign-in; default 12h.
	SessionTTL time.Duration
}

func (p LoginPolicy) withDefaults() LoginPolicy {
	if p.MaxFailures <= 0 {
		p.MaxFailures = 5
	}
	if p.Lockout <= 0 {
		p.Lockout = 15 * time.Minute
	}
	if p.PerIP <= 0 {
		p.PerIP = 10
	}
	if p.SessionTTL <= 0 {
		p.SessionTTL = 12 * time.Hour
	}
	return p
}

// The answers to a login that does not sign in. A wrong email, a wrong
// password, a wrong code and a disabled user answer the same, so that
// the answer does not tell which accounts exist.
var (
	ErrBadCredentials = problem.New(problem.KindUnauthorized, "bad_credentials", "wrong email, password or code")
	ErrTOTPRequired   = problem.New(problem.KindUnauthorized, "totp_required", "this account asks for the code of its authenticator app: send it as totp")
)

// Logins signs users in and out, with a rate limit per address and a
// lockout per account.
type Logins struct {
	st     SessionStore
	clock  clock.Clock
	policy LoginPolicy
	dummy  string // a hash to check against when the email is unknown

	mu  sync.Mutex
	ips map[string]*rate.Limiter
}

// NewLogins returns the sign-in service.
func NewLogins(st SessionStore, clk clock.Clock, p LoginPolicy) *Logins {
	dummy, _ := HashPassword("not-a-password-of-anyone")
	return &Logins{st: st, clock: clk, policy: p.withDefaults(), dummy: dummy, ips: map[string]*rate.Limiter{}}
}

// Policy returns the policy in force, defaults filled in.
func (l *Logins) Policy() LoginPolicy { return l.policy }

// allow takes one attempt from ip's budget.
func (l *Logins) allow(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.ips[ip]
	if !ok {
		if len(l.ips) > 100_000 { // bounded memory under a spray of addresses
			clear(l.ips)
		}
		lim = rate.NewLimiter(rate.Limit(float64(l.policy.PerIP)/60), l.policy.PerIP)
		l.ips[ip] = lim
	}
	return lim.AllowN(l.clock.Now(), 1)
}

// Login checks an email, a password and (when the user has TOTP) a code,
// and opens a session: it returns the token for the cookie (shown once,
// stored hashed) and the session.
func (l *Logins) Login(ctx context.Context, email, password, code, ip, userAgent string) (string, *Session, *User, error) {
	now := l.clock.Now()
	if !l.allow(ip) {
		return "", nil, nil, &problem.Error{Kind: problem.KindTooMany, Code: "too_many_logins",
			Message: fmt.Sprintf("too many login attempts from %s: at most %d a minute", ip, l.policy.PerIP), RetryAfter: time.Minute}
	}
	u, err := l.st.User(ctx, strings.TrimSpace(email))
	if errors.Is(err, problem.ErrNotFound) {
		_, _ = CheckPassword(l.dummy, password) // the same time as a known email
		return "", nil, nil, ErrBadCredentials
	}
	if err != nil {
		return "", nil, nil, err
	}
	if now.Before(u.LockedUntil) {
		return "", nil, nil, &problem.Error{Kind: problem.KindTooMany, Code: "account_locked",
			Message:    fmt.Sprintf("too many failed logins: this account is locked until %s", u.LockedUntil.Format(time.RFC3339)),
			RetryAfter: u.LockedUntil.Sub(now)}
	}
	ok, err := CheckPassword(u.PasswordHash, password)
	if err != nil {
		return "", nil, nil, err
	}
	if ok && u.TOTPSecret != "" {
		if code == "" {
			return "", nil, nil, ErrTOTPRequired
		}
		ok = CheckTOTP(u.TOTPSecret, code, now)
	}
	if !ok || u.Disabled {
		u.FailedLogins++
		if u.FailedLogins >= l.policy.MaxFailures {
			u.LockedUntil, u.FailedLogins = now.Add(l.policy.Lockout), 0
		}
		if err := l.st.UpdateUser(ctx, u); err != nil {
			return "", nil, nil, err
		}
		return "", nil, nil, ErrBadCredentials
	}
	if u.FailedLogins != 0 || !u.LockedUntil.IsZero() {
		u.FailedLogins, u.LockedUntil = 0, time.Time{}
		if err := l.st.UpdateUser(ctx, u); err != nil {
			return "", nil, nil, err
		}
	}
	token, err := NewSecret("ps_")
	if err != nil {
		return "", nil, nil, err
	}
	csrf, err := NewSecret("")
	if err != nil {
		return "", nil, nil, err
	}
	s := &Session{ID: HashSecret(token), UserID: u.ID, CSRF: csrf, IP: ip, UserAgent: clip(userAgent, 256),
		CreatedAt: now, ExpiresAt: now.Add(l.policy.SessionTTL)}
	if err := l.st.CreateSession(ctx, s); err != nil {
		return "", nil, nil, err
	}
	return token, s, u, nil
}

// ErrNoSession is the answer to a cookie that opens no session.
var ErrNoSession = problem.New(problem.KindUnauthorized, "unauthorized", "the session has expired or was closed: log in again")

// Principal returns who the session token signs in, or ErrNoSession.
func (l *Logins) Principal(ctx context.Context, token string) (*Principal, error) {
	s, u, err := l.st.SessionUser(ctx, HashSecret(token))
	if errors.Is(err, problem.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	if !l.clock.Now().Before(s.ExpiresAt) || u.Disabled {
		return nil, ErrNoSession
	}
	return &Principal{Kind: "user", ID: u.ID, Name: u.Email, Role: u.Role, Stores: u.Stores,
		Session: s.ID, CSRF: s.CSRF, Expires: s.ExpiresAt}, nil
}

// Logout ends one session.
func (l *Logins) Logout(ctx context.Context, sessionID string) error {
	return l.st.DeleteSession(ctx, sessionID)
}

// LogoutEverywhere ends every session of a user.
func (l *Logins) LogoutEverywhere(ctx context.Context, userID string) (int64, error) {
	return l.st.DeleteUserSessions(ctx, userID)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
