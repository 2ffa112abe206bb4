-- Idempotency keys of the management API's creating requests that no
-- domain keys by itself (sources, enrolments, consent changes): claimed
-- before the request creates anything (status 0), then holding its answer,
-- so that a retry with the same key gets the first answer back, after a
-- restart too. A key is unique within its scope.
CREATE TABLE request_keys (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL DEFAULT 0,
    response    BLOB,
    resource_id TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
