-- Unify: the identity graph, profiles and their timelines, all derived from
-- the event log and rebuilt by `parcours replay`.

-- A profile's whole state (identifiers, traits with provenance, computed
-- trait aggregates) is one JSON document: it is read and written whole by
-- the unify stage, a batch at a time. A merged profile keeps its row, with
-- merged_into set and no state, so that its id still leads somewhere.
CREATE TABLE profiles (
    id          INTEGER PRIMARY KEY,
    merged_into INTEGER,
    state       BLOB,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE identifiers (
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    profile_id INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE INDEX identifiers_profile ON identifiers (profile_id);

-- The timeline: a profile's events by event time.
CREATE TABLE profile_events (
    profile_id INTEGER NOT NULL,
    ts         INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (profile_id, ts, seq)
) WITHOUT ROWID;

-- The append-only merge log.
CREATE TABLE merges (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    event_seq   INTEGER NOT NULL,
    profile_id  INTEGER NOT NULL,
    merged_id   INTEGER NOT NULL,
    identifiers TEXT NOT NULL,
    undone_at   INTEGER
);
CREATE INDEX merges_profile ON merges (profile_id);
CREATE INDEX merges_merged ON merges (merged_id);

-- Identifiers left unlinked, and why.
CREATE TABLE identity_refusals (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    event_seq  INTEGER NOT NULL,
    profile_id INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    holder     INTEGER NOT NULL DEFAULT 0,
    reason     TEXT NOT NULL
);
CREATE INDEX identity_refusals_profile ON identity_refusals (profile_id);

-- Links an unmerge removed: the event must not link the identifier again.
CREATE TABLE identity_exclusions (
    event_seq INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (event_seq, kind, value)
) WITHOUT ROWID;

-- The last RFM scoring.
CREATE TABLE rfm_scores (
    profile_id INTEGER PRIMARY KEY,
    r          INTEGER NOT NULL,
    f          INTEGER NOT NULL,
    m          INTEGER NOT NULL,
    score      TEXT NOT NULL
);
CREATE TABLE rfm_runs (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
);
