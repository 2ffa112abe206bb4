-- Journeys: definitions with every version kept (customers finish on the
-- version they entered), and enrolments with their durable timers. The
-- same tables as the SQLite engine, in PostgreSQL types.

CREATE TABLE journeys (
    id         text PRIMARY KEY,
    version    integer NOT NULL,
    definition text NOT NULL,
    status     text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE journey_versions (
    journey_id text NOT NULL,
    version    integer NOT NULL,
    definition text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (journey_id, version)
);

CREATE TABLE journey_enrolments (
    id          bigserial PRIMARY KEY,
    journey_id  text NOT NULL,
    version     integer NOT NULL,
    profile_id  bigint NOT NULL,
    status      text NOT NULL,
    step        text NOT NULL,
    state       bytea,
    due_at      timestamptz,
    lease_owner text NOT NULL DEFAULT '',
    lease_until timestamptz NOT NULL DEFAULT '-infinity',
    entered_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    reason      text NOT NULL DEFAULT ''
);
CREATE INDEX journey_enrolments_due ON journey_enrolments (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX journey_enrolments_profile ON journey_enrolments (profile_id);
CREATE INDEX journey_enrolments_journey ON journey_enrolments (journey_id, status);

-- The step log, append-only: what happened to each enrolment, for the
-- analytics (GET /api/v1/journeys/{id}/stats).
CREATE TABLE journey_log (
    id           bigserial PRIMARY KEY,
    journey_id   text NOT NULL,
    version      integer NOT NULL,
    enrolment_id bigint NOT NULL,
    profile_id   bigint NOT NULL,
    step         text NOT NULL,
    kind         text NOT NULL,
    outcome      text NOT NULL,
    channel      text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL
);
CREATE INDEX journey_log_journey ON journey_log (journey_id, kind);
CREATE INDEX journey_log_enrolment ON journey_log (enrolment_id);
