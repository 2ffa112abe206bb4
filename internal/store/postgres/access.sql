-- name: insert-user
INSERT INTO users (id, email, name, role, stores, password_hash, totp_secret, disabled, failed_logins, locked_until, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);

-- name: user
SELECT id, email, name, role, stores, password_hash, totp_secret, disabled, failed_logins, locked_until, created_at, updated_at
FROM users WHERE id = $1 OR email = $2;

-- name: list-users
SELECT id, email, name, role, stores, password_hash, totp_secret, disabled, failed_logins, locked_until, created_at, updated_at
FROM users ORDER BY email;

-- name: update-user
UPDATE users SET name = $1, role = $2, stores = $3, password_hash = $4, totp_secret = $5, disabled = $6,
    failed_logins = $7, locked_until = $8, updated_at = $9
WHERE id = $10;

-- name: insert-api-key
INSERT INTO api_keys (id, name, role, stores, hash, prefix, created_by, created_at, expires_at, revoked_at, rotated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: api-key
SELECT id, name, role, stores, hash, prefix, created_by, created_at, expires_at, revoked_at, rotated_at
FROM api_keys WHERE id = $1;

-- name: api-key-by-hash
SELECT id, name, role, stores, hash, prefix, created_by, created_at, expires_at, revoked_at, rotated_at
FROM api_keys WHERE hash = $1;

-- name: list-api-keys
SELECT id, name, role, stores, hash, prefix, created_by, created_at, expires_at, revoked_at, rotated_at
FROM api_keys ORDER BY created_at, id;

-- name: update-api-key
UPDATE api_keys SET name = $1, hash = $2, prefix = $3, expires_at = $4, revoked_at = $5, rotated_at = $6 WHERE id = $7;

-- name: insert-session
INSERT INTO sessions (id, user_id, csrf, ip, user_agent, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: session
SELECT id, user_id, csrf, ip, user_agent, created_at, expires_at FROM sessions WHERE id = $1;

-- name: delete-session
DELETE FROM sessions WHERE id = $1;

-- name: delete-user-sessions
DELETE FROM sessions WHERE user_id = $1;

-- name: prune-sessions
DELETE FROM sessions WHERE expires_at < $1;

-- name: insert-audit
INSERT INTO audit_log (at, actor, action, resource, resource_id, status, ip, user_agent, before, after)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id;

-- name: list-audit
SELECT id, at, actor, action, resource, resource_id, status, ip, user_agent, before, after FROM audit_log
WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2) AND ($3 = '' OR resource = $3) AND ($4 = '' OR resource_id = $4)
  AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at < $6) AND ($7 = 0 OR id < $7)
ORDER BY id DESC LIMIT $8;

-- name: prune-audit
DELETE FROM audit_log WHERE at < $1;

-- name: session-user
SELECT s.id, s.user_id, s.csrf, s.ip, s.user_agent, s.created_at, s.expires_at,
    u.id, u.email, u.name, u.role, u.stores, u.password_hash, u.totp_secret, u.disabled, u.failed_logins, u.locked_until, u.created_at, u.updated_at
FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1;
