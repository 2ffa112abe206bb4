-- Segments: definitions, and what the segment stage derives from the event
-- log (rebuilt by `parcours replay`).

CREATE TABLE segments (
    id         TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    definition TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Per-profile state: behaviour facts, sources, device, memberships (JSON).
CREATE TABLE segment_states (
    profile_id INTEGER PRIMARY KEY,
    state      BLOB NOT NULL
);

CREATE TABLE segment_members (
    segment_id TEXT NOT NULL,
    profile_id INTEGER NOT NULL,
    since      INTEGER NOT NULL,
    PRIMARY KEY (segment_id, profile_id)
) WITHOUT ROWID;

-- Membership history, append-only.
CREATE TABLE segment_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    segment_id TEXT NOT NULL,
    profile_id INTEGER NOT NULL,
    entered    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    reason     TEXT NOT NULL
);
CREATE INDEX segment_history_segment ON segment_history (segment_id, id);
CREATE INDEX segment_history_profile ON segment_history (profile_id, id);

-- One timer per profile: the next instant its memberships can change with
-- time alone. Due timers are read by due_at, never by scanning profiles.
CREATE TABLE segment_timers (
    profile_id INTEGER PRIMARY KEY,
    due_at     INTEGER NOT NULL
);
CREATE INDEX segment_timers_due ON segment_timers (due_at);

-- Sizes at the end of each day (the last batch of the day wins).
CREATE TABLE segment_counts (
    segment_id TEXT NOT NULL,
    day        INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    PRIMARY KEY (segment_id, day)
) WITHOUT ROWID;
