package auth

import (
	"encoding/json"
	"time"
)

// User is a person who signs in to the console.
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  Role   `json:"role"`
	// Stores scopes a store role; empty for the others.
	Stores []string `json:"stores,omitempty"`
	// PasswordHash is the argon2id hash (HashPassword); never returned by
	// the API.
	PasswordHash string `json:"-"`
	// TOTPSecret is the base32 secret of the authenticator app, "" when
	// the user has none; never returned by the API.
	TOTPSecret string `json:"-"`
	TOTP       bool   `json:"totp"`
	Disabled   bool   `json:"disabled"`
	// FailedLogins counts the failed logins since the last success;
	// LockedUntil is when a locked account opens again.
	FailedLogins int       `json:"-"`
	LockedUntil  time.Time `json:"locked_until,omitzero"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// APIKey is a key for the management API, with a role, optional stores
// and an optional expiry. Only its hash is stored.
type APIKey struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Role   Role     `json:"role"`
	Stores []string `json:"stores,omitempty"`
	// Hash is HashSecret of the key; never returned by the API.
	Hash string `json:"-"`
	// Prefix is the key's first characters, to tell keys apart in lists.
	Prefix    string    `json:"prefix"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	RotatedAt time.Time `json:"rotated_at,omitzero"`
}

// Active reports whether the key opens anything at now.
func (k *APIKey) Active(now time.Time) bool {
	return k.RevokedAt.IsZero() && (k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt))
}

// Session is a user's console session. Its ID is the hash of the token
// in the cookie: a stolen database does not open sessions.
type Session struct {
	ID        string
	UserID    string
	CSRF      string
	IP        string
	UserAgent string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AuditEntry is one line of the audit log: a management change or a bulk
// read of personal data. The log is append-only.
type AuditEntry struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// Actor is "user:ID", "key:ID", or "anonymous" (a failed login).
	Actor string `json:"actor"`
	// Action is the route ("POST /api/v1/segments") or a named act
	// ("session.login", "session.login_failed").
	Action     string `json:"action"`
	Resource   string `json:"resource"`
	ResourceID string `json:"resource_id,omitempty"`
	Status     int    `json:"status"`
	IP         string `json:"ip,omitempty"`
	UserAgent  string `json:"user_agent,omitempty"`
	// Before and After are the definition or setting before and after a
	// change, secrets removed; absent for other acts.
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// AuditQuery filters the audit log, newest first. Zero fields do not
// filter.
type AuditQuery struct {
	Actor      string
	Action     string
	Resource   string
	ResourceID string
	// Since and Until bound At: Since <= at < Until.
	Since, Until time.Time
	// Before pages: entries with ID < Before.
	Before int64
	Limit  int
}
