-- Tasks for store staff (a journey's task step), idempotent by their key,
-- and the timers of the journeys' date_trait triggers.

CREATE TABLE tasks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT NOT NULL UNIQUE,
    store_id   TEXT NOT NULL,
    profile_id INTEGER NOT NULL,
    journey_id TEXT NOT NULL DEFAULT '',
    title      TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL,
    detail     TEXT,
    created_at INTEGER NOT NULL,
    done_at    INTEGER
);
CREATE INDEX tasks_store ON tasks (store_id, status, id);

-- One row per (journey, trigger, profile): when the customer enters next
-- (microseconds) and for which occurrence of the date.
CREATE TABLE journey_date_timers (
    journey_id TEXT NOT NULL,
    trigger    INTEGER NOT NULL,
    profile_id INTEGER NOT NULL,
    due_at     INTEGER NOT NULL,
    occurrence TEXT NOT NULL,
    PRIMARY KEY (journey_id, trigger, profile_id)
) WITHOUT ROWID;
CREATE INDEX journey_date_timers_due ON journey_date_timers (due_at);
