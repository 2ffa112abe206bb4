-- Unify: the identity graph, profiles and their timelines, all derived from
-- the event log and rebuilt by `parcours replay`. The same tables and
-- columns as the SQLite engine, in PostgreSQL types.

-- A profile's whole state (identifiers, traits with provenance, computed
-- trait aggregates) is one JSON document, read and written whole by the
-- unify stage, a batch at a time, and never queried inside. It is bytea,
-- not jsonb: it comes back byte for byte, as in SQLite (jsonb would
-- re-space and reorder the trait values, which profile compares as
-- strings), and writes do not pay for parsing. A merged profile keeps its
-- row, with merged_into set and no state, so that its id still leads
-- somewhere.
CREATE TABLE profiles (
    id          bigint PRIMARY KEY,
    merged_into bigint,
    state       bytea,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE identifiers (
    kind       text NOT NULL,
    value      text NOT NULL,
    profile_id bigint NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX identifiers_profile ON identifiers (profile_id);

-- The timeline: a profile's events by event time.
CREATE TABLE profile_events (
    profile_id bigint NOT NULL,
    ts         timestamptz NOT NULL,
    seq        bigint NOT NULL,
    PRIMARY KEY (profile_id, ts, seq)
);

-- The append-only merge log.
CREATE TABLE merges (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    event_seq   bigint NOT NULL,
    profile_id  bigint NOT NULL,
    merged_id   bigint NOT NULL,
    identifiers jsonb NOT NULL,
    undone_at   timestamptz
);
CREATE INDEX merges_profile ON merges (profile_id);
CREATE INDEX merges_merged ON merges (merged_id);

-- Identifiers left unlinked, and why.
CREATE TABLE identity_refusals (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    event_seq  bigint NOT NULL,
    profile_id bigint NOT NULL,
    kind       text NOT NULL,
    value      text NOT NULL,
    holder     bigint NOT NULL DEFAULT 0,
    reason     text NOT NULL
);
CREATE INDEX identity_refusals_profile ON identity_refusals (profile_id);

-- Links an unmerge removed: the event must not link the identifier again.
CREATE TABLE identity_exclusions (
    event_seq bigint NOT NULL,
    kind      text NOT NULL,
    value     text NOT NULL,
    PRIMARY KEY (event_seq, kind, value)
);

-- The last RFM scoring.
CREATE TABLE rfm_scores (
    profile_id bigint PRIMARY KEY,
    r          integer NOT NULL,
    f          integer NOT NULL,
    m          integer NOT NULL,
    score      text NOT NULL
);
CREATE TABLE rfm_runs (
    id integer PRIMARY KEY CHECK (id = 1),
    at timestamptz NOT NULL
);
