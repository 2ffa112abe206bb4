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

-- The event log. seq is assigned by the store (one writer: MAX(seq) + 1),
-- so that the dedup row can be written before the event. There is no
-- secondary index: every index costs a random b-tree insert per event on
-- the ingest path. Lookups by identifier use event_identifiers, which a
-- background indexer maintains.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,
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

-- Dedup keys for the dedup window: h is the 64-bit FNV-1a hash of
-- (source_id, message_id), so an entry is two integers instead of the key's
-- text, and the table stays small enough that the random inserts of
-- client-chosen ids dirty few pages. A hash match is checked against the
-- event it points to.
CREATE TABLE dedup (
    h   INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL
);

-- The keys whose hash was already held by another key (about one in 10^12
-- pairs): deduplicated by their text.
CREATE TABLE dedup_collisions (
    source_id  TEXT NOT NULL,
    message_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (source_id, message_id)
) WITHOUT ROWID;

-- Events by identifier (user id or anonymous id, hashed), maintained in the
-- background up to the checkpoint 'sqlite:event_identifiers'.
CREATE TABLE event_identifiers (
    h   INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (h, seq)
) WITHOUT ROWID;

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
