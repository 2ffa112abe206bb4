-- Queries of the surveys: definitions, sends and answers.

-- name: upsert-survey
INSERT INTO surveys (id, version, definition, updated_at) VALUES (?, 1, ?, ?)
ON CONFLICT (id) DO UPDATE SET version = surveys.version + 1, definition = excluded.definition, updated_at = excluded.updated_at
WHERE surveys.definition <> excluded.definition;

-- name: survey
SELECT id, version, definition, updated_at FROM surveys WHERE id = ?;

-- name: list-surveys
SELECT id, version, definition, updated_at FROM surveys ORDER BY id;

-- name: insert-survey-send
INSERT INTO survey_sends (key, survey_id, type, profile_id, channel, store_id, journey_id, agent, conversation_id, language, sent_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO NOTHING;

-- name: survey-send
SELECT key, survey_id, type, profile_id, channel, store_id, journey_id, agent, conversation_id, language, sent_at, expires_at,
    score, comment, answered_via, answered_at
FROM survey_sends WHERE key = ?;

-- name: set-survey-send-channel
UPDATE survey_sends SET channel = ? WHERE key = ?;

-- name: answer-survey-send
UPDATE survey_sends SET score = ?, comment = ?, answered_via = ?, answered_at = ? WHERE key = ? AND score IS NULL;

-- name: pending-survey-send
SELECT key, survey_id, type, profile_id, channel, store_id, journey_id, agent, conversation_id, language, sent_at, expires_at,
    score, comment, answered_via, answered_at
FROM survey_sends WHERE profile_id = ? AND channel = ? AND score IS NULL AND expires_at > ?
ORDER BY sent_at DESC, key DESC LIMIT 1;

-- Listing by survey or by profile, each on its index: a filter written
-- "(? = '' OR survey_id = ?)" would make SQLite scan every send.

-- name: list-survey-sends-by-survey
SELECT key, survey_id, type, profile_id, channel, store_id, journey_id, agent, conversation_id, language, sent_at, expires_at,
    score, comment, answered_via, answered_at
FROM survey_sends
WHERE survey_id = ? AND (? = 0 OR (? = 1) = (score IS NOT NULL))
ORDER BY sent_at DESC, key DESC LIMIT ?;

-- name: list-survey-sends-by-profile
SELECT key, survey_id, type, profile_id, channel, store_id, journey_id, agent, conversation_id, language, sent_at, expires_at,
    score, comment, answered_via, answered_at
FROM survey_sends
WHERE profile_id = ? AND (? = 0 OR (? = 1) = (score IS NOT NULL))
ORDER BY sent_at DESC, key DESC LIMIT ?;

-- name: list-survey-sends
SELECT key, survey_id, type, profile_id, channel, store_id, journey_id, agent, conversation_id, language, sent_at, expires_at,
    score, comment, answered_via, answered_at
FROM survey_sends
WHERE (? = 0 OR (? = 1) = (score IS NOT NULL))
ORDER BY sent_at DESC, key DESC LIMIT ?;
