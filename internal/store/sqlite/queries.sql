-- Named queries of the SQLite engine. Times are unix microseconds.

-- name: max-seq
SELECT COALESCE(MAX(seq), 0) FROM events;

-- name: insert-dedup
INSERT INTO dedup (h, seq) VALUES (?, ?) ON CONFLICT DO NOTHING;

-- name: dedup-seqs
-- The dedup rows of a batch of hashes, given as a JSON array of integers:
-- one statement for a whole append instead of one per event.
SELECT h, seq FROM dedup WHERE h IN (SELECT value FROM json_each(?));

-- name: event-key
SELECT source_id, message_id FROM events WHERE seq = ?;

-- name: dedup-collision
SELECT 1 FROM dedup_collisions WHERE source_id = ? AND message_id = ?;

-- name: insert-dedup-collision
INSERT INTO dedup_collisions (source_id, message_id, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING;

-- name: event-keys-after
SELECT seq, source_id, message_id FROM events WHERE seq > ? AND seq <= ? ORDER BY seq;

-- name: insert-event
INSERT INTO events (seq, source_id, message_id, type, event, user_id, anonymous_id, ts, received_at, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: received-at
SELECT received_at FROM events WHERE seq >= ? ORDER BY seq LIMIT 1;

-- name: prune-dedup-slice
DELETE FROM dedup WHERE h >= ? AND h <= ? AND seq < ?;

-- name: prune-dedup-collisions
DELETE FROM dedup_collisions WHERE seq < ?;

-- name: unindexed-events
SELECT seq, source_id, message_id, COALESCE(user_id, ''), COALESCE(anonymous_id, '')
FROM events WHERE seq > ? ORDER BY seq LIMIT ?;

-- name: advance-checkpoint
-- Several processes may index the same file: a checkpoint never goes back.
INSERT INTO checkpoints (consumer, seq, updated_at) VALUES (?, ?, ?)
ON CONFLICT (consumer) DO UPDATE SET seq = MAX(seq, excluded.seq), updated_at = excluded.updated_at;

-- name: insert-event-identifier
INSERT INTO event_identifiers (h, seq) VALUES (?, ?) ON CONFLICT DO NOTHING;

-- name: insert-rejection
INSERT INTO rejections (source_id, received_at, message_id, idx, action, code, field, reason, payload)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: read-after
SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?;

-- name: last-seq
SELECT COALESCE(MAX(seq), 0) FROM events;

-- name: insert-source
INSERT INTO sources (id, name, channel, write_key, store_id, created_at) VALUES (?, ?, ?, ?, ?, ?);

-- name: source-by-id-or-name
-- An id wins over a name that happens to equal it.
SELECT id, name, channel, write_key, store_id, created_at, disabled_at FROM sources WHERE id = ?1 OR name = ?1
ORDER BY id = ?1 DESC LIMIT 1;

-- name: source-by-write-key
SELECT id, name, channel, write_key, store_id, created_at, disabled_at FROM sources WHERE write_key = ?;

-- name: list-sources
SELECT id, name, channel, write_key, store_id, created_at, disabled_at FROM sources ORDER BY created_at, id;

-- name: disable-source
UPDATE sources SET disabled_at = COALESCE(disabled_at, ?) WHERE id = ?;

-- name: get-checkpoint
SELECT seq FROM checkpoints WHERE consumer = ?;

-- name: save-checkpoint
INSERT INTO checkpoints (consumer, seq, updated_at) VALUES (?, ?, ?)
ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at;

-- name: count-admin-keys
SELECT COUNT(*) FROM api_keys WHERE role = 'owner';

-- name: insert-admin-key
INSERT INTO api_keys (id, name, role, hash, prefix, created_by, created_at)
VALUES ('key_admin', 'first-start admin key', 'owner', ?, 'pk_admin_', 'serve', ?);

-- name: is-admin-key
SELECT COUNT(*) FROM api_keys WHERE hash = ? AND role = 'owner' AND revoked_at = 0;

-- Unify.

-- name: holder
SELECT profile_id FROM identifiers WHERE kind = ? AND value = ?;

-- name: profile-state
SELECT id, merged_into, state FROM profiles WHERE id = ?;

-- name: profile-states
-- ?1: a JSON array of profile ids.
SELECT id, merged_into, state FROM profiles WHERE id IN (SELECT value FROM json_each(?1));

-- name: move-identifiers
UPDATE identifiers SET profile_id = ? WHERE profile_id = ?;

-- name: move-timeline
INSERT INTO profile_events (profile_id, ts, seq)
SELECT ?, ts, seq FROM profile_events WHERE profile_id = ? ON CONFLICT DO NOTHING;

-- name: delete-timeline
DELETE FROM profile_events WHERE profile_id = ?;

-- name: mark-merged
INSERT INTO profiles (id, merged_into, state, updated_at) VALUES (?, ?, NULL, ?)
ON CONFLICT (id) DO UPDATE SET merged_into = excluded.merged_into, state = NULL, updated_at = excluded.updated_at;

-- name: upsert-profile
INSERT INTO profiles (id, merged_into, state, updated_at) VALUES (?, NULL, ?, ?)
ON CONFLICT (id) DO UPDATE SET merged_into = NULL, state = excluded.state, updated_at = excluded.updated_at;

-- name: upsert-identifier
INSERT INTO identifiers (kind, value, profile_id) VALUES (?, ?, ?)
ON CONFLICT (kind, value) DO UPDATE SET profile_id = excluded.profile_id;

-- name: insert-timeline
INSERT INTO profile_events (profile_id, ts, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING;

-- name: insert-merge
INSERT INTO merges (at, event_seq, profile_id, merged_id, identifiers) VALUES (?, ?, ?, ?, ?);

-- name: insert-refusal
INSERT INTO identity_refusals (at, event_seq, profile_id, kind, value, holder, reason) VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: profile-seqs
SELECT seq FROM profile_events WHERE profile_id = ? ORDER BY seq;

-- name: merge-log
SELECT id, at, event_seq, profile_id, merged_id, identifiers, undone_at FROM merges
WHERE profile_id = ? OR merged_id = ? ORDER BY id;

-- name: refusals
SELECT id, at, event_seq, profile_id, kind, value, holder, reason FROM identity_refusals
WHERE profile_id = ? ORDER BY id DESC LIMIT ?;

-- name: forget-profile
DELETE FROM profiles WHERE id = ?;

-- name: forget-identifiers
DELETE FROM identifiers WHERE profile_id = ?;

-- name: undo-merges
UPDATE merges SET undone_at = ? WHERE (profile_id = ? OR merged_id = ?) AND undone_at IS NULL;

-- name: insert-exclusion
INSERT INTO identity_exclusions (event_seq, kind, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING;

-- name: exclusions
SELECT event_seq, kind, value FROM identity_exclusions ORDER BY event_seq;

-- name: live-profiles
SELECT id, state FROM profiles WHERE merged_into IS NULL AND id > ? ORDER BY id LIMIT ?;

-- name: profile-count
SELECT COUNT(*) FROM profiles WHERE merged_into IS NULL;

-- name: insert-rfm
INSERT INTO rfm_scores (profile_id, r, f, m, score) VALUES (?, ?, ?, ?, ?);

-- name: rfm-scores
SELECT profile_id, r, f, m, score FROM rfm_scores;

-- name: rfm-run
SELECT at FROM rfm_runs WHERE id = 1;
