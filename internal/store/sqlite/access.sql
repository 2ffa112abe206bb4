-- name: insert-user
INSERT INTO users (id, email, name, role, stores, password_hash, totp_secret, disabled, failed_logins, locked_until, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: user
SELECT id, email, name, role, stores, password_hash, totp_secret, disabled, failed_logins, locked_until, created_at, updated_at
FROM users WHERE id = ? OR email = ?;

-- name: list-users
SELECT id, email, name, role, stores, password_hash, totp_secret, disabled, failed_logins, locked_until, created_at, updated_at
FROM users ORDER BY email;

-- name: update-user
UPDATE users SET name = ?, role = ?, stores = ?, password_hash = ?, totp_secret = ?, disabled = ?,
    failed_logins = ?, locked_until = ?, updated_at = ?
WHERE id = ?;

-- name: insert-api-key
INSERT INTO api_keys (id, name, role, stores, hash, prefix, created_by, created_at, expires_at, revoked_at, rotated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: api-key
SELECT id, name, role, stores, hash, prefix, created_by, created_at, expires_at, revoked_at, rotated_at
FROM api_keys WHERE id = ?;

-- name: api-key-by-hash
SELECT id, name, role, stores, hash, prefix, created_by, created_at, expires_at, revoked_at, rotated_at
FROM api_keys WHERE hash = ?;

-- name: list-api-keys
SELECT id, name, role, stores, hash, prefix, created_by, created_at, expires_at, revoked_at, rotated_at
FROM api_keys ORDER BY created_at, id;

-- name: update-api-key
UPDATE api_keys SET name = ?, hash = ?, prefix = ?, expires_at = ?, revoked_at = ?, rotated_at = ? WHERE id = ?;

-- name: insert-session
INSERT INTO sessions (id, user_id, csrf, ip, user_agent, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: session
SELECT id, user_id, csrf, ip, user_agent, created_at, expires_at FROM sessions WHERE id = ?;

-- name: delete-session
DELETE FROM sessions WHERE id = ?;

-- name: delete-user-sessions
DELETE FROM sessions WHERE user_id = ?;

-- name: prune-sessions
DELETE FROM sessions WHERE expires_at < ?;

-- name: insert-audit
INSERT INTO audit_log (at, actor, action, resource, resource_id, status, ip, user_agent, before, after)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: list-audit
SELECT id, at, actor, action, resource, resource_id, status, ip, user_agent, before, after FROM audit_log
WHERE (? = '' OR actor = ?) AND (? = '' OR action = ?) AND (? = '' OR resource = ?) AND (? = '' OR resource_id = ?)
  AND (? = 0 OR at >= ?) AND (? = 0 OR at < ?) AND (? = 0 OR id < ?)
ORDER BY id DESC LIMIT ?;

-- name: prune-audit
DELETE FROM audit_log WHERE at < ?;

-- name: session-user
SELECT s.id, s.user_id, s.csrf, s.ip, s.user_agent, s.created_at, s.expires_at,
    u.id, u.email, u.name, u.role, u.stores, u.password_hash, u.totp_secret, u.disabled, u.failed_logins, u.locked_until, u.created_at, u.updated_at
FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?;
