-- Privacy: erasures and the identifiers they suppress (issue 19.6).

-- One row per erasure: when, and how many rows of each table it changed
-- (counts is JSON). It names nobody: the erased profile's id is not kept.
CREATE TABLE erasures (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    counts TEXT NOT NULL
);

-- The identifiers (email, phone, user id, ...) of erased people, as the
-- SHA-256 of "kind:value", never in clear: a late event carrying one of
-- them does not create a profile again unless it brings new consent.
CREATE TABLE erased_identifiers (
    hash       TEXT PRIMARY KEY,
    erasure_id INTEGER NOT NULL,
    at         INTEGER NOT NULL
) WITHOUT ROWID;
