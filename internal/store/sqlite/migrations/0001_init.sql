-- The spine: sources, the event log, dedup keys, rejections, consumer
-- checkpoints and admin keys. Times are INTEGER unix microseconds (UTC).

CREATE TABLE sources (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    channel     TEXT NOT NULL,
    write_key   TEXT NOT NULL UNIQUE,
    store_id    TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    disabled_at INTEGER
);

-- AUTOINCREMENT so that a sequence number is never reused, even if the
-- newest events are ever deleted.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id    TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    type         TEXT NOT NULL,
    event        TEXT NOT NULL DEFAULT '',
    user_id      TEXT,
    anonymous_id TEXT,
    ts           INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    body         BLOB NOT NULL
);
CREATE INDEX events_user_id ON events (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX events_anonymous_id ON events (anonymous_id) WHERE anonymous_id IS NOT NULL;

-- The keys duplicates are recognised by, kept for the dedup window.
CREATE TABLE dedup_keys (
    source_id   TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (source_id, message_id)
) WITHOUT ROWID;
CREATE INDEX dedup_keys_received_at ON dedup_keys (received_at);

CREATE TABLE rejections (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id   TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    message_id  TEXT NOT NULL DEFAULT '',
    idx         INTEGER NOT NULL,
    action      TEXT NOT NULL,
    code        TEXT NOT NULL,
    field       TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL,
    payload     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE checkpoints (
    consumer   TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE admin_keys (
    hash       TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
