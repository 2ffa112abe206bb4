-- Queries of the loyalty programme, accounts and ledger.

-- name: insert-loyalty-programme
INSERT INTO loyalty_programmes (version, id, definition, updated_at)
SELECT COALESCE(MAX(version), 0) + 1, $1, $2::jsonb, $3 FROM loyalty_programmes
HAVING NOT EXISTS (SELECT 1 FROM loyalty_programmes WHERE version = (SELECT MAX(version) FROM loyalty_programmes) AND definition = $2::jsonb);

-- name: loyalty-programme
SELECT id, version, definition::text, updated_at FROM loyalty_programmes ORDER BY version DESC LIMIT 1;

-- name: create-loyalty-account
INSERT INTO loyalty_accounts (profile_id, balance, joined_at, updated_at) VALUES ($1, 0, $2, $2)
ON CONFLICT (profile_id) DO NOTHING;

-- name: lock-loyalty-account
SELECT profile_id, balance, earned, spent, tier, tier_floor, floor_until, joined_at, updated_at
FROM loyalty_accounts WHERE profile_id = $1 FOR UPDATE;

-- name: loyalty-account
SELECT profile_id, balance, earned, spent, tier, tier_floor, floor_until, joined_at, updated_at
FROM loyalty_accounts WHERE profile_id = $1;

-- name: write-loyalty-account
UPDATE loyalty_accounts SET balance = $2, earned = $3, spent = $4, tier = $5, tier_floor = $6, floor_until = $7,
    joined_at = $8, updated_at = $9
WHERE profile_id = $1;

-- name: delete-loyalty-account
DELETE FROM loyalty_accounts WHERE profile_id = $1;

-- name: insert-loyalty-entry
INSERT INTO loyalty_entries (profile_id, kind, points, cause, fingerprint, order_id, reward, channel, store_id, note,
    balance, at, expires_at, remaining, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
RETURNING id;

-- name: loyalty-entry-by-cause
SELECT id, profile_id, kind, points, cause, fingerprint, order_id, reward, channel, store_id, note, balance, at,
    expires_at, remaining, detail
FROM loyalty_entries WHERE cause = $1;

-- name: loyalty-lots
SELECT id, profile_id, kind, points, cause, fingerprint, order_id, reward, channel, store_id, note, balance, at,
    expires_at, remaining, detail
FROM loyalty_entries WHERE profile_id = $1 AND remaining > 0
ORDER BY expires_at NULLS LAST, id;

-- name: set-loyalty-remaining
UPDATE loyalty_entries SET remaining = $1 WHERE id = $2;

-- name: loyalty-qualifying
SELECT COALESCE(SUM(points), 0)::bigint FROM loyalty_entries
WHERE profile_id = $1 AND kind IN ('earn', 'bonus', 'reverse') AND at >= $2;

-- name: loyalty-order-points
SELECT COALESCE(SUM(points), 0)::bigint FROM loyalty_entries
WHERE order_id = $2 AND profile_id = $1 AND kind IN ('earn', 'reverse', 'expire');

-- name: move-loyalty-entries
UPDATE loyalty_entries SET profile_id = $2 WHERE profile_id = $1;

-- name: loyalty-entries
SELECT id, profile_id, kind, points, cause, fingerprint, order_id, reward, channel, store_id, note, balance, at,
    expires_at, remaining, detail
FROM loyalty_entries WHERE profile_id = $1 AND ($2 = 0 OR id < $2)
ORDER BY id DESC LIMIT $3;

-- name: loyalty-due-lots
SELECT id, profile_id, kind, points, cause, fingerprint, order_id, reward, channel, store_id, note, balance, at,
    expires_at, remaining, detail
FROM loyalty_entries WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at >= $1 AND expires_at < $2 AND id > $3
ORDER BY id LIMIT $4;

-- name: loyalty-liability-accounts
SELECT COUNT(*), COUNT(*) FILTER (WHERE balance > 0), COALESCE(SUM(balance), 0)::bigint FROM loyalty_accounts;

-- name: loyalty-liability-flows
SELECT
    COALESCE(SUM(points) FILTER (WHERE kind IN ('earn', 'bonus') OR (kind = 'adjust' AND points > 0)), 0)::bigint,
    COALESCE(-SUM(points) FILTER (WHERE kind = 'burn'), 0)::bigint,
    COALESCE(-SUM(points) FILTER (WHERE kind = 'expire'), 0)::bigint,
    COUNT(DISTINCT profile_id) FILTER (WHERE kind IN ('earn', 'bonus', 'burn'))
FROM loyalty_entries WHERE at >= $1;

-- name: loyalty-tier-reviews
SELECT profile_id FROM (
    SELECT profile_id FROM loyalty_entries
    WHERE kind IN ('earn', 'bonus', 'reverse') AND at >= $1 AND at < $2
    UNION
    SELECT profile_id FROM loyalty_accounts
    WHERE tier_floor <> '' AND floor_until >= $3 AND floor_until < $4
) AS due WHERE profile_id > $5 ORDER BY profile_id LIMIT $6;
