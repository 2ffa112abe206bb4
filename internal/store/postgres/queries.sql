-- Named queries of the PostgreSQL engine. Batches are passed as one array
-- per column and unnested, so that an append costs a fixed number of round
-- trips whatever its size.

-- name: lock
SELECT pg_advisory_xact_lock($1);

-- name: insert-dedup-keys
INSERT INTO dedup_keys (source_id, message_id, received_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
ON CONFLICT DO NOTHING
RETURNING source_id, message_id;

-- name: insert-events
-- The identity values are drawn as the sorted rows are inserted, so ORDER BY
-- ordinality gives the events their sequence numbers in batch order.
INSERT INTO events (source_id, message_id, type, event, user_id, anonymous_id, ts, received_at, body)
SELECT source_id, message_id, type, event, NULLIF(user_id, ''), NULLIF(anonymous_id, ''), ts, received_at, body
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::timestamptz[], $8::timestamptz[], $9::jsonb[])
    WITH ORDINALITY AS b (source_id, message_id, type, event, user_id, anonymous_id, ts, received_at, body, ord)
ORDER BY ord
RETURNING seq, source_id, message_id;

-- name: insert-rejections
-- In batch order too: the i-th smallest id returned is the i-th rejection's.
INSERT INTO rejections (source_id, received_at, message_id, idx, action, code, field, reason, payload)
SELECT source_id, received_at, message_id, idx, action, code, field, reason, payload
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::integer[], $5::text[], $6::text[],
            $7::text[], $8::text[], $9::text[])
    WITH ORDINALITY AS b (source_id, received_at, message_id, idx, action, code, field, reason, payload, ord)
ORDER BY ord
RETURNING id;

-- name: read-after
SELECT seq, body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2;

-- name: last-seq
SELECT COALESCE(MAX(seq), 0) FROM events;

-- name: prune-dedup
DELETE FROM dedup_keys WHERE received_at < $1;

-- name: insert-source
INSERT INTO sources (id, name, channel, write_key, store_id, created_at) VALUES ($1, $2, $3, $4, $5, $6);

-- name: source-by-id-or-name
-- An id wins over a name that happens to equal it.
SELECT id, name, channel, write_key, store_id, created_at, disabled_at FROM sources WHERE id = $1 OR name = $1
ORDER BY id = $1 DESC LIMIT 1;

-- name: source-by-write-key
SELECT id, name, channel, write_key, store_id, created_at, disabled_at FROM sources WHERE write_key = $1;

-- name: list-sources
SELECT id, name, channel, write_key, store_id, created_at, disabled_at FROM sources ORDER BY created_at, id;

-- name: disable-source
UPDATE sources SET disabled_at = COALESCE(disabled_at, $1) WHERE id = $2;

-- name: get-checkpoint
SELECT seq FROM checkpoints WHERE consumer = $1;

-- name: save-checkpoint
INSERT INTO checkpoints (consumer, seq, updated_at) VALUES ($1, $2, now())
ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at;

-- name: count-admin-keys
SELECT COUNT(*) FROM admin_keys;

-- name: insert-admin-key
INSERT INTO admin_keys (hash, created_at) VALUES ($1, $2);

-- name: is-admin-key
SELECT COUNT(*) FROM admin_keys WHERE hash = $1;

-- name: create-migrations-table
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL
);

-- name: migration-applied
SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1);

-- name: record-migration
INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now());
