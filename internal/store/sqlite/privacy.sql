-- Access requests, erasure and retention (docs/security.md). The arrays
-- :ids (profile ids), :vals (identifier values), :keys (commerce customer
-- keys, kind:value), :texts (the strings searched for inside
-- documents: identifier values and raw emails and phones, 5 characters
-- or more) and :seqs (event sequence numbers) are bound as JSON
-- arrays (store.BindArrays).

-- name: export-identifiers
SELECT kind, value, profile_id FROM identifiers WHERE profile_id IN (SELECT value FROM json_each(:ids)) ORDER BY kind, value;
-- name: export-profiles
SELECT id, merged_into, state, updated_at FROM profiles WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id;
-- name: export-events
SELECT seq, body FROM events WHERE seq IN (SELECT value FROM json_each(:seqs)) ORDER BY seq;
-- name: export-timeline
SELECT profile_id, ts, seq FROM profile_events WHERE profile_id IN (SELECT value FROM json_each(:ids)) ORDER BY ts, seq;
-- name: export-merges
SELECT * FROM merges WHERE profile_id IN (SELECT value FROM json_each(:ids)) OR merged_id IN (SELECT value FROM json_each(:ids)) ORDER BY id;
-- name: export-identity_refusals
SELECT * FROM identity_refusals WHERE profile_id IN (SELECT value FROM json_each(:ids)) ORDER BY id;
-- name: export-segment_memberships
SELECT * FROM segment_members WHERE profile_id IN (SELECT value FROM json_each(:ids)) ORDER BY segment_id;
-- name: export-segment_history
SELECT * FROM segment_history WHERE profile_id IN (SELECT value FROM json_each(:ids)) ORDER BY id;
-- name: export-journey_enrolments
SELECT * FROM journey_enrolments WHERE profile_id IN (SELECT value FROM json_each(:ids)) ORDER BY id;
-- name: export-journey_log
SELECT * FROM journey_log WHERE profile_id IN (SELECT value FROM json_each(:ids)) ORDER BY id;
-- name: export-messages
SELECT * FROM outbox WHERE profile_id IN (SELECT value FROM json_each(:ids)) ORDER BY id;
-- name: export-consent_ledger
SELECT * FROM consent_ledger WHERE profile_id IN (SELECT value FROM json_each(:ids)) ORDER BY id;
-- name: export-consent_state
SELECT * FROM consent_state WHERE profile_id IN (SELECT value FROM json_each(:ids)) ORDER BY channel, topic;
-- name: export-suppressions
SELECT * FROM suppressions WHERE address IN (SELECT value FROM json_each(:vals)) ORDER BY channel, address;
-- name: export-orders
SELECT * FROM orders WHERE customer IN (SELECT value FROM json_each(:keys)) ORDER BY created_at, id;
-- name: export-returns
SELECT * FROM order_returns WHERE order_id IN (SELECT id FROM orders WHERE customer IN (SELECT value FROM json_each(:keys))) ORDER BY created_at, id;
-- name: export-carts
SELECT * FROM carts WHERE customer IN (SELECT value FROM json_each(:keys));
-- name: export-reservations
SELECT * FROM reservations WHERE EXISTS (SELECT 1 FROM json_each(:texts) v WHERE instr(lower(reservations.customer), lower(v.value)) > 0) ORDER BY created_at, id;
-- name: export-tasks
SELECT * FROM tasks WHERE profile_id IN (SELECT value FROM json_each(:ids)) ORDER BY id;
-- name: export-survey_sends
SELECT * FROM survey_sends WHERE profile_id IN (SELECT value FROM json_each(:ids)) ORDER BY sent_at, key;
-- name: export-rfm
SELECT * FROM rfm_scores WHERE profile_id IN (SELECT value FROM json_each(:ids));

-- name: erase-event-bodies
SELECT seq, body FROM events WHERE seq IN (SELECT value FROM json_each(:seqs));
-- name: erase-event
UPDATE events SET message_id = ?, user_id = NULL, anonymous_id = NULL, body = ? WHERE seq = ?;
-- name: erase-dedup-collision
DELETE FROM dedup_collisions WHERE source_id = ? AND message_id = ?;
-- name: erase-event-orders
SELECT id, doc FROM orders WHERE customer IN (SELECT value FROM json_each(:keys));
-- name: erase-order
UPDATE orders SET customer = 'erased', doc = ? WHERE id = ?;

-- The erase-* statements run in this order (store/sqlite/privacy.go
-- lists them); each one's table is named after the dash.
-- name: erase-event_identifiers
DELETE FROM event_identifiers WHERE seq IN (SELECT value FROM json_each(:seqs));
-- name: erase-rejections
DELETE FROM rejections WHERE EXISTS (SELECT 1 FROM json_each(:texts) v WHERE instr(lower(rejections.payload), lower(v.value)) > 0);
-- name: erase-profiles
DELETE FROM profiles WHERE id IN (SELECT value FROM json_each(:ids)) OR merged_into IN (SELECT value FROM json_each(:ids));
-- name: erase-identifiers
DELETE FROM identifiers WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-profile_events
DELETE FROM profile_events WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-merges
DELETE FROM merges WHERE profile_id IN (SELECT value FROM json_each(:ids)) OR merged_id IN (SELECT value FROM json_each(:ids));
-- name: erase-identity_refusals
DELETE FROM identity_refusals WHERE profile_id IN (SELECT value FROM json_each(:ids)) OR holder IN (SELECT value FROM json_each(:ids)) OR value IN (SELECT value FROM json_each(:vals));
-- name: erase-identity_exclusions
DELETE FROM identity_exclusions WHERE value IN (SELECT value FROM json_each(:vals)) OR event_seq IN (SELECT value FROM json_each(:seqs));
-- name: erase-rfm_scores
DELETE FROM rfm_scores WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-segment_states
DELETE FROM segment_states WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-segment_members
DELETE FROM segment_members WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-segment_history
DELETE FROM segment_history WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-segment_timers
DELETE FROM segment_timers WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-outbox
DELETE FROM outbox WHERE profile_id IN (SELECT value FROM json_each(:ids)) OR address IN (SELECT value FROM json_each(:vals));
-- name: erase-consent_ledger
DELETE FROM consent_ledger WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-consent_state
DELETE FROM consent_state WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-suppressions
DELETE FROM suppressions WHERE address IN (SELECT value FROM json_each(:vals));
-- name: erase-carts
DELETE FROM carts WHERE customer IN (SELECT value FROM json_each(:keys));
-- name: erase-reservations
UPDATE reservations SET customer = '{}' WHERE EXISTS (SELECT 1 FROM json_each(:texts) v WHERE instr(lower(reservations.customer), lower(v.value)) > 0);
-- name: erase-commerce_outbox
DELETE FROM commerce_outbox WHERE EXISTS (SELECT 1 FROM json_each(:texts) v WHERE instr(lower(commerce_outbox.event), lower(v.value)) > 0);
-- name: erase-journey_enrolments
DELETE FROM journey_enrolments WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-journey_date_timers
DELETE FROM journey_date_timers WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-journey_log
UPDATE journey_log SET profile_id = 0 WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-tasks
DELETE FROM tasks WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-survey_sends
DELETE FROM survey_sends WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-measure_orders
UPDATE measure_orders SET profile_id = 0 WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-measure_touches
DELETE FROM measure_touches WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-measure_profiles
DELETE FROM measure_profiles WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-request_keys
DELETE FROM request_keys WHERE EXISTS (SELECT 1 FROM json_each(:texts) v WHERE instr(lower(request_keys.response), lower(v.value)) > 0);

-- name: insert-erasure
INSERT INTO erasures (at, reason, counts) VALUES (?, ?, ?) RETURNING id;
-- name: insert-erased-identifier
INSERT INTO erased_identifiers (hash, erasure_id, at) VALUES (?, ?, ?) ON CONFLICT (hash) DO UPDATE SET erasure_id = excluded.erasure_id, at = excluded.at;
-- name: erased-identifiers
SELECT hash FROM erased_identifiers WHERE hash IN (SELECT value FROM json_each(:vals));
-- name: lift-erasure
DELETE FROM erased_identifiers WHERE hash IN (SELECT value FROM json_each(:vals));
-- name: erasures
SELECT id, at, reason, counts FROM erasures ORDER BY id DESC LIMIT ?;

-- name: prune-events
DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE source_id = ? AND received_at < ? AND seq < (SELECT MAX(seq) FROM events) ORDER BY seq LIMIT ?) RETURNING seq;
-- name: anonymous-profiles
SELECT p.id FROM profiles p WHERE p.merged_into IS NULL AND p.updated_at < ? AND p.id > ?
  AND NOT EXISTS (SELECT 1 FROM identifiers i WHERE i.profile_id = p.id AND i.kind <> 'anonymous_id')
  ORDER BY p.id LIMIT ?;
-- name: prune-message-bodies
UPDATE outbox SET payload = NULL WHERE id IN (SELECT id FROM outbox WHERE payload IS NOT NULL AND created_at < ? AND status IN ('sent', 'failed', 'skipped') LIMIT ?);
-- name: prune-rejections
DELETE FROM rejections WHERE id IN (SELECT id FROM rejections WHERE received_at < ? ORDER BY id LIMIT ?);

-- name: prune-request-keys
DELETE FROM request_keys WHERE (scope, key) IN (SELECT scope, key FROM request_keys WHERE created_at < ? ORDER BY created_at LIMIT ?);

-- The loyalty ledger (issue 23): a member's account and every entry are
-- in their archive, and go with them (the programme owes them nothing
-- more: the liability drops by their balance).
-- name: export-loyalty_accounts
SELECT * FROM loyalty_accounts WHERE profile_id IN (SELECT value FROM json_each(:ids)) ORDER BY profile_id;
-- name: export-loyalty_entries
SELECT * FROM loyalty_entries WHERE profile_id IN (SELECT value FROM json_each(:ids)) ORDER BY id;
-- name: erase-loyalty_entries
DELETE FROM loyalty_entries WHERE profile_id IN (SELECT value FROM json_each(:ids));
-- name: erase-loyalty_accounts
DELETE FROM loyalty_accounts WHERE profile_id IN (SELECT value FROM json_each(:ids));
