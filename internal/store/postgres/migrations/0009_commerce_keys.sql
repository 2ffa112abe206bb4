-- Idempotency keys of commerce's creating requests (reservations, orders,
-- returns): each is written in the transaction that creates what it names,
-- so that a retry after a lost answer (a crash after the commit) finds it
-- instead of creating a second one. A key is unique within its scope.
CREATE TABLE commerce_keys (
    scope       text NOT NULL,
    key         text NOT NULL,
    fingerprint text NOT NULL,
    resource_id text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

-- The fingerprint of the request that applied an adjustment: its key sent
-- again with other deltas is refused instead of silently ignored. NULL for
-- adjustments applied before, and for till sales.
ALTER TABLE stock_adjustments ADD COLUMN fingerprint text;
