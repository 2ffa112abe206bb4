-- Partitioned stages (migration 0025, partitions.go).

-- name: partitions-ensure
INSERT INTO partition_leases (part) SELECT generate_series(0, $1 - 1) ON CONFLICT (part) DO NOTHING;

-- name: partitions-count
SELECT count(*), COALESCE(max(part) + 1, 0) FROM partition_leases;

-- name: node-heartbeat
INSERT INTO cluster_nodes (node, address, started_at, heartbeat_at) VALUES ($1, $2, now(), now())
ON CONFLICT (node) DO UPDATE SET address = excluded.address, heartbeat_at = excluded.heartbeat_at;

-- name: node-leave
DELETE FROM cluster_nodes WHERE node = $1;

-- name: nodes-live
SELECT node, address, started_at, heartbeat_at FROM cluster_nodes
WHERE heartbeat_at > now() - make_interval(secs => $1) ORDER BY node;

-- name: partition-claim
UPDATE partition_leases SET node = $2, token = token + 1, expires_at = now() + make_interval(secs => $3), moved_at = now()
WHERE part = $1 AND (node = '' OR node = $2 OR expires_at <= now())
RETURNING token;

-- name: partitions-renew
UPDATE partition_leases SET expires_at = now() + make_interval(secs => $2)
WHERE node = $1 AND expires_at > now()
RETURNING part, token;

-- name: partition-release
UPDATE partition_leases SET node = '', expires_at = '-infinity' WHERE part = $1 AND node = $2;

-- name: partition-leases
SELECT part, node, token, expires_at, expires_at > now(), COALESCE(moved_at, '-infinity') FROM partition_leases ORDER BY part;

-- name: insert-route
INSERT INTO event_routes (seq, part, profile_id, merged_id, merged_part) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (seq) DO NOTHING;

-- name: partition-routes
SELECT seq, profile_id, merged_id, merged_part FROM event_routes
WHERE part = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4;

-- name: events-by-seq
SELECT seq, body FROM events WHERE seq = ANY($1) ORDER BY seq;

-- name: checkpoints-like
SELECT consumer, seq FROM checkpoints WHERE consumer LIKE $1;
