-- Cluster fencing (migration 0021, fence.go).

-- name: fence-lock
-- Exclusive: waits until no transaction that passed the check is open.
SELECT pg_advisory_xact_lock(1885434467, hashtext(current_schema()));

-- name: fence-move
INSERT INTO cluster_fence (name, epoch, token, node, fenced_at) VALUES ('pipeline', $1, $2, $3, now())
ON CONFLICT (name) DO UPDATE SET epoch = excluded.epoch, token = excluded.token, node = excluded.node, fenced_at = excluded.fenced_at
WHERE (cluster_fence.epoch, cluster_fence.token) < (excluded.epoch, excluded.token)
RETURNING node;

-- name: fence-holder
SELECT node, epoch || ':' || token FROM cluster_fence WHERE name = 'pipeline';
