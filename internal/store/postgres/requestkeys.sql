-- name: claim-request-key
INSERT INTO request_keys (scope, key, fingerprint, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (scope, key) DO NOTHING;

-- name: request-key
SELECT fingerprint, status, response, resource_id, created_at FROM request_keys WHERE scope = $1 AND key = $2;

-- name: answer-request-key
UPDATE request_keys SET status = $1, response = $2, resource_id = $3 WHERE scope = $4 AND key = $5 AND status = 0;

-- name: release-request-key
DELETE FROM request_keys WHERE scope = $1 AND key = $2 AND status = 0;
