package store

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/auth"
)

// Users keeps the people who sign in to the console. Emails are unique,
// compared without case.
type Users interface {
	// CreateUser stores a new user; ErrConflict when the email is taken.
	CreateUser(ctx context.Context, u *auth.User) error
	// User finds a user by id or by email, or ErrNotFound.
	User(ctx context.Context, idOrEmail string) (*auth.User, error)
	ListUsers(ctx context.Context) ([]*auth.User, error)
	// UpdateUser stores every field of u but its id, email and creation.
	UpdateUser(ctx context.Context, u *auth.User) error
}

// APIKeys keeps the management API's keys, by the hash of their secret.
// The first-start admin key is the owner key with id "key_admin"
// (AdminKeys reads it).
type APIKeys interface {
	CreateAPIKey(ctx context.Context, k *auth.APIKey) error
	// APIKey finds a key by id, APIKeyByHash by its secret's hash; both
	// return revoked and expired keys too, or ErrNotFound.
	APIKey(ctx context.Context, id string) (*auth.APIKey, error)
	APIKeyByHash(ctx context.Context, hash string) (*auth.APIKey, error)
	ListAPIKeys(ctx context.Context) ([]*auth.APIKey, error)
	// UpdateAPIKey stores a key's name, hash and prefix (rotation), and
	// its expiry and revocation.
	UpdateAPIKey(ctx context.Context, k *auth.APIKey) error
}

// Sessions keeps the console's sessions (auth.SessionStore with Users).
type Sessions interface {
	CreateSession(ctx context.Context, s *auth.Session) error
	Session(ctx context.Context, id string) (*auth.Session, error)
	// SessionUser returns a session and its user in one read (what every
	// request with a cookie asks), or ErrNotFound.
	SessionUser(ctx context.Context, id string) (*auth.Session, *auth.User, error)
	DeleteSession(ctx context.Context, id string) error
	DeleteUserSessions(ctx context.Context, userID string) (int64, error)
	// PruneSessions forgets the sessions expired before t.
	PruneSessions(ctx context.Context, before time.Time) (int64, error)
}

// AuditLog is the append-only record of management changes and bulk
// reads of personal data. Nothing updates an entry; only retention
// (PruneAudit) removes the oldest.
type AuditLog interface {
	// AppendAudit stores e and sets its ID.
	AppendAudit(ctx context.Context, e *auth.AuditEntry) error
	// ListAudit returns the entries q selects, newest first.
	ListAudit(ctx context.Context, q auth.AuditQuery) ([]*auth.AuditEntry, error)
	// PruneAudit removes the entries older than before (the audit log's
	// own retention).
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
}

// Access is the users, keys, sessions and audit log.
type Access interface {
	Users
	APIKeys
	Sessions
	AuditLog
}
