-- Queries of the journey engine.

-- name: upsert-journey
INSERT INTO journeys (id, version, definition, status, created_at, updated_at) VALUES ($1, 1, $2, $3, $4, $4)
ON CONFLICT (id) DO UPDATE SET version = CASE WHEN journeys.definition = excluded.definition THEN journeys.version ELSE journeys.version + 1 END,
    definition = excluded.definition,
    status = excluded.status, updated_at = excluded.updated_at
RETURNING version, created_at;

-- name: insert-journey-version
INSERT INTO journey_versions (journey_id, version, definition, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (journey_id, version) DO NOTHING;

-- name: list-journeys
SELECT id, version, definition, status, created_at, updated_at FROM journeys ORDER BY id;

-- name: journey-version
SELECT j.id, v.version, v.definition, j.status, v.created_at, j.updated_at
FROM journeys j JOIN journey_versions v ON v.journey_id = j.id
WHERE j.id = $1 AND v.version = CASE WHEN $2::int = 0 THEN j.version ELSE $2::int END;

-- name: set-journey-status
UPDATE journeys SET status = $1, updated_at = $2 WHERE id = $3;

-- name: archive-enrolments
UPDATE journey_enrolments SET status = 'exited', reason = 'journey archived', due_at = NULL, ended_at = $1, updated_at = $1
WHERE journey_id = $2 AND status = 'active';

-- name: profile-enrolments
SELECT id, journey_id, version, profile_id, status, step, state, due_at, entered_at, updated_at, ended_at, reason
FROM journey_enrolments WHERE profile_id = ANY($1) ORDER BY id;

-- name: claim-due-enrolments
-- SKIP LOCKED: concurrent claimers each take different rows.
UPDATE journey_enrolments SET lease_owner = $1, lease_until = $2
WHERE id IN (
    SELECT e.id FROM journey_enrolments e
    WHERE e.due_at IS NOT NULL AND e.due_at <= $3 AND e.lease_until <= $3 AND e.status = 'active'
      AND e.journey_id IN (SELECT id FROM journeys WHERE status = 'live')
    ORDER BY e.due_at LIMIT $4
    FOR UPDATE SKIP LOCKED)
RETURNING id, journey_id, version, profile_id, status, step, state, due_at, entered_at, updated_at, ended_at, reason;

-- name: insert-enrolment
INSERT INTO journey_enrolments (journey_id, version, profile_id, status, step, state, due_at, entered_at, updated_at, ended_at, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING id;

-- name: update-enrolment
UPDATE journey_enrolments SET status = $1, step = $2, state = $3, due_at = $4, updated_at = $5, ended_at = $6, reason = $7,
    lease_owner = '', lease_until = '-infinity', profile_id = $10, version = $11
WHERE id = $8 AND ($9 = '' OR lease_owner = $9);

-- name: active-enrolments
SELECT id, journey_id, version, profile_id, status, step, state, due_at, entered_at, updated_at, ended_at, reason
FROM journey_enrolments WHERE journey_id = $1 AND status = 'active' AND version = $2 AND id > $3 ORDER BY id LIMIT $4;

-- name: enrolment-counts
SELECT status, count(*) FROM journey_enrolments WHERE journey_id = $1 GROUP BY status;

-- name: insert-journey-log
INSERT INTO journey_log (journey_id, version, enrolment_id, profile_id, step, kind, outcome, channel, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: journey-step-counts
SELECT version, step, kind, outcome, count(*) FROM journey_log WHERE journey_id = $1
GROUP BY version, step, kind, outcome ORDER BY version, step, kind, outcome;

-- name: journey-sent
SELECT channel, count(*) FROM journey_log WHERE journey_id = $1 AND kind = 'send' AND outcome = 'sent' GROUP BY channel;

-- name: journey-messages
-- The journey's outbox rows: their send keys start with journey:ID: and
-- their campaign is the journey (no index: analytics, not a hot path).
SELECT status, channel, count(*) FROM outbox
WHERE campaign = $1 AND substr(send_key, 1, length($1) + 9) = 'journey:' || $1 || ':'
GROUP BY status, channel;

-- name: journey-exits
-- The step log has the reasons without the event that caused them; an
-- archive ends enrolments without the engine, so it is counted apart.
SELECT outcome, count(*) FROM journey_log WHERE journey_id = $1 AND kind = 'exited' GROUP BY outcome
UNION ALL
SELECT reason, count(*) FROM journey_enrolments WHERE journey_id = $1 AND status = 'exited' AND reason = 'journey archived' GROUP BY reason;

-- name: journey-variants
SELECT l.version, l.step, l.outcome, e.status, count(*) FROM journey_log l JOIN journey_enrolments e ON e.id = l.enrolment_id
WHERE l.journey_id = $1 AND l.kind = 'split'
GROUP BY l.version, l.step, l.outcome, e.status ORDER BY l.version, l.step, l.outcome, e.status;

-- name: journey-converted
SELECT count(*) FROM journey_log WHERE journey_id = $1 AND kind = 'goal';

-- name: journey-variant-results
SELECT l.version, l.step, l.outcome, count(*), count(g.id) FROM journey_log l
LEFT JOIN journey_log g ON g.enrolment_id = l.enrolment_id AND g.kind = 'goal'
WHERE l.journey_id = $1 AND l.kind = 'split'
GROUP BY l.version, l.step, l.outcome ORDER BY l.version, l.step, l.outcome;

-- name: release-enrolment-leases
UPDATE journey_enrolments SET lease_until = '-infinity' WHERE lease_owner = $1 AND lease_until > $2;
