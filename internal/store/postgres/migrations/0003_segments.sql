-- Segments: definitions, and what the segment stage derives from the event
-- log. The same tables as the SQLite engine, in PostgreSQL types.

CREATE TABLE segments (
    id         text PRIMARY KEY,
    version    integer NOT NULL,
    definition text NOT NULL,
    status     text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Per-profile state (JSON, read and written whole): bytea, as profiles.
CREATE TABLE segment_states (
    profile_id bigint PRIMARY KEY,
    state      bytea NOT NULL
);

CREATE TABLE segment_members (
    segment_id text NOT NULL,
    profile_id bigint NOT NULL,
    since      timestamptz NOT NULL,
    PRIMARY KEY (segment_id, profile_id)
);

CREATE TABLE segment_history (
    id         bigserial PRIMARY KEY,
    segment_id text NOT NULL,
    profile_id bigint NOT NULL,
    entered    boolean NOT NULL,
    at         timestamptz NOT NULL,
    reason     text NOT NULL
);
CREATE INDEX segment_history_segment ON segment_history (segment_id, id);
CREATE INDEX segment_history_profile ON segment_history (profile_id, id);

CREATE TABLE segment_timers (
    profile_id bigint PRIMARY KEY,
    due_at     timestamptz NOT NULL
);
CREATE INDEX segment_timers_due ON segment_timers (due_at);

CREATE TABLE segment_counts (
    segment_id text NOT NULL,
    day        timestamptz NOT NULL,
    size       bigint NOT NULL,
    PRIMARY KEY (segment_id, day)
);
