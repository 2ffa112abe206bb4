-- Tasks for store staff (a journey's task step), idempotent by their key,
-- and the timers of the journeys' date_trait triggers. The same tables as
-- the SQLite engine, in PostgreSQL types.

CREATE TABLE tasks (
    id         bigserial PRIMARY KEY,
    key        text NOT NULL UNIQUE,
    store_id   text NOT NULL,
    profile_id bigint NOT NULL,
    journey_id text NOT NULL DEFAULT '',
    title      text NOT NULL,
    note       text NOT NULL DEFAULT '',
    status     text NOT NULL,
    detail     text,
    created_at timestamptz NOT NULL,
    done_at    timestamptz
);
CREATE INDEX tasks_store ON tasks (store_id, status, id);

CREATE TABLE journey_date_timers (
    journey_id text NOT NULL,
    trigger    integer NOT NULL,
    profile_id bigint NOT NULL,
    due_at     timestamptz NOT NULL,
    occurrence text NOT NULL,
    PRIMARY KEY (journey_id, trigger, profile_id)
);
CREATE INDEX journey_date_timers_due ON journey_date_timers (due_at);
