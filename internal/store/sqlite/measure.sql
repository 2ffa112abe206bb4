-- Measure: the rollups the measure stage writes and the reports read.

-- name: measure-zone
SELECT value FROM measure_meta WHERE key = 'zone';

-- name: measure-set-zone
INSERT INTO measure_meta (key, value) VALUES ('zone', ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: measure-reset-cells
DELETE FROM measure_cells;

-- name: measure-reset-sets
DELETE FROM measure_sets;

-- name: measure-reset-orders
DELETE FROM measure_orders;

-- name: measure-reset-touches
DELETE FROM measure_touches;

-- name: measure-reset-profiles
DELETE FROM measure_profiles;

-- name: measure-delete-checkpoint
DELETE FROM checkpoints WHERE consumer = ?;

-- name: measure-checkpoint
SELECT seq FROM checkpoints WHERE consumer = ?;

-- name: measure-save-checkpoint
INSERT INTO checkpoints (consumer, seq, updated_at) VALUES (?, ?, ?)
ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at;

-- name: measure-add-cell
INSERT INTO measure_cells (metric, dim, day, value, n) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (metric, dim, day, value) DO UPDATE SET n = n + excluded.n;

-- name: measure-put-set
INSERT INTO measure_sets (name, dim, day, value, bits, version) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (name, dim, day, value) DO UPDATE SET bits = excluded.bits, version = excluded.version;

-- name: measure-delete-set
DELETE FROM measure_sets WHERE name = ? AND dim = ? AND day = ? AND value = ?;

-- name: measure-put-order
INSERT INTO measure_orders (order_id, profile_id, at, key, channel, source_id, store_id, fulfillment, cents, full_refund_at, cancelled)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (order_id) DO UPDATE SET profile_id = excluded.profile_id, at = excluded.at, key = excluded.key,
    channel = excluded.channel, source_id = excluded.source_id, store_id = excluded.store_id,
    fulfillment = excluded.fulfillment, cents = excluded.cents, full_refund_at = excluded.full_refund_at,
    cancelled = excluded.cancelled;

-- name: measure-put-touch
INSERT INTO measure_touches (profile_id, kind, channel, campaign, day, at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (profile_id, kind, channel, campaign, day) DO UPDATE SET at = MIN(at, excluded.at);

-- name: measure-put-profile
INSERT INTO measure_profiles (profile_id, first_seen, acquisition, min_day, last_day, first_order, order_channel, order_store)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (profile_id) DO UPDATE SET first_seen = excluded.first_seen, acquisition = excluded.acquisition,
    min_day = excluded.min_day, last_day = excluded.last_day, first_order = excluded.first_order, order_channel = excluded.order_channel,
    order_store = excluded.order_store;

-- name: measure-merge-orders
UPDATE measure_orders SET profile_id = ?1 WHERE profile_id = ?2;

-- name: measure-merge-touches
-- The merged profile's touches join the surviving profile's, keeping the
-- earliest time of each.
INSERT INTO measure_touches (profile_id, kind, channel, campaign, day, at)
SELECT ?1, kind, channel, campaign, day, at FROM measure_touches WHERE profile_id = ?2 AND true
ON CONFLICT (profile_id, kind, channel, campaign, day) DO UPDATE SET at = MIN(at, excluded.at);

-- name: measure-delete-touches
DELETE FROM measure_touches WHERE profile_id = ?;

-- name: measure-delete-profile
DELETE FROM measure_profiles WHERE profile_id = ?;

-- name: measure-profiles
SELECT profile_id, first_seen, acquisition, min_day, last_day, first_order, order_channel, order_store
FROM measure_profiles WHERE profile_id > ? ORDER BY profile_id LIMIT ?;

-- name: measure-orders-profile
SELECT order_id, profile_id, at, key, channel, source_id, store_id, fulfillment, cents, full_refund_at, cancelled
FROM measure_orders WHERE profile_id = ?;

-- name: measure-order
SELECT order_id, profile_id, at, key, channel, source_id, store_id, fulfillment, cents, full_refund_at, cancelled
FROM measure_orders WHERE order_id = ?;

-- name: measure-scan-orders
SELECT order_id, profile_id, at, key, channel, source_id, store_id, fulfillment, cents, full_refund_at, cancelled
FROM measure_orders WHERE at >= ? AND at < ? AND cancelled = 0 ORDER BY at, order_id;

-- name: measure-scan-touches
SELECT profile_id, kind, channel, campaign, day, at FROM measure_touches
WHERE at >= ? AND at < ? ORDER BY profile_id, at;

-- name: measure-put-cost
INSERT INTO measure_costs (day, channel, campaign, cents, currency) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (day, channel, campaign) DO UPDATE SET cents = excluded.cents, currency = excluded.currency;

-- name: measure-costs
SELECT day, channel, campaign, cents, currency FROM measure_costs WHERE day >= ? AND day <= ?
ORDER BY day, channel, campaign;

-- name: measure-definition-version
SELECT version, definition FROM measure_definitions WHERE id = ?;

-- name: measure-put-definition
INSERT INTO measure_definitions (id, kind, version, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, version = excluded.version, definition = excluded.definition,
    updated_at = excluded.updated_at;

-- name: measure-definition
SELECT id, kind, version, definition, created_at, updated_at FROM measure_definitions WHERE id = ?;

-- name: measure-definitions
SELECT id, kind, version, definition, created_at, updated_at FROM measure_definitions ORDER BY id;

-- name: measure-delete-definition
DELETE FROM measure_definitions WHERE id = ?;

-- name: measure-journey-arms
-- Every enrolment of a journey: its entry (control group or not), the
-- split variants it took (one row per split), whether it converted.
SELECT e.id, e.version, e.profile_id, e.entered_at, e.status = 'control',
    COALESCE(s.step, ''), COALESCE(s.outcome, ''),
    EXISTS (SELECT 1 FROM journey_log g WHERE g.enrolment_id = e.id AND g.kind = 'goal')
FROM journey_enrolments e
LEFT JOIN journey_log s ON s.enrolment_id = e.id AND s.kind = 'split'
WHERE e.journey_id = ?
ORDER BY e.id, s.step;
