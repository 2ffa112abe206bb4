-- name: claim-request-key
INSERT INTO request_keys (scope, key, fingerprint, created_at) VALUES (?, ?, ?, ?)
ON CONFLICT (scope, key) DO NOTHING;

-- name: request-key
SELECT fingerprint, status, response, resource_id, created_at FROM request_keys WHERE scope = ? AND key = ?;

-- name: answer-request-key
UPDATE request_keys SET status = ?, response = ?, resource_id = ? WHERE scope = ? AND key = ? AND status = 0;

-- name: release-request-key
DELETE FROM request_keys WHERE scope = ? AND key = ? AND status = 0;
