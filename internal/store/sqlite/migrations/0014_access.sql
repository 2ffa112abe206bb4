-- People, scoped API keys, console sessions and the audit log (issue 19).
-- Secrets are stored hashed: passwords with argon2id, keys and session
-- tokens with SHA-256 (they are 256-bit random). Times in microseconds
-- since the epoch; 0 for "never".
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    stores        TEXT NOT NULL DEFAULT '[]',
    password_hash TEXT NOT NULL,
    totp_secret   TEXT NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    stores     TEXT NOT NULL DEFAULT '[]',
    hash       TEXT NOT NULL UNIQUE,
    prefix     TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER NOT NULL DEFAULT 0,
    rotated_at INTEGER NOT NULL DEFAULT 0
);

-- The first-start admin key becomes the owner key "key_admin".
INSERT INTO api_keys (id, name, role, hash, prefix, created_by, created_at)
SELECT 'key_admin', 'first-start admin key', 'owner', hash, 'pk_admin_', 'serve', created_at
FROM admin_keys ORDER BY created_at LIMIT 1;
INSERT INTO api_keys (id, name, role, hash, prefix, created_by, created_at)
SELECT 'key_admin_' || rowid, 'admin key', 'owner', hash, 'pk_admin_', 'serve', created_at
FROM admin_keys WHERE hash NOT IN (SELECT hash FROM api_keys);
DROP TABLE admin_keys;

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    resource    TEXT NOT NULL,
    resource_id TEXT NOT NULL DEFAULT '',
    status      INTEGER NOT NULL DEFAULT 0,
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    before      TEXT,
    after       TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_resource ON audit_log (resource, resource_id, id);
