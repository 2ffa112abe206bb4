-- Outbox leases name the node that holds them, and record when the
-- provider call began, so that a restarted node takes its own leases back
-- at once (instead of waiting for them to expire) and knows which of them
-- may have reached the provider (called_at set) and which never did.
-- (Numbered 0010: 0009 is left to the reservation idempotency keys being
-- written at the same time.)

ALTER TABLE outbox ADD COLUMN lease_node text NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN called_at timestamptz;
CREATE INDEX outbox_lease_node ON outbox (lease_node) WHERE status = 'sending';
