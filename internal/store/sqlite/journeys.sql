-- Queries of the journey engine.

-- name: upsert-journey
INSERT INTO journeys (id, version, definition, status, created_at, updated_at) VALUES (?, 1, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET version = CASE WHEN journeys.definition = excluded.definition THEN journeys.version ELSE journeys.version + 1 END,
    definition = excluded.definition,
    status = excluded.status, updated_at = excluded.updated_at
RETURNING version, created_at;

-- name: insert-journey-version
INSERT INTO journey_versions (journey_id, version, definition, created_at) VALUES (?, ?, ?, ?)
ON CONFLICT (journey_id, version) DO NOTHING;

-- name: list-journeys
SELECT id, version, definition, status, created_at, updated_at FROM journeys ORDER BY id;

-- name: journey-version
SELECT j.id, v.version, v.definition, j.status, v.created_at, j.updated_at
FROM journeys j JOIN journey_versions v ON v.journey_id = j.id
WHERE j.id = ? AND v.version = CASE WHEN ? = 0 THEN j.version ELSE ? END;

-- name: set-journey-status
UPDATE journeys SET status = ?, updated_at = ? WHERE id = ?;

-- name: archive-enrolments
UPDATE journey_enrolments SET status = 'exited', reason = 'journey archived', due_at = NULL, ended_at = ?, updated_at = ?
WHERE journey_id = ? AND status = 'active';

-- name: profile-enrolments
SELECT id, journey_id, version, profile_id, status, step, state, due_at, entered_at, updated_at, ended_at, reason
FROM journey_enrolments WHERE profile_id = ? ORDER BY id;

-- name: claim-due-enrolments
-- The due index gives the earliest timers (INDEXED BY: the planner would
-- otherwise prefer the (journey_id, status) index and scan every active
-- enrolment); one writer at a time makes the select-and-lease atomic.
UPDATE journey_enrolments SET lease_owner = ?, lease_until = ?
WHERE id IN (
    SELECT e.id FROM journey_enrolments e INDEXED BY journey_enrolments_due
    WHERE e.due_at IS NOT NULL AND e.due_at <= ? AND e.lease_until <= ? AND e.status = 'active'
      AND e.journey_id IN (SELECT id FROM journeys WHERE status = 'live')
    ORDER BY e.due_at LIMIT ?)
RETURNING id, journey_id, version, profile_id, status, step, state, due_at, entered_at, updated_at, ended_at, reason;

-- name: insert-enrolment
INSERT INTO journey_enrolments (journey_id, version, profile_id, status, step, state, due_at, entered_at, updated_at, ended_at, reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id;

-- name: update-enrolment
UPDATE journey_enrolments SET profile_id = ?, version = ?, status = ?, step = ?, state = ?, due_at = ?, updated_at = ?, ended_at = ?, reason = ?,
    lease_owner = '', lease_until = 0
WHERE id = ? AND (? = '' OR lease_owner = ?);

-- name: active-enrolments
SELECT id, journey_id, version, profile_id, status, step, state, due_at, entered_at, updated_at, ended_at, reason
FROM journey_enrolments WHERE journey_id = ? AND status = 'active' AND version = ? AND id > ? ORDER BY id LIMIT ?;

-- name: enrolment-counts
SELECT status, count(*) FROM journey_enrolments WHERE journey_id = ? GROUP BY status;

-- name: insert-journey-log
INSERT INTO journey_log (journey_id, version, enrolment_id, profile_id, step, kind, outcome, channel, at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: journey-step-counts
SELECT version, step, kind, outcome, count(*) FROM journey_log WHERE journey_id = ?
GROUP BY version, step, kind, outcome ORDER BY version, step, kind, outcome;

-- name: journey-sent
SELECT channel, count(*) FROM journey_log WHERE journey_id = ? AND kind = 'send' AND outcome = 'sent' GROUP BY channel;

-- name: journey-messages
-- The journey's outbox rows: their send keys start with journey:ID: and
-- their campaign is the journey (no index: analytics, not a hot path).
SELECT status, channel, count(*) FROM outbox
WHERE campaign = ?1 AND substr(send_key, 1, length(?1) + 9) = 'journey:' || ?1 || ':'
GROUP BY status, channel;

-- name: journey-exits
-- The step log has the reasons without the event that caused them; an
-- archive ends enrolments without the engine, so it is counted apart.
SELECT outcome, count(*) FROM journey_log WHERE journey_id = ?1 AND kind = 'exited' GROUP BY outcome
UNION ALL
SELECT reason, count(*) FROM journey_enrolments WHERE journey_id = ?1 AND status = 'exited' AND reason = 'journey archived' GROUP BY reason;

-- name: journey-variants
SELECT l.version, l.step, l.outcome, e.status, count(*) FROM journey_log l JOIN journey_enrolments e ON e.id = l.enrolment_id
WHERE l.journey_id = ? AND l.kind = 'split'
GROUP BY l.version, l.step, l.outcome, e.status ORDER BY l.version, l.step, l.outcome, e.status;

-- name: journey-converted
SELECT count(*) FROM journey_log WHERE journey_id = ? AND kind = 'goal';

-- name: journey-variant-results
SELECT l.version, l.step, l.outcome, count(*), count(g.id) FROM journey_log l
LEFT JOIN journey_log g ON g.enrolment_id = l.enrolment_id AND g.kind = 'goal'
WHERE l.journey_id = ? AND l.kind = 'split'
GROUP BY l.version, l.step, l.outcome ORDER BY l.version, l.step, l.outcome;

-- name: release-enrolment-leases
UPDATE journey_enrolments SET lease_until = 0 WHERE lease_owner = ? AND lease_until > ?;
