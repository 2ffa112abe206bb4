-- Journeys: definitions with every version kept (customers finish on the
-- version they entered), and enrolments with their durable timers.

CREATE TABLE journeys (
    id         TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    definition TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE journey_versions (
    journey_id TEXT NOT NULL,
    version    INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (journey_id, version)
) WITHOUT ROWID;

-- One row per customer's passage through a journey. due_at (microseconds;
-- NULL: no timer) is indexed: due enrolments are read by it, never by
-- scanning everyone. lease_until (0: none) and lease_owner hand a due
-- enrolment to one worker at a time; a lease that expires (a crash) makes
-- it due again.
CREATE TABLE journey_enrolments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    journey_id  TEXT NOT NULL,
    version     INTEGER NOT NULL,
    profile_id  INTEGER NOT NULL,
    status      TEXT NOT NULL,
    step        TEXT NOT NULL,
    state       BLOB,
    due_at      INTEGER,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0,
    entered_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX journey_enrolments_due ON journey_enrolments (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX journey_enrolments_profile ON journey_enrolments (profile_id);
CREATE INDEX journey_enrolments_journey ON journey_enrolments (journey_id, status);

-- The step log, append-only: what happened to each enrolment, for the
-- analytics (GET /api/v1/journeys/{id}/stats).
CREATE TABLE journey_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    journey_id   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    enrolment_id INTEGER NOT NULL,
    profile_id   INTEGER NOT NULL,
    step         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    channel      TEXT NOT NULL DEFAULT '',
    at           INTEGER NOT NULL
);
CREATE INDEX journey_log_journey ON journey_log (journey_id, kind);
CREATE INDEX journey_log_enrolment ON journey_log (enrolment_id);
