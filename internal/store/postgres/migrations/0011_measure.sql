-- Measure: what the measure stage derives from the event log (rollups per
-- day in the brand's time zone, orders by order id, touchpoints, facts per
-- profile), the campaign costs imported, and saved report definitions. The
-- same tables as the SQLite engine, in PostgreSQL types. Days are local
-- dates counted from 1970-01-01.

CREATE TABLE measure_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE measure_cells (
    metric text NOT NULL,
    dim    text NOT NULL,
    day    integer NOT NULL,
    value  text NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (metric, dim, day, value)
);

CREATE TABLE measure_sets (
    name    text NOT NULL,
    dim     text NOT NULL,
    day     integer NOT NULL,
    value   text NOT NULL,
    bits    bytea NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (name, dim, day, value)
);

CREATE TABLE measure_orders (
    order_id       text PRIMARY KEY,
    profile_id     bigint NOT NULL,
    at             timestamptz,
    key            text NOT NULL,
    channel        text NOT NULL,
    source_id      text NOT NULL,
    store_id       text NOT NULL,
    fulfillment    text NOT NULL,
    cents          bigint NOT NULL,
    full_refund_at timestamptz,
    cancelled      boolean NOT NULL
);
CREATE INDEX measure_orders_at ON measure_orders (at);
CREATE INDEX measure_orders_profile ON measure_orders (profile_id);

CREATE TABLE measure_touches (
    profile_id bigint NOT NULL,
    kind       text NOT NULL,
    channel    text NOT NULL,
    campaign   text NOT NULL,
    day        integer NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (profile_id, kind, channel, campaign, day)
);
CREATE INDEX measure_touches_at ON measure_touches (at);

CREATE TABLE measure_profiles (
    profile_id    bigint PRIMARY KEY,
    first_seen    timestamptz,
    acquisition   text NOT NULL,
    min_day       integer NOT NULL,
    last_day      integer NOT NULL,
    first_order   timestamptz,
    order_channel text NOT NULL,
    order_store   text NOT NULL
);

CREATE TABLE measure_costs (
    day      integer NOT NULL,
    channel  text NOT NULL,
    campaign text NOT NULL,
    cents    bigint NOT NULL,
    currency text NOT NULL,
    PRIMARY KEY (day, channel, campaign)
);

CREATE TABLE measure_definitions (
    id         text PRIMARY KEY,
    kind       text NOT NULL,
    version    integer NOT NULL,
    definition jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
