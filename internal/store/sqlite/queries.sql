-- Named queries of the SQLite engine. Times are unix microseconds.

-- name: max-seq
SELECT COALESCE(MAX(seq), 0) FROM events;

-- name: insert-dedup
INSERT INTO dedup (h, seq) VALUES (?, ?) ON CONFLICT DO NOTHING;

-- name: dedup-seq
SELECT seq FROM dedup WHERE h = ?;

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
SELECT COUNT(*) FROM admin_keys;

-- name: insert-admin-key
INSERT INTO admin_keys (hash, created_at) VALUES (?, ?);

-- name: is-admin-key
SELECT COUNT(*) FROM admin_keys WHERE hash = ?;
