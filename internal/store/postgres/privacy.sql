-- Access requests, erasure and retention (docs/security.md). The arrays
-- :ids (profile ids), :vals (identifier values), :keys (commerce customer
-- keys, kind:value), :texts (the strings searched for inside
-- documents: identifier values and raw emails and phones, 5 characters
-- or more) and :seqs (event sequence numbers) are bound as PostgreSQL
-- arrays (store.BindArrays).

-- name: export-identifiers
SELECT kind, value, profile_id FROM identifiers WHERE profile_id = ANY(:ids::bigint[]) ORDER BY kind, value;
-- name: export-profiles
SELECT id, merged_into, state, updated_at FROM profiles WHERE id = ANY(:ids::bigint[]) ORDER BY id;
-- name: export-events
SELECT seq, body FROM events WHERE seq = ANY(:seqs::bigint[]) ORDER BY seq;
-- name: export-timeline
SELECT profile_id, ts, seq FROM profile_events WHERE profile_id = ANY(:ids::bigint[]) ORDER BY ts, seq;
-- name: export-merges
SELECT * FROM merges WHERE profile_id = ANY(:ids::bigint[]) OR merged_id = ANY(:ids::bigint[]) ORDER BY id;
-- name: export-identity_refusals
SELECT * FROM identity_refusals WHERE profile_id = ANY(:ids::bigint[]) ORDER BY id;
-- name: export-segment_memberships
SELECT * FROM segment_members WHERE profile_id = ANY(:ids::bigint[]) ORDER BY segment_id;
-- name: export-segment_history
SELECT * FROM segment_history WHERE profile_id = ANY(:ids::bigint[]) ORDER BY id;
-- name: export-journey_enrolments
SELECT * FROM journey_enrolments WHERE profile_id = ANY(:ids::bigint[]) ORDER BY id;
-- name: export-journey_log
SELECT * FROM journey_log WHERE profile_id = ANY(:ids::bigint[]) ORDER BY id;
-- name: export-messages
SELECT * FROM outbox WHERE profile_id = ANY(:ids::bigint[]) ORDER BY id;
-- name: export-consent_ledger
SELECT * FROM consent_ledger WHERE profile_id = ANY(:ids::bigint[]) ORDER BY id;
-- name: export-consent_state
SELECT * FROM consent_state WHERE profile_id = ANY(:ids::bigint[]) ORDER BY channel, topic;
-- name: export-suppressions
SELECT * FROM suppressions WHERE address = ANY(:vals::text[]) ORDER BY channel, address;
-- name: export-orders
SELECT * FROM orders WHERE customer = ANY(:keys::text[]) ORDER BY created_at, id;
-- name: export-returns
SELECT * FROM order_returns WHERE order_id IN (SELECT id FROM orders WHERE customer = ANY(:keys::text[])) ORDER BY created_at, id;
-- name: export-carts
SELECT * FROM carts WHERE customer = ANY(:keys::text[]);
-- name: export-reservations
SELECT * FROM reservations WHERE EXISTS (SELECT 1 FROM unnest(:texts::text[]) v WHERE strpos(lower(reservations.customer::text), lower(v)) > 0) ORDER BY created_at, id;
-- name: export-tasks
SELECT * FROM tasks WHERE profile_id = ANY(:ids::bigint[]) ORDER BY id;
-- name: export-survey_sends
SELECT * FROM survey_sends WHERE profile_id = ANY(:ids::bigint[]) ORDER BY sent_at, key;
-- name: export-rfm
SELECT * FROM rfm_scores WHERE profile_id = ANY(:ids::bigint[]);

-- name: erase-event-bodies
SELECT seq, body FROM events WHERE seq = ANY(:seqs::bigint[]);
-- name: erase-event
UPDATE events e SET message_id = 'erased:' || e.seq, user_id = NULL, anonymous_id = NULL, body = b.body::json
  FROM unnest($1::bigint[], $2::text[]) AS b(seq, body) WHERE e.seq = b.seq;
-- name: erase-dedup-keys
DELETE FROM dedup_keys d USING unnest($1::text[], $2::text[]) AS k(source_id, message_id)
  WHERE d.source_id = k.source_id AND d.message_id = k.message_id;
-- name: erase-event-orders
SELECT id, doc FROM orders WHERE customer = ANY(:keys::text[]);
-- name: erase-order
UPDATE orders SET customer = 'erased', doc = $1::jsonb WHERE id = $2;

-- The erase-* statements run in this order (store/sqlite/privacy.go
-- lists them); each one's table is named after the dash.
-- name: erase-rejections
DELETE FROM rejections WHERE EXISTS (SELECT 1 FROM unnest(:texts::text[]) v WHERE strpos(lower(rejections.payload), lower(v)) > 0);
-- name: erase-profiles
DELETE FROM profiles WHERE id = ANY(:ids::bigint[]) OR merged_into = ANY(:ids::bigint[]);
-- name: erase-identifiers
DELETE FROM identifiers WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-profile_events
DELETE FROM profile_events WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-merges
DELETE FROM merges WHERE profile_id = ANY(:ids::bigint[]) OR merged_id = ANY(:ids::bigint[]);
-- name: erase-identity_refusals
DELETE FROM identity_refusals WHERE profile_id = ANY(:ids::bigint[]) OR holder = ANY(:ids::bigint[]) OR value = ANY(:vals::text[]);
-- name: erase-identity_exclusions
DELETE FROM identity_exclusions WHERE value = ANY(:vals::text[]) OR event_seq = ANY(:seqs::bigint[]);
-- name: erase-rfm_scores
DELETE FROM rfm_scores WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-segment_states
DELETE FROM segment_states WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-segment_members
DELETE FROM segment_members WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-segment_history
DELETE FROM segment_history WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-segment_timers
DELETE FROM segment_timers WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-outbox
DELETE FROM outbox WHERE profile_id = ANY(:ids::bigint[]) OR address = ANY(:vals::text[]);
-- name: erase-consent_ledger
DELETE FROM consent_ledger WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-consent_state
DELETE FROM consent_state WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-suppressions
DELETE FROM suppressions WHERE address = ANY(:vals::text[]);
-- name: erase-carts
DELETE FROM carts WHERE customer = ANY(:keys::text[]);
-- name: erase-reservations
UPDATE reservations SET customer = '{}' WHERE EXISTS (SELECT 1 FROM unnest(:texts::text[]) v WHERE strpos(lower(reservations.customer::text), lower(v)) > 0);
-- name: erase-commerce_outbox
DELETE FROM commerce_outbox WHERE EXISTS (SELECT 1 FROM unnest(:texts::text[]) v WHERE strpos(lower(convert_from(commerce_outbox.event, 'UTF8')), lower(v)) > 0);
-- name: erase-journey_enrolments
DELETE FROM journey_enrolments WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-journey_date_timers
DELETE FROM journey_date_timers WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-journey_log
UPDATE journey_log SET profile_id = 0 WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-tasks
DELETE FROM tasks WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-survey_sends
DELETE FROM survey_sends WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-measure_orders
UPDATE measure_orders SET profile_id = 0 WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-measure_touches
DELETE FROM measure_touches WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-measure_profiles
DELETE FROM measure_profiles WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-request_keys
DELETE FROM request_keys WHERE EXISTS (SELECT 1 FROM unnest(:texts::text[]) v WHERE strpos(lower(convert_from(request_keys.response, 'UTF8')), lower(v)) > 0);

-- name: insert-erasure
INSERT INTO erasures (at, reason, counts) VALUES ($1, $2, $3::jsonb) RETURNING id;
-- name: insert-erased-identifier
INSERT INTO erased_identifiers (hash, erasure_id, at) VALUES ($1, $2, $3) ON CONFLICT (hash) DO UPDATE SET erasure_id = excluded.erasure_id, at = excluded.at;
-- name: erased-identifiers
SELECT hash FROM erased_identifiers WHERE hash = ANY(:vals::text[]);
-- name: lift-erasure
DELETE FROM erased_identifiers WHERE hash = ANY(:vals::text[]);
-- name: erasures
SELECT id, at, reason, counts FROM erasures ORDER BY id DESC LIMIT $1;

-- name: prune-events
DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE source_id = $1 AND received_at < $2 AND seq < (SELECT MAX(seq) FROM events) ORDER BY seq LIMIT $3) RETURNING seq;
-- name: anonymous-profiles
SELECT p.id FROM profiles p WHERE p.merged_into IS NULL AND p.updated_at < $1 AND p.id > $2
  AND NOT EXISTS (SELECT 1 FROM identifiers i WHERE i.profile_id = p.id AND i.kind <> 'anonymous_id')
  ORDER BY p.id LIMIT $3;
-- name: prune-message-bodies
UPDATE outbox SET payload = NULL WHERE id IN (SELECT id FROM outbox WHERE payload IS NOT NULL AND created_at < $1 AND status IN ('sent', 'failed', 'skipped') LIMIT $2);
-- name: prune-rejections
DELETE FROM rejections WHERE id IN (SELECT id FROM rejections WHERE received_at < $1 ORDER BY id LIMIT $2);

-- name: prune-request-keys
DELETE FROM request_keys WHERE (scope, key) IN (SELECT scope, key FROM request_keys WHERE created_at < $1 ORDER BY created_at LIMIT $2);

-- The loyalty ledger (issue 23): a member's account and every entry are
-- in their archive, and go with them (the programme owes them nothing
-- more: the liability drops by their balance).
-- name: export-loyalty_accounts
SELECT * FROM loyalty_accounts WHERE profile_id = ANY(:ids::bigint[]) ORDER BY profile_id;
-- name: export-loyalty_entries
SELECT * FROM loyalty_entries WHERE profile_id = ANY(:ids::bigint[]) ORDER BY id;
-- name: erase-loyalty_entries
DELETE FROM loyalty_entries WHERE profile_id = ANY(:ids::bigint[]);
-- name: erase-loyalty_accounts
DELETE FROM loyalty_accounts WHERE profile_id = ANY(:ids::bigint[]);
