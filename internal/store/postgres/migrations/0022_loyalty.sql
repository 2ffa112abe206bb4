-- Loyalty (issue 23): the programme (kind: loyalty), the members'
-- accounts and the points ledger.

-- Every version of the programme; the highest is in force.
CREATE TABLE loyalty_programmes (
    version    integer PRIMARY KEY,
    id         text NOT NULL,
    definition jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);

-- One row per member, locked (FOR UPDATE) by every write to the member's
-- ledger: two tills redeeming at once wait on it, one after the other.
-- balance is the sum of the remaining points of the member's lots; the
-- CHECK is the last line behind the rules.
CREATE TABLE loyalty_accounts (
    profile_id  bigint PRIMARY KEY,
    balance     bigint NOT NULL CHECK (balance >= 0),
    earned      bigint NOT NULL DEFAULT 0,
    spent       bigint NOT NULL DEFAULT 0,
    tier        text NOT NULL DEFAULT '',
    tier_floor  text NOT NULL DEFAULT '',
    floor_until timestamptz,
    joined_at   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- The ledger. cause is unique: an order, a return, a till's idempotency
-- key makes one entry, whatever replays it. A credit is a lot: remaining
-- are its points not yet spent, lapsing at expires_at (NULL: never).
CREATE TABLE loyalty_entries (
    id          bigserial PRIMARY KEY,
    profile_id  bigint NOT NULL,
    kind        text NOT NULL,
    points      bigint NOT NULL,
    cause       text NOT NULL UNIQUE,
    fingerprint text NOT NULL DEFAULT '',
    order_id    text NOT NULL DEFAULT '',
    reward      text NOT NULL DEFAULT '',
    channel     text NOT NULL DEFAULT '',
    store_id    text NOT NULL DEFAULT '',
    note        text NOT NULL DEFAULT '',
    balance     bigint NOT NULL,
    at          timestamptz NOT NULL,
    expires_at  timestamptz,
    remaining   bigint NOT NULL DEFAULT 0 CHECK (remaining >= 0),
    detail      text NOT NULL DEFAULT ''
);
CREATE INDEX loyalty_entries_profile ON loyalty_entries (profile_id, id);
CREATE INDEX loyalty_entries_open ON loyalty_entries (profile_id, expires_at) WHERE remaining > 0;
CREATE INDEX loyalty_entries_due ON loyalty_entries (expires_at, id) WHERE remaining > 0 AND expires_at IS NOT NULL;
CREATE INDEX loyalty_entries_qualifying ON loyalty_entries (profile_id, at) WHERE kind IN ('earn', 'bonus', 'reverse');
CREATE INDEX loyalty_entries_order ON loyalty_entries (order_id, profile_id) WHERE order_id <> '';
CREATE INDEX loyalty_entries_at ON loyalty_entries (at);
