-- Idempotency keys of the management API's creating requests that no
-- domain keys by itself (sources, enrolments, consent changes): claimed
-- before the request creates anything (status 0), then holding its answer,
-- so that a retry with the same key gets the first answer back, after a
-- restart too. A key is unique within its scope.
CREATE TABLE request_keys (
    scope       text NOT NULL,
    key         text NOT NULL,
    fingerprint text NOT NULL,
    status      integer NOT NULL DEFAULT 0,
    response    bytea,
    resource_id text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
