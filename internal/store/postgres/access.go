package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// orNull stores a zero time as NULL ("never").
func orNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func storesJSON(ids []string) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

func parseStores(s string) []string {
	var ids []string
	_ = json.Unmarshal([]byte(s), &ids)
	if len(ids) == 0 {
		return nil
	}
	return ids
}

// CreateUser stores a new user; ErrConflict when the email is taken.
func (s *Store) CreateUser(ctx context.Context, u *auth.User) error {
	_, err := s.pool.Exec(ctx, queries.Get("insert-user"), u.ID, strings.ToLower(u.Email), u.Name, string(u.Role),
		storesJSON(u.Stores), u.PasswordHash, u.TOTPSecret, u.Disabled, u.FailedLogins, orNull(u.LockedUntil),
		u.CreatedAt, u.UpdatedAt)
	if isUniqueViolation(err) {
		return fmt.Errorf("postgres: create user: %w", problem.Conflict("user", u.Email, "a user has this email already"))
	}
	if err != nil {
		return fmt.Errorf("postgres: create user %s: %w", u.Email, err)
	}
	return nil
}

func scanUser(sc pgx.Row, before ...any) (*auth.User, error) {
	var u auth.User
	var role, stores string
	var locked *time.Time
	if err := sc.Scan(append(before, &u.ID, &u.Email, &u.Name, &role, &stores, &u.PasswordHash, &u.TOTPSecret, &u.Disabled,
		&u.FailedLogins, &locked, &u.CreatedAt, &u.UpdatedAt)...); err != nil {
		return nil, err
	}
	u.Role, u.Stores, u.TOTP = auth.Role(role), parseStores(stores), u.TOTPSecret != ""
	u.LockedUntil, u.CreatedAt, u.UpdatedAt = fromNull(locked), u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, nil
}

// User finds a user by id or email.
func (s *Store) User(ctx context.Context, idOrEmail string) (*auth.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, queries.Get("user"), idOrEmail, strings.ToLower(idOrEmail)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("user", idOrEmail)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: user %s: %w", idOrEmail, err)
	}
	return u, nil
}

// ListUsers returns every user, by email.
func (s *Store) ListUsers(ctx context.Context) ([]*auth.User, error) {
	rows, err := s.pool.Query(ctx, queries.Get("list-users"))
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	defer rows.Close()
	var out []*auth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser stores a user's changes.
func (s *Store) UpdateUser(ctx context.Context, u *auth.User) error {
	tag, err := s.pool.Exec(ctx, queries.Get("update-user"), u.Name, string(u.Role), storesJSON(u.Stores), u.PasswordHash,
		u.TOTPSecret, u.Disabled, u.FailedLogins, orNull(u.LockedUntil), u.UpdatedAt, u.ID)
	if err != nil {
		return fmt.Errorf("postgres: update user %s: %w", u.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return problem.NotFound("user", u.ID)
	}
	return nil
}

// CreateAPIKey stores a new key.
func (s *Store) CreateAPIKey(ctx context.Context, k *auth.APIKey) error {
	_, err := s.pool.Exec(ctx, queries.Get("insert-api-key"), k.ID, k.Name, string(k.Role), storesJSON(k.Stores), k.Hash,
		k.Prefix, k.CreatedBy, k.CreatedAt, orNull(k.ExpiresAt), orNull(k.RevokedAt), orNull(k.RotatedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("postgres: create API key: %w", problem.Conflict("key", k.ID, "a key has this id already"))
	}
	if err != nil {
		return fmt.Errorf("postgres: create API key %s: %w", k.ID, err)
	}
	return nil
}

func scanAPIKey(sc pgx.Row) (*auth.APIKey, error) {
	var k auth.APIKey
	var role, stores string
	var expires, revoked, rotated *time.Time
	if err := sc.Scan(&k.ID, &k.Name, &role, &stores, &k.Hash, &k.Prefix, &k.CreatedBy, &k.CreatedAt, &expires, &revoked, &rotated); err != nil {
		return nil, err
	}
	k.Role, k.Stores = auth.Role(role), parseStores(stores)
	k.CreatedAt, k.ExpiresAt, k.RevokedAt, k.RotatedAt = k.CreatedAt.UTC(), fromNull(expires), fromNull(revoked), fromNull(rotated)
	return &k, nil
}

func (s *Store) apiKey(ctx context.Context, query, what string) (*auth.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, queries.Get(query), what))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("key", what)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: API key: %w", err)
	}
	return k, nil
}

// APIKey finds a key by id.
func (s *Store) APIKey(ctx context.Context, id string) (*auth.APIKey, error) {
	return s.apiKey(ctx, "api-key", id)
}

// APIKeyByHash finds a key by its secret's hash.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (*auth.APIKey, error) {
	k, err := s.apiKey(ctx, "api-key-by-hash", hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.NotFound("key", "with this secret") // never echo a secret's hash
	}
	return k, err
}

// ListAPIKeys returns every key, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]*auth.APIKey, error) {
	rows, err := s.pool.Query(ctx, queries.Get("list-api-keys"))
	if err != nil {
		return nil, fmt.Errorf("postgres: list API keys: %w", err)
	}
	defer rows.Close()
	var out []*auth.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list API keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// UpdateAPIKey stores a key's rotation, expiry or revocation.
func (s *Store) UpdateAPIKey(ctx context.Context, k *auth.APIKey) error {
	tag, err := s.pool.Exec(ctx, queries.Get("update-api-key"), k.Name, k.Hash, k.Prefix, orNull(k.ExpiresAt),
		orNull(k.RevokedAt), orNull(k.RotatedAt), k.ID)
	if err != nil {
		return fmt.Errorf("postgres: update API key %s: %w", k.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return problem.NotFound("key", k.ID)
	}
	return nil
}

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, ss *auth.Session) error {
	if _, err := s.pool.Exec(ctx, queries.Get("insert-session"), ss.ID, ss.UserID, ss.CSRF, ss.IP, ss.UserAgent,
		ss.CreatedAt, ss.ExpiresAt); err != nil {
		return fmt.Errorf("postgres: create session of %s: %w", ss.UserID, err)
	}
	return nil
}

// Session finds a session by id.
func (s *Store) Session(ctx context.Context, id string) (*auth.Session, error) {
	var ss auth.Session
	err := s.pool.QueryRow(ctx, queries.Get("session"), id).Scan(&ss.ID, &ss.UserID, &ss.CSRF, &ss.IP, &ss.UserAgent, &ss.CreatedAt, &ss.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("session", "of this cookie")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: session: %w", err)
	}
	ss.CreatedAt, ss.ExpiresAt = ss.CreatedAt.UTC(), ss.ExpiresAt.UTC()
	return &ss, nil
}

// SessionUser finds a session and its user in one query.
func (s *Store) SessionUser(ctx context.Context, id string) (*auth.Session, *auth.User, error) {
	var ss auth.Session
	u, err := scanUser(s.pool.QueryRow(ctx, queries.Get("session-user"), id),
		&ss.ID, &ss.UserID, &ss.CSRF, &ss.IP, &ss.UserAgent, &ss.CreatedAt, &ss.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, problem.NotFound("session", "of this cookie")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: session: %w", err)
	}
	ss.CreatedAt, ss.ExpiresAt = ss.CreatedAt.UTC(), ss.ExpiresAt.UTC()
	return &ss, u, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, queries.Get("delete-session"), id); err != nil {
		return fmt.Errorf("postgres: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int64, error) {
	tag, err := s.pool.Exec(ctx, queries.Get("delete-user-sessions"), userID)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete sessions of %s: %w", userID, err)
	}
	return tag.RowsAffected(), nil
}

// PruneSessions forgets the sessions expired before t.
func (s *Store) PruneSessions(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, queries.Get("prune-sessions"), before)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

func nullJSON(b json.RawMessage) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}

// AppendAudit stores an audit entry and sets its ID.
func (s *Store) AppendAudit(ctx context.Context, e *auth.AuditEntry) error {
	err := s.pool.QueryRow(ctx, queries.Get("insert-audit"), e.At, e.Actor, e.Action, e.Resource, e.ResourceID,
		e.Status, e.IP, e.UserAgent, nullJSON(e.Before), nullJSON(e.After)).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("postgres: audit %s: %w", e.Action, err)
	}
	return nil
}

// ListAudit returns the entries q selects, newest first.
func (s *Store) ListAudit(ctx context.Context, q auth.AuditQuery) ([]*auth.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, queries.Get("list-audit"), q.Actor, q.Action, q.Resource, q.ResourceID,
		orNull(q.Since), orNull(q.Until), q.Before, store.ListPage.Size(q.Limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit: %w", err)
	}
	defer rows.Close()
	var out []*auth.AuditEntry
	for rows.Next() {
		var e auth.AuditEntry
		var before, after *string
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Resource, &e.ResourceID, &e.Status, &e.IP, &e.UserAgent, &before, &after); err != nil {
			return nil, fmt.Errorf("postgres: list audit: %w", err)
		}
		e.At = e.At.UTC()
		if before != nil {
			e.Before = json.RawMessage(*before)
		}
		if after != nil {
			e.After = json.RawMessage(*after)
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}

// PruneAudit removes the entries older than before.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, queries.Get("prune-audit"), before)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune audit: %w", err)
	}
	return tag.RowsAffected(), nil
}
