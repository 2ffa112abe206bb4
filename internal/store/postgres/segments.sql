-- Queries of the segment stage.

-- name: upsert-segment
INSERT INTO segments (id, version, definition, status, created_at, updated_at) VALUES ($1, 1, $2, $3, $4, $4)
ON CONFLICT (id) DO UPDATE SET version = CASE WHEN segments.definition = excluded.definition THEN segments.version ELSE segments.version + 1 END,
    definition = excluded.definition,
    status = excluded.status, updated_at = excluded.updated_at
RETURNING version, created_at;

-- name: list-segments
SELECT id, version, definition, status, created_at, updated_at FROM segments ORDER BY id;

-- name: segment-states
SELECT profile_id, state FROM segment_states WHERE profile_id = ANY($1);

-- name: upsert-segment-state
INSERT INTO segment_states (profile_id, state) VALUES ($1, $2)
ON CONFLICT (profile_id) DO UPDATE SET state = excluded.state;

-- name: delete-segment-state
DELETE FROM segment_states WHERE profile_id = $1;

-- name: delete-segment-timer
DELETE FROM segment_timers WHERE profile_id = $1;

-- name: upsert-segment-timer
INSERT INTO segment_timers (profile_id, due_at) VALUES ($1, $2)
ON CONFLICT (profile_id) DO UPDATE SET due_at = excluded.due_at;

-- name: insert-segment-member
INSERT INTO segment_members (segment_id, profile_id, since) VALUES ($1, $2, $3)
ON CONFLICT (segment_id, profile_id) DO NOTHING;

-- name: delete-segment-member
DELETE FROM segment_members WHERE segment_id = $1 AND profile_id = $2;

-- name: insert-segment-history
INSERT INTO segment_history (segment_id, profile_id, entered, at, reason) VALUES ($1, $2, $3, $4, $5);

-- name: upsert-segment-count
INSERT INTO segment_counts (segment_id, day, size) VALUES ($1, $2, $3)
ON CONFLICT (segment_id, day) DO UPDATE SET size = excluded.size;

-- name: due-segment-timers
SELECT profile_id FROM segment_timers WHERE due_at <= $1 ORDER BY due_at LIMIT $2;

-- name: segment-members
SELECT profile_id, since FROM segment_members WHERE segment_id = $1 AND profile_id > $2 ORDER BY profile_id LIMIT $3;

-- name: segment-sizes
SELECT segment_id, count(*) FROM segment_members GROUP BY segment_id;

-- name: segment-counts
SELECT day, size FROM segment_counts WHERE segment_id = $1 ORDER BY day;

-- name: reset-segments
TRUNCATE segment_states, segment_members, segment_history, segment_timers, segment_counts;

-- name: reset-segments-checkpoint
DELETE FROM checkpoints WHERE consumer = $1;
