package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// orZero stores a zero time as 0 ("never").
func orZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

func fromOrZero(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return fromMicros(us)
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
	_, err := s.w.ExecContext(ctx, queries.Get("insert-user"), u.ID, strings.ToLower(u.Email), u.Name, string(u.Role),
		storesJSON(u.Stores), u.PasswordHash, u.TOTPSecret, u.Disabled, u.FailedLogins, orZero(u.LockedUntil),
		micros(u.CreatedAt), micros(u.UpdatedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlite: create user: %w", problem.Conflict("user", u.Email, "a user has this email already"))
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user %s: %w", u.Email, err)
	}
	return nil
}

func scanUser(sc interface{ Scan(...any) error }, before ...any) (*auth.User, error) {
	var u auth.User
	var role, stores string
	var locked, created, updated int64
	if err := sc.Scan(append(before, &u.ID, &u.Email, &u.Name, &role, &stores, &u.PasswordHash, &u.TOTPSecret, &u.Disabled,
		&u.FailedLogins, &locked, &created, &updated)...); err != nil {
		return nil, err
	}
	u.Role, u.Stores, u.TOTP = auth.Role(role), parseStores(stores), u.TOTPSecret != ""
	u.LockedUntil, u.CreatedAt, u.UpdatedAt = fromOrZero(locked), fromMicros(created), fromMicros(updated)
	return &u, nil
}

// User finds a user by id or email.
func (s *Store) User(ctx context.Context, idOrEmail string) (*auth.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, queries.Get("user"), idOrEmail, strings.ToLower(idOrEmail)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("user", idOrEmail)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: user %s: %w", idOrEmail, err)
	}
	return u, nil
}

// ListUsers returns every user, by email.
func (s *Store) ListUsers(ctx context.Context) ([]*auth.User, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("list-users"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	var out []*auth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser stores a user's changes.
func (s *Store) UpdateUser(ctx context.Context, u *auth.User) error {
	res, err := s.w.ExecContext(ctx, queries.Get("update-user"), u.Name, string(u.Role), storesJSON(u.Stores), u.PasswordHash,
		u.TOTPSecret, u.Disabled, u.FailedLogins, orZero(u.LockedUntil), micros(u.UpdatedAt), u.ID)
	if err != nil {
		return fmt.Errorf("sqlite: update user %s: %w", u.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return problem.NotFound("user", u.ID)
	}
	return nil
}

// CreateAPIKey stores a new key.
func (s *Store) CreateAPIKey(ctx context.Context, k *auth.APIKey) error {
	_, err := s.w.ExecContext(ctx, queries.Get("insert-api-key"), k.ID, k.Name, string(k.Role), storesJSON(k.Stores), k.Hash,
		k.Prefix, k.CreatedBy, micros(k.CreatedAt), orZero(k.ExpiresAt), orZero(k.RevokedAt), orZero(k.RotatedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlite: create API key: %w", problem.Conflict("key", k.ID, "a key has this id already"))
	}
	if err != nil {
		return fmt.Errorf("sqlite: create API key %s: %w", k.ID, err)
	}
	return nil
}

func scanAPIKey(sc interface{ Scan(...any) error }) (*auth.APIKey, error) {
	var k auth.APIKey
	var role, stores string
	var created, expires, revoked, rotated int64
	if err := sc.Scan(&k.ID, &k.Name, &role, &stores, &k.Hash, &k.Prefix, &k.CreatedBy, &created, &expires, &revoked, &rotated); err != nil {
		return nil, err
	}
	k.Role, k.Stores = auth.Role(role), parseStores(stores)
	k.CreatedAt, k.ExpiresAt, k.RevokedAt, k.RotatedAt = fromMicros(created), fromOrZero(expires), fromOrZero(revoked), fromOrZero(rotated)
	return &k, nil
}

func (s *Store) apiKey(ctx context.Context, query, what string) (*auth.APIKey, error) {
	k, err := scanAPIKey(s.r.QueryRowContext(ctx, queries.Get(query), what))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("key", what)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: API key: %w", err)
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
	rows, err := s.r.QueryContext(ctx, queries.Get("list-api-keys"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list API keys: %w", err)
	}
	defer rows.Close()
	var out []*auth.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list API keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// UpdateAPIKey stores a key's rotation, expiry or revocation.
func (s *Store) UpdateAPIKey(ctx context.Context, k *auth.APIKey) error {
	res, err := s.w.ExecContext(ctx, queries.Get("update-api-key"), k.Name, k.Hash, k.Prefix, orZero(k.ExpiresAt),
		orZero(k.RevokedAt), orZero(k.RotatedAt), k.ID)
	if err != nil {
		return fmt.Errorf("sqlite: update API key %s: %w", k.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return problem.NotFound("key", k.ID)
	}
	return nil
}

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, ss *auth.Session) error {
	if _, err := s.w.ExecContext(ctx, queries.Get("insert-session"), ss.ID, ss.UserID, ss.CSRF, ss.IP, ss.UserAgent,
		micros(ss.CreatedAt), micros(ss.ExpiresAt)); err != nil {
		return fmt.Errorf("sqlite: create session of %s: %w", ss.UserID, err)
	}
	return nil
}

// Session finds a session by id.
func (s *Store) Session(ctx context.Context, id string) (*auth.Session, error) {
	var ss auth.Session
	var created, expires int64
	err := s.r.QueryRowContext(ctx, queries.Get("session"), id).Scan(&ss.ID, &ss.UserID, &ss.CSRF, &ss.IP, &ss.UserAgent, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("session", "of this cookie")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: session: %w", err)
	}
	ss.CreatedAt, ss.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &ss, nil
}

// SessionUser finds a session and its user in one query.
func (s *Store) SessionUser(ctx context.Context, id string) (*auth.Session, *auth.User, error) {
	var ss auth.Session
	var created, expires int64
	u, err := scanUser(s.r.QueryRowContext(ctx, queries.Get("session-user"), id),
		&ss.ID, &ss.UserID, &ss.CSRF, &ss.IP, &ss.UserAgent, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, problem.NotFound("session", "of this cookie")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: session: %w", err)
	}
	ss.CreatedAt, ss.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &ss, u, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, queries.Get("delete-session"), id); err != nil {
		return fmt.Errorf("sqlite: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int64, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("delete-user-sessions"), userID)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete sessions of %s: %w", userID, err)
	}
	return res.RowsAffected()
}

// PruneSessions forgets the sessions expired before t.
func (s *Store) PruneSessions(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("prune-sessions"), micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune sessions: %w", err)
	}
	return res.RowsAffected()
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// AppendAudit stores an audit entry and sets its ID.
//
// The entry is written in the shared transaction (groupTx), in a savepoint
// of its own: every audited request wrote one commit, one fsync, of its
// own, which capped the tills' redemptions at the disk's fsyncs per
// second (docs/benchmarks.md, loyalty). It returns once committed, as
// before.
func (s *Store) AppendAudit(ctx context.Context, e *auth.AuditEntry) error {
	q := queries.Get("insert-audit")
	s.w.stmt(ctx, q) // kept before the transaction: it cannot be prepared inside one
	err := s.group.do(ctx, s, func(tx *sql.Tx) error {
		st, err := s.w.txStmt(ctx, tx, q)
		if err != nil {
			return err
		}
		res, err := st.ExecContext(context.WithoutCancel(ctx), micros(e.At), e.Actor, e.Action, e.Resource, e.ResourceID,
			e.Status, e.IP, e.UserAgent, nullJSON(e.Before), nullJSON(e.After))
		if err != nil {
			return err
		}
		e.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: audit %s: %w", e.Action, err)
	}
	return nil
}

// ListAudit returns the entries q selects, newest first.
func (s *Store) ListAudit(ctx context.Context, q auth.AuditQuery) ([]*auth.AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("list-audit"), q.Actor, q.Actor, q.Action, q.Action, q.Resource, q.Resource,
		q.ResourceID, q.ResourceID, orZero(q.Since), orZero(q.Since), orZero(q.Until), orZero(q.Until), q.Before, q.Before,
		store.ListPage.Size(q.Limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list audit: %w", err)
	}
	defer rows.Close()
	var out []*auth.AuditEntry
	for rows.Next() {
		var e auth.AuditEntry
		var at int64
		var before, after sql.NullString
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Resource, &e.ResourceID, &e.Status, &e.IP, &e.UserAgent, &before, &after); err != nil {
			return nil, fmt.Errorf("sqlite: list audit: %w", err)
		}
		e.At = fromMicros(at)
		if before.Valid {
			e.Before = json.RawMessage(before.String)
		}
		if after.Valid {
			e.After = json.RawMessage(after.String)
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}

// PruneAudit removes the entries older than before.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("prune-audit"), micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune audit: %w", err)
	}
	return res.RowsAffected()
}
