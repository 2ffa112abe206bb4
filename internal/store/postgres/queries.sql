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
            $7::timestamptz[], $8::timestamptz[], $9::json[])
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

-- name: advance-checkpoint
-- Several processes may consume the same log: a checkpoint never goes back.
INSERT INTO checkpoints (consumer, seq, updated_at) VALUES ($1, $2, now())
ON CONFLICT (consumer) DO UPDATE SET seq = GREATEST(checkpoints.seq, excluded.seq), updated_at = excluded.updated_at;

-- Unify.

-- name: holders
SELECT i.kind, i.value, i.profile_id
FROM identifiers i JOIN unnest($1::text[], $2::text[]) AS k (kind, value) ON i.kind = k.kind AND i.value = k.value;

-- name: live-profiles-by-id
SELECT id, state FROM profiles WHERE id = ANY($1::bigint[]) AND merged_into IS NULL;

-- name: profile-state
SELECT merged_into, state FROM profiles WHERE id = $1;

-- name: move-identifiers
UPDATE identifiers SET profile_id = $1 WHERE profile_id = $2;

-- name: move-timeline
INSERT INTO profile_events (profile_id, ts, seq)
SELECT $1::bigint, ts, seq FROM profile_events WHERE profile_id = $2 ON CONFLICT DO NOTHING;

-- name: delete-timeline
DELETE FROM profile_events WHERE profile_id = $1;

-- name: mark-merged
INSERT INTO profiles (id, merged_into, state, updated_at) VALUES ($1, $2, NULL, now())
ON CONFLICT (id) DO UPDATE SET merged_into = excluded.merged_into, state = NULL, updated_at = excluded.updated_at;

-- name: insert-timelines
-- A batch's timeline rows in one statement: one row per statement cost
-- PostgreSQL a parse and an executor start per event.
INSERT INTO profile_events (profile_id, ts, seq)
SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[]) ON CONFLICT DO NOTHING;

-- name: upsert-profiles
-- A batch's profiles in one statement (each id once in the arrays).
INSERT INTO profiles (id, merged_into, state, updated_at)
SELECT id, NULL, state, now() FROM unnest($1::bigint[], $2::bytea[]) AS p (id, state)
ON CONFLICT (id) DO UPDATE SET merged_into = NULL, state = excluded.state, updated_at = excluded.updated_at;

-- name: upsert-identifiers
-- A batch's links in one statement (each identifier once in the arrays).
INSERT INTO identifiers (kind, value, profile_id)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
ON CONFLICT (kind, value) DO UPDATE SET profile_id = excluded.profile_id;

-- name: insert-merge
INSERT INTO merges (at, event_seq, profile_id, merged_id, identifiers) VALUES ($1, $2, $3, $4, $5);

-- name: insert-refusal
INSERT INTO identity_refusals (at, event_seq, profile_id, kind, value, holder, reason) VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: profile-seqs
SELECT seq FROM profile_events WHERE profile_id = $1 ORDER BY seq;

-- name: merge-log
SELECT id, at, event_seq, profile_id, merged_id, identifiers, undone_at FROM merges
WHERE profile_id = $1 OR merged_id = $1 ORDER BY id;

-- name: refusals
SELECT id, at, event_seq, profile_id, kind, value, holder, reason FROM identity_refusals
WHERE profile_id = $1 ORDER BY id DESC LIMIT $2;

-- name: reset-unify
-- TRUNCATE rather than DELETE: a reset empties tables that can hold
-- millions of rows, and is followed by a replay that refills them.
-- Exclusions stay: they record unmerges, which the replay must respect.
-- Identities are not restarted, so that merge and refusal ids never repeat.
TRUNCATE profiles, identifiers, profile_events, merges, identity_refusals, rfm_scores, rfm_runs;

-- name: delete-checkpoint
DELETE FROM checkpoints WHERE consumer = $1;

-- name: forget-profile
DELETE FROM profiles WHERE id = $1;

-- name: forget-identifiers
DELETE FROM identifiers WHERE profile_id = $1;

-- name: undo-merges
UPDATE merges SET undone_at = now() WHERE (profile_id = $1 OR merged_id = $1) AND undone_at IS NULL;

-- name: insert-exclusion
INSERT INTO identity_exclusions (event_seq, kind, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING;

-- name: exclusions
SELECT event_seq, kind, value FROM identity_exclusions ORDER BY event_seq;

-- name: live-profiles
SELECT id, state FROM profiles WHERE merged_into IS NULL AND id > $1 ORDER BY id LIMIT $2;

-- name: profile-count
SELECT COUNT(*) FROM profiles WHERE merged_into IS NULL;

-- name: delete-rfm
DELETE FROM rfm_scores;

-- name: insert-rfm
INSERT INTO rfm_scores (profile_id, r, f, m, score)
SELECT * FROM unnest($1::bigint[], $2::integer[], $3::integer[], $4::integer[], $5::text[]);

-- name: save-rfm-run
INSERT INTO rfm_runs (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at;

-- name: rfm-scores
SELECT profile_id, r, f, m, score FROM rfm_scores;

-- name: rfm-run
SELECT at FROM rfm_runs WHERE id = 1;
