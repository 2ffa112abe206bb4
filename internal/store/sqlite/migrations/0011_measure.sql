-- Measure: what the measure stage derives from the event log (rollups per
-- day in the brand's time zone, orders by order id, touchpoints, facts per
-- profile), the campaign costs imported, and saved report definitions.
-- Days are local dates counted from 1970-01-01; times are microseconds.

CREATE TABLE measure_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Additive counters: n is the sum of a metric on a day for one value of a
-- dimension (dim '' and value '' for the total).
CREATE TABLE measure_cells (
    metric TEXT NOT NULL,
    dim    TEXT NOT NULL,
    day    INTEGER NOT NULL,
    value  TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (metric, dim, day, value)
) WITHOUT ROWID;

-- The profiles behind distinct counts (visitors, buyers, new customers,
-- reached), per day and dimension value, as roaring bitmaps. version is
-- the checkpoint of the flush that wrote the row.
CREATE TABLE measure_sets (
    name    TEXT NOT NULL,
    dim     TEXT NOT NULL,
    day     INTEGER NOT NULL,
    value   TEXT NOT NULL,
    bits    BLOB NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (name, dim, day, value)
) WITHOUT ROWID;

-- One row per order id. at is 0 until an Order Completed is seen.
CREATE TABLE measure_orders (
    order_id       TEXT PRIMARY KEY,
    profile_id     INTEGER NOT NULL,
    at             INTEGER NOT NULL,
    key            TEXT NOT NULL,
    channel        TEXT NOT NULL,
    source_id      TEXT NOT NULL,
    store_id       TEXT NOT NULL,
    fulfillment    TEXT NOT NULL,
    cents          INTEGER NOT NULL,
    full_refund_at INTEGER NOT NULL,
    cancelled      INTEGER NOT NULL
);
CREATE INDEX measure_orders_at ON measure_orders (at);
CREATE INDEX measure_orders_profile ON measure_orders (profile_id);

-- Touchpoints for attribution, one per profile, kind, channel, campaign
-- and day, at the earliest time.
CREATE TABLE measure_touches (
    profile_id INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    campaign   TEXT NOT NULL,
    day        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (profile_id, kind, channel, campaign, day)
) WITHOUT ROWID;
CREATE INDEX measure_touches_at ON measure_touches (at);

CREATE TABLE measure_profiles (
    profile_id    INTEGER PRIMARY KEY,
    first_seen    INTEGER NOT NULL,
    acquisition   TEXT NOT NULL,
    min_day       INTEGER NOT NULL,
    last_day      INTEGER NOT NULL,
    first_order   INTEGER NOT NULL,
    order_channel TEXT NOT NULL,
    order_store   TEXT NOT NULL
);

-- Campaign spend (parcours measure costs import), for acquisition cost.
CREATE TABLE measure_costs (
    day      INTEGER NOT NULL,
    channel  TEXT NOT NULL,
    campaign TEXT NOT NULL,
    cents    INTEGER NOT NULL,
    currency TEXT NOT NULL,
    PRIMARY KEY (day, channel, campaign)
) WITHOUT ROWID;

-- Saved reports (kind: funnel, kpis, cohorts, attribution), applied with
-- parcours apply like segments and journeys.
CREATE TABLE measure_definitions (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
