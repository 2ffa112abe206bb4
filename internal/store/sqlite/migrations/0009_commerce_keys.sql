-- Idempotency keys of commerce's creating requests (reservations, orders,
-- returns): each is written in the transaction that creates what it names,
-- so that a retry after a lost answer (a crash after the commit) finds it
-- instead of creating a second one. A key is unique within its scope.
CREATE TABLE commerce_keys (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;

-- The fingerprint of the request that applied an adjustment: its key sent
-- again with other deltas is refused instead of silently ignored. NULL for
-- adjustments applied before, and for till sales.
ALTER TABLE stock_adjustments ADD COLUMN fingerprint TEXT;
