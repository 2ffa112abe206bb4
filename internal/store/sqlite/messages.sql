-- The message pipeline's queries: outbox, templates, consent, suppressions.
-- List queries are completed with a WHERE clause built in Go.

-- name: enqueue-message
-- A state no event announces (queued) is stored as notified: the announcer
-- has nothing to read, nothing to mark.
INSERT INTO outbox (send_key, profile_id, user_id, anonymous_id, channel, channel_reason, topic, transactional, template_id, campaign, address, payload, status, reason, due_at, created_at, updated_at, notified)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?13 NOT IN ('sent', 'failed', 'skipped', 'deferred'))
ON CONFLICT (send_key) DO NOTHING
RETURNING id;

-- name: message-id-by-key
SELECT id FROM outbox WHERE send_key = ?1;

-- name: claim-messages
UPDATE outbox SET status = 'sending', lease_token = ?1, lease_node = ?5, called_at = NULL, due_at = ?2, attempts = attempts + 1, version = version + 1, updated_at = ?3
WHERE id IN (SELECT id FROM outbox WHERE due_at IS NOT NULL AND due_at <= ?3 ORDER BY due_at LIMIT ?4)
RETURNING id, send_key, profile_id, user_id, anonymous_id, channel, channel_reason, topic, transactional, template_id, campaign, address, payload, status, reason, attempts, due_at, lease_token, provider, provider_id, created_at, updated_at, sent_at, version, lease_node, called_at;

-- name: finish-message
UPDATE outbox SET status = ?3, reason = ?4, due_at = ?5, provider = ?6, provider_id = ?7,
    attempts = attempts - ?10, sent_at = COALESCE(?8, sent_at), updated_at = ?9, version = version + 1, lease_token = '', lease_node = '', called_at = NULL,
    notified = ?3 NOT IN ('sent', 'failed', 'skipped', 'deferred')
WHERE id = ?1 AND lease_token = ?2 AND status = 'sending';

-- name: mark-calling
-- The provider is about to be called under this lease: from here on a
-- crash leaves the outcome in doubt.
UPDATE outbox SET called_at = ?3 WHERE id = ?1 AND lease_token = ?2 AND status = 'sending';

-- name: leased-by-node
SELECT id, send_key, profile_id, user_id, anonymous_id, channel, channel_reason, topic, transactional, template_id, campaign, address, payload, status, reason, attempts, due_at, lease_token, provider, provider_id, created_at, updated_at, sent_at, version, lease_node, called_at FROM outbox WHERE status = 'sending' AND lease_node = ?1 ORDER BY id;

-- name: unnotified-messages
-- Without the payload: the announcement does not need it, and it is most
-- of the row.
SELECT id, send_key, profile_id, user_id, anonymous_id, channel, channel_reason, topic, transactional, template_id, campaign, address, NULL AS payload, status, reason, attempts, due_at, lease_token, provider, provider_id, created_at, updated_at, sent_at, version, lease_node, called_at FROM outbox WHERE notified = 0 ORDER BY id LIMIT ?1;

-- name: mark-notified
-- ?1: a JSON array of [id, version] pairs, the states read.
UPDATE outbox SET notified = 1
FROM (SELECT value ->> 0 AS id, value ->> 1 AS version FROM json_each(?1)) AS read
WHERE outbox.id = read.id AND outbox.version = read.version;

-- name: message-by-id
SELECT id, send_key, profile_id, user_id, anonymous_id, channel, channel_reason, topic, transactional, template_id, campaign, address, payload, status, reason, attempts, due_at, lease_token, provider, provider_id, created_at, updated_at, sent_at, version, lease_node, called_at FROM outbox WHERE id = ?1;

-- name: message-by-key
SELECT id, send_key, profile_id, user_id, anonymous_id, channel, channel_reason, topic, transactional, template_id, campaign, address, payload, status, reason, attempts, due_at, lease_token, provider, provider_id, created_at, updated_at, sent_at, version, lease_node, called_at FROM outbox WHERE send_key = ?1;

-- name: messages-by-keys
-- The keys are a JSON array (SQLite) or a text array (PostgreSQL).
SELECT id, send_key, profile_id, user_id, anonymous_id, channel, channel_reason, topic, transactional, template_id, campaign, address, payload, status, reason, attempts, due_at, lease_token, provider, provider_id, created_at, updated_at, sent_at, version, lease_node, called_at FROM outbox WHERE send_key IN (SELECT value FROM json_each(?1));

-- name: message-by-provider-id
SELECT id, send_key, profile_id, user_id, anonymous_id, channel, channel_reason, topic, transactional, template_id, campaign, address, payload, status, reason, attempts, due_at, lease_token, provider, provider_id, created_at, updated_at, sent_at, version, lease_node, called_at FROM outbox WHERE provider = ?1 AND provider_id = ?2 ORDER BY id DESC LIMIT 1;

-- name: list-messages
SELECT id, send_key, profile_id, user_id, anonymous_id, channel, channel_reason, topic, transactional, template_id, campaign, address, payload, status, reason, attempts, due_at, lease_token, provider, provider_id, created_at, updated_at, sent_at, version, lease_node, called_at FROM outbox

-- name: count-sent
SELECT COUNT(*) FROM outbox

-- name: save-template
INSERT INTO message_templates (id, name, topic, body, version, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, topic = excluded.topic, body = excluded.body,
    version = message_templates.version + 1, updated_at = excluded.updated_at
RETURNING version, created_at;

-- name: template
SELECT id, name, topic, body, version, created_at, updated_at FROM message_templates WHERE id = ?1;

-- name: list-templates
SELECT id, name, topic, body, version, created_at, updated_at FROM message_templates ORDER BY id;

-- name: delete-template
DELETE FROM message_templates WHERE id = ?1;

-- name: insert-consent
INSERT INTO consent_ledger (key, profile_id, channel, topic, granted, source, at, proof)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT (key) DO NOTHING
RETURNING id;

-- name: upsert-consent-state
INSERT INTO consent_state (profile_id, channel, topic, granted, source, at, ledger_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (profile_id, channel, topic) DO UPDATE SET granted = excluded.granted, source = excluded.source,
    at = excluded.at, ledger_id = excluded.ledger_id
WHERE excluded.at > consent_state.at OR (excluded.at = consent_state.at AND excluded.ledger_id > consent_state.ledger_id);

-- name: consent-state
SELECT profile_id, channel, topic, granted, source, at, ledger_id FROM consent_state

-- name: consent-ledger
SELECT id, profile_id, channel, topic, granted, source, at, proof FROM consent_ledger

-- name: consent-by-key
SELECT id, profile_id, channel, topic, granted, source, at, proof FROM consent_ledger WHERE key = ?;

-- name: suppress
INSERT INTO suppressions (channel, address, reason, source, at) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (channel, address) DO NOTHING;

-- name: suppression
SELECT channel, address, reason, source, at FROM suppressions WHERE channel = ?1 AND address = ?2;

-- name: suppressions
SELECT channel, address, reason, source, at FROM suppressions WHERE channel = ?1 AND address IN (SELECT value FROM json_each(?2));
