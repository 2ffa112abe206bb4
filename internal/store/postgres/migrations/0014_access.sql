-- People, scoped API keys, console sessions and the audit log (issue 19).
-- Secrets are stored hashed: passwords with argon2id, keys and session
-- tokens with SHA-256 (they are 256-bit random).
CREATE TABLE users (
    id            text PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    name          text NOT NULL DEFAULT '',
    role          text NOT NULL,
    stores        text NOT NULL DEFAULT '[]',
    password_hash text NOT NULL,
    totp_secret   text NOT NULL DEFAULT '',
    disabled      boolean NOT NULL DEFAULT false,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    role       text NOT NULL,
    stores     text NOT NULL DEFAULT '[]',
    hash       text NOT NULL UNIQUE,
    prefix     text NOT NULL DEFAULT '',
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz,
    rotated_at timestamptz
);

-- The first-start admin key becomes the owner key "key_admin".
INSERT INTO api_keys (id, name, role, hash, prefix, created_by, created_at)
SELECT CASE WHEN n = 1 THEN 'key_admin' ELSE 'key_admin_' || n END,
       CASE WHEN n = 1 THEN 'first-start admin key' ELSE 'admin key' END,
       'owner', hash, 'pk_admin_', 'serve', created_at
FROM (SELECT hash, created_at, row_number() OVER (ORDER BY created_at, hash) AS n FROM admin_keys) k;
DROP TABLE admin_keys;

CREATE TABLE sessions (
    id         text PRIMARY KEY,
    user_id    text NOT NULL,
    csrf       text NOT NULL,
    ip         text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    resource    text NOT NULL,
    resource_id text NOT NULL DEFAULT '',
    status      integer NOT NULL DEFAULT 0,
    ip          text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT '',
    before      text,
    after       text
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_resource ON audit_log (resource, resource_id, id);
