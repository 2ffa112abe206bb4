-- Measure: the rollups the measure stage writes and the reports read.

-- name: measure-zone
SELECT value FROM measure_meta WHERE key = 'zone';

-- name: measure-set-zone
INSERT INTO measure_meta (key, value) VALUES ('zone', $1)
ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: measure-reset
-- Truncation takes a lock per table and frees their pages at once.
TRUNCATE measure_cells, measure_sets, measure_orders, measure_touches, measure_profiles;

-- name: measure-delete-checkpoint
DELETE FROM checkpoints WHERE consumer = $1;

-- name: measure-checkpoint
SELECT seq FROM checkpoints WHERE consumer = $1;

-- name: measure-lock
-- Held until the flush commits: two processes cannot both add a flush's
-- counters (the second finds the checkpoint moved).
SELECT pg_advisory_xact_lock($1);

-- name: measure-save-checkpoint
INSERT INTO checkpoints (consumer, seq, updated_at) VALUES ($1, $2, now())
ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at;

-- name: measure-add-cell
INSERT INTO measure_cells (metric, dim, day, value, n) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (metric, dim, day, value) DO UPDATE SET n = measure_cells.n + excluded.n;

-- name: measure-put-set
INSERT INTO measure_sets (name, dim, day, value, bits, version) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (name, dim, day, value) DO UPDATE SET bits = excluded.bits, version = excluded.version;

-- name: measure-delete-set
DELETE FROM measure_sets WHERE name = $1 AND dim = $2 AND day = $3 AND value = $4;

-- name: measure-put-order
INSERT INTO measure_orders (order_id, profile_id, at, key, channel, source_id, store_id, fulfillment, cents, full_refund_at, cancelled)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (order_id) DO UPDATE SET profile_id = excluded.profile_id, at = excluded.at, key = excluded.key,
    channel = excluded.channel, source_id = excluded.source_id, store_id = excluded.store_id,
    fulfillment = excluded.fulfillment, cents = excluded.cents, full_refund_at = excluded.full_refund_at,
    cancelled = excluded.cancelled;

-- name: measure-put-touch
INSERT INTO measure_touches (profile_id, kind, channel, campaign, day, at) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (profile_id, kind, channel, campaign, day) DO UPDATE SET at = LEAST(measure_touches.at, excluded.at);

-- name: measure-put-profile
INSERT INTO measure_profiles (profile_id, first_seen, acquisition, min_day, last_day, first_order, order_channel, order_store)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (profile_id) DO UPDATE SET first_seen = excluded.first_seen, acquisition = excluded.acquisition,
    min_day = excluded.min_day, last_day = excluded.last_day, first_order = excluded.first_order, order_channel = excluded.order_channel,
    order_store = excluded.order_store;

-- name: measure-merge-orders
UPDATE measure_orders SET profile_id = $1 WHERE profile_id = $2;

-- name: measure-merge-touches
-- The merged profile's touches join the surviving profile's, keeping the
-- earliest time of each.
INSERT INTO measure_touches (profile_id, kind, channel, campaign, day, at)
SELECT $1, kind, channel, campaign, day, at FROM measure_touches WHERE profile_id = $2
ON CONFLICT (profile_id, kind, channel, campaign, day) DO UPDATE SET at = LEAST(measure_touches.at, excluded.at);

-- name: measure-delete-touches
DELETE FROM measure_touches WHERE profile_id = $1;

-- name: measure-delete-profile
DELETE FROM measure_profiles WHERE profile_id = $1;

-- name: measure-profiles
SELECT profile_id, first_seen, acquisition, min_day, last_day, first_order, order_channel, order_store
FROM measure_profiles WHERE profile_id > $1 ORDER BY profile_id LIMIT $2;

-- name: measure-orders
SELECT order_id, profile_id, at, key, channel, source_id, store_id, fulfillment, cents, full_refund_at, cancelled
FROM measure_orders WHERE order_id = ANY($1);

-- name: measure-orders-profiles
SELECT order_id, profile_id, at, key, channel, source_id, store_id, fulfillment, cents, full_refund_at, cancelled
FROM measure_orders WHERE profile_id = ANY($1);

-- name: measure-scan-orders
SELECT order_id, profile_id, at, key, channel, source_id, store_id, fulfillment, cents, full_refund_at, cancelled
FROM measure_orders WHERE at >= $1 AND at < $2 AND NOT cancelled ORDER BY at, order_id;

-- name: measure-scan-touches
SELECT profile_id, kind, channel, campaign, day, at FROM measure_touches
WHERE at >= $1 AND at < $2 ORDER BY profile_id, at;

-- name: measure-put-cost
INSERT INTO measure_costs (day, channel, campaign, cents, currency) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (day, channel, campaign) DO UPDATE SET cents = excluded.cents, currency = excluded.currency;

-- name: measure-costs
SELECT day, channel, campaign, cents, currency FROM measure_costs WHERE day >= $1 AND day <= $2
ORDER BY day, channel, campaign;

-- name: measure-definition-version
SELECT version, definition = $2::jsonb FROM measure_definitions WHERE id = $1 FOR UPDATE;

-- name: measure-put-definition
INSERT INTO measure_definitions (id, kind, version, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, version = excluded.version, definition = excluded.definition,
    updated_at = excluded.updated_at
RETURNING id, kind, version, definition, created_at, updated_at;

-- name: measure-definition
SELECT id, kind, version, definition, created_at, updated_at FROM measure_definitions WHERE id = $1;

-- name: measure-definitions
SELECT id, kind, version, definition, created_at, updated_at FROM measure_definitions ORDER BY id;

-- name: measure-delete-definition
DELETE FROM measure_definitions WHERE id = $1;

-- name: measure-journey-arms
-- Every enrolment of a journey: its entry (control group or not), the
-- split variants it took (one row per split), whether it converted.
SELECT e.id, e.version, e.profile_id, e.entered_at, e.status = 'control',
    COALESCE(s.step, ''), COALESCE(s.outcome, ''),
    EXISTS (SELECT 1 FROM journey_log g WHERE g.enrolment_id = e.id AND g.kind = 'goal')
FROM journey_enrolments e
LEFT JOIN journey_log s ON s.enrolment_id = e.id AND s.kind = 'split'
WHERE e.journey_id = $1
ORDER BY e.id, s.step;
