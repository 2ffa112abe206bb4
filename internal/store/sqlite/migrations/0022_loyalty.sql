-- Loyalty (issue 23): the programme (kind: loyalty), the members'
-- accounts and the points ledger.

-- Every version of the programme; the highest is in force.
CREATE TABLE loyalty_programmes (
    version    INTEGER PRIMARY KEY,
    id         TEXT NOT NULL,
    definition TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- One row per member. balance is the sum of the remaining points of the
-- member's lots; the CHECK is the last line behind the rules: no write
-- can leave a balance negative.
CREATE TABLE loyalty_accounts (
    profile_id  INTEGER PRIMARY KEY,
    balance     INTEGER NOT NULL CHECK (balance >= 0),
    earned      INTEGER NOT NULL DEFAULT 0,
    spent       INTEGER NOT NULL DEFAULT 0,
    tier        TEXT NOT NULL DEFAULT '',
    tier_floor  TEXT NOT NULL DEFAULT '',
    floor_until INTEGER NOT NULL DEFAULT 0,
    joined_at   INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- The ledger. cause is unique: an order, a return, a till's idempotency
-- key makes one entry, whatever replays it. A credit is a lot: remaining
-- are its points not yet spent, lapsing at expires_at (0: never).
CREATE TABLE loyalty_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    profile_id  INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    points      INTEGER NOT NULL,
    cause       TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL DEFAULT '',
    order_id    TEXT NOT NULL DEFAULT '',
    reward      TEXT NOT NULL DEFAULT '',
    channel     TEXT NOT NULL DEFAULT '',
    store_id    TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    balance     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL DEFAULT 0,
    remaining   INTEGER NOT NULL DEFAULT 0 CHECK (remaining >= 0),
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX loyalty_entries_profile ON loyalty_entries (profile_id, id);
-- A member's open lots, and the sweep's due lots.
CREATE INDEX loyalty_entries_open ON loyalty_entries (profile_id, expires_at) WHERE remaining > 0;
CREATE INDEX loyalty_entries_due ON loyalty_entries (expires_at, id) WHERE remaining > 0 AND expires_at > 0;
-- What counts for tiers, without the redemptions of a busy member.
CREATE INDEX loyalty_entries_qualifying ON loyalty_entries (profile_id, at) WHERE kind IN ('earn', 'bonus', 'reverse');
CREATE INDEX loyalty_entries_order ON loyalty_entries (order_id, profile_id) WHERE order_id <> '';
CREATE INDEX loyalty_entries_at ON loyalty_entries (at);
