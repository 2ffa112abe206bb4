-- Privacy: erasures and the identifiers they suppress (issue 19.6).

-- One row per erasure: when, and how many rows of each table it changed.
-- It names nobody: the erased profile's id is not kept.
CREATE TABLE erasures (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     timestamptz NOT NULL,
    reason text NOT NULL DEFAULT '',
    counts jsonb NOT NULL
);

-- The identifiers (email, phone, user id, ...) of erased people, as the
-- SHA-256 of "kind:value", never in clear: a late event carrying one of
-- them does not create a profile again unless it brings new consent.
CREATE TABLE erased_identifiers (
    hash       text PRIMARY KEY,
    erasure_id bigint NOT NULL,
    at         timestamptz NOT NULL
);
