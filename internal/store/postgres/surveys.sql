-- Queries of the surveys: definitions, sends and answers.

-- name: upsert-survey
INSERT INTO surveys (id, version, definition, updated_at) VALUES ($1, 1, $2, $3)
ON CONFLICT (id) DO UPDATE SET version = surveys.version + 1, definition = excluded.definition, updated_at = excluded.updated_at
WHERE surveys.definition <> excluded.definition;

-- name: survey
SELECT id, version, definition::text, updated_at FROM surveys WHERE id = $1;

-- name: list-surveys
SELECT id, version, definition::text, updated_at FROM surveys ORDER BY id;

-- name: insert-survey-send
INSERT INTO survey_sends (key, survey_id, type, profile_id, channel, store_id, journey_id, agent, conversation_id, language, sent_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (key) DO NOTHING;

-- name: survey-send
SELECT key, survey_id, type, profile_id, channel, store_id, journey_id, agent, conversation_id, language, sent_at, expires_at,
    score, comment, answered_via, answered_at
FROM survey_sends WHERE key = $1;

-- name: set-survey-send-channel
UPDATE survey_sends SET channel = $1 WHERE key = $2;

-- name: answer-survey-send
UPDATE survey_sends SET score = $1, comment = $2, answered_via = $3, answered_at = $4 WHERE key = $5 AND score IS NULL;

-- name: pending-survey-send
SELECT key, survey_id, type, profile_id, channel, store_id, journey_id, agent, conversation_id, language, sent_at, expires_at,
    score, comment, answered_via, answered_at
FROM survey_sends WHERE profile_id = $1 AND channel = $2 AND score IS NULL AND expires_at > $3
ORDER BY sent_at DESC, key DESC LIMIT 1;

-- Listing by survey or by profile, each on its index.

-- name: list-survey-sends-by-survey
SELECT key, survey_id, type, profile_id, channel, store_id, journey_id, agent, conversation_id, language, sent_at, expires_at,
    score, comment, answered_via, answered_at
FROM survey_sends
WHERE survey_id = $1 AND ($2::int = 0 OR ($2 = 1) = (score IS NOT NULL))
ORDER BY sent_at DESC, key DESC LIMIT $3;

-- name: list-survey-sends-by-profile
SELECT key, survey_id, type, profile_id, channel, store_id, journey_id, agent, conversation_id, language, sent_at, expires_at,
    score, comment, answered_via, answered_at
FROM survey_sends
WHERE profile_id = $1 AND ($2::int = 0 OR ($2 = 1) = (score IS NOT NULL))
ORDER BY sent_at DESC, key DESC LIMIT $3;

-- name: list-survey-sends
SELECT key, survey_id, type, profile_id, channel, store_id, journey_id, agent, conversation_id, language, sent_at, expires_at,
    score, comment, answered_via, answered_at
FROM survey_sends
WHERE ($1::int = 0 OR ($1 = 1) = (score IS NOT NULL))
ORDER BY sent_at DESC, key DESC LIMIT $2;
