-- Queries of the customer service conversations.

-- name: insert-conversation
INSERT INTO conversations (profile_id, contact, status, team, store_id, assignee, tags, priority, subject, channel,
    created_at, updated_at, last_message_at, first_response_due, resolution_due)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14)
ON CONFLICT (profile_id, contact) WHERE status <> 'resolved' DO NOTHING;

-- name: active-conversation
SELECT id, profile_id, contact, status, team, store_id, assignee, tags, priority, subject, channel, merged_into, version, created_at, updated_at, last_message_at, first_response_at, resolved_at, first_response_due, resolution_due, breaches FROM conversations WHERE profile_id = $1 AND contact = $2 AND status <> 'resolved';

-- name: conversation
SELECT id, profile_id, contact, status, team, store_id, assignee, tags, priority, subject, channel, merged_into, version, created_at, updated_at, last_message_at, first_response_at, resolved_at, first_response_due, resolution_due, breaches FROM conversations WHERE id = $1;

-- name: list-conversations
-- A queue or a search; list-conversations-store and -profile are the
-- same with their filter written so that an index serves it.
SELECT id, profile_id, contact, status, team, store_id, assignee, tags, priority, subject, channel, merged_into, version, created_at, updated_at, last_message_at, first_response_at, resolved_at, first_response_due, resolution_due, breaches FROM conversations c
WHERE ($1 = '' OR ($1 = 'active' AND status <> 'resolved') OR status = $1)
  AND ($2 = '' OR team = $2) AND ($3 = '' OR store_id = $3)
  AND ($4 = '' OR ($4 = '-' AND assignee = '') OR assignee = $4)
  AND ($5::bigint = 0 OR profile_id = $5)
  AND ($6 = '' OR tags LIKE '%' || $6 || '%')
  AND ($7 = '' OR priority = $7)
  AND ($8 = '' OR id IN (SELECT conversation_id FROM conversation_messages WHERE body ILIKE '%' || $8 || '%'))
  AND id > $9
  AND ($11 = '' OR contact = $11)
ORDER BY id LIMIT $10;

-- name: list-conversations-store
-- The same, for one store's queue: by the index (store_id, id).
SELECT id, profile_id, contact, status, team, store_id, assignee, tags, priority, subject, channel, merged_into, version, created_at, updated_at, last_message_at, first_response_at, resolved_at, first_response_due, resolution_due, breaches FROM conversations c
WHERE ($1 = '' OR ($1 = 'active' AND status <> 'resolved') OR status = $1)
  AND ($2 = '' OR team = $2) AND store_id = $3 AND $3 <> ''
  AND ($4 = '' OR ($4 = '-' AND assignee = '') OR assignee = $4)
  AND ($5::bigint = 0 OR profile_id = $5)
  AND ($6 = '' OR tags LIKE '%' || $6 || '%')
  AND ($7 = '' OR priority = $7)
  AND ($8 = '' OR id IN (SELECT conversation_id FROM conversation_messages WHERE body ILIKE '%' || $8 || '%'))
  AND id > $9
  AND ($11 = '' OR contact = $11)
ORDER BY id LIMIT $10;

-- name: list-conversations-profile
-- The same, for one customer's: by the index (profile_id, id).
SELECT id, profile_id, contact, status, team, store_id, assignee, tags, priority, subject, channel, merged_into, version, created_at, updated_at, last_message_at, first_response_at, resolved_at, first_response_due, resolution_due, breaches FROM conversations c
WHERE ($1 = '' OR ($1 = 'active' AND status <> 'resolved') OR status = $1)
  AND ($2 = '' OR team = $2) AND ($3 = '' OR store_id = $3)
  AND ($4 = '' OR ($4 = '-' AND assignee = '') OR assignee = $4)
  AND profile_id = $5
  AND ($6 = '' OR tags LIKE '%' || $6 || '%')
  AND ($7 = '' OR priority = $7)
  AND ($8 = '' OR id IN (SELECT conversation_id FROM conversation_messages WHERE body ILIKE '%' || $8 || '%'))
  AND id > $9
  AND ($11 = '' OR contact = $11)
ORDER BY id LIMIT $10;

-- name: update-conversation
UPDATE conversations SET status = $1, team = $2, store_id = $3, assignee = $4, tags = $5, priority = $6, subject = $7,
    channel = $8, merged_into = $9, updated_at = $10, last_message_at = $11, first_response_at = $12, resolved_at = $13,
    first_response_due = $14, resolution_due = $15, breaches = $16, version = version + 1
WHERE id = $17 AND version = $18;

-- name: insert-conversation-message
INSERT INTO conversation_messages (conversation_id, profile_id, key, channel, direction, author, subject, body, internal,
    status, provider, provider_id, outbox_id, thread, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (key) DO NOTHING;

-- name: conversation-message-by-key
SELECT id, conversation_id, profile_id, key, channel, direction, author, subject, body, internal, status, provider, provider_id, outbox_id, thread, created_at FROM conversation_messages WHERE key = $1;

-- name: conversation-messages
SELECT id, conversation_id, profile_id, key, channel, direction, author, subject, body, internal, status, provider, provider_id, outbox_id, thread, created_at FROM conversation_messages WHERE conversation_id = $1 ORDER BY id;

-- name: conversation-message-by-thread
SELECT id, conversation_id, profile_id, key, channel, direction, author, subject, body, internal, status, provider, provider_id, outbox_id, thread, created_at FROM conversation_messages WHERE thread = $1 ORDER BY id LIMIT 1;

-- name: set-conversation-message-status
UPDATE conversation_messages SET
    -- A step on the way (sent) never overwrites an outcome (delivered,
    -- read, failed): the receipts and the announcements race.
    status = CASE WHEN $1 IN ('queued', 'deferred', 'retrying', 'sending', 'sent')
        AND status NOT IN ('', 'queued', 'deferred', 'retrying', 'sending', 'sent') THEN status ELSE $1 END,
    provider_id = CASE WHEN $2 = '' THEN provider_id ELSE $2 END,
    outbox_id = CASE WHEN $3::bigint = 0 THEN outbox_id ELSE $3 END WHERE key = $4;

-- name: move-conversation-messages
UPDATE conversation_messages SET conversation_id = $1 WHERE conversation_id = $2;

-- name: merge-conversation
UPDATE conversations SET status = 'resolved', merged_into = $1, resolved_at = $2, updated_at = $2,
    first_response_due = NULL, resolution_due = NULL, version = version + 1
WHERE id = $3;

-- name: due-conversation-slas
SELECT id, profile_id, contact, status, team, store_id, assignee, tags, priority, subject, channel, merged_into, version, created_at, updated_at, last_message_at, first_response_at, resolved_at, first_response_due, resolution_due, breaches FROM conversations WHERE id IN (
    SELECT id FROM conversations WHERE first_response_due <= $1
    UNION SELECT id FROM conversations WHERE resolution_due <= $1)
ORDER BY LEAST(first_response_due, resolution_due), id LIMIT $2;

-- name: last-inbound
SELECT max(created_at) FROM conversation_messages WHERE profile_id = $1 AND channel = $2 AND direction = 'inbound';

-- name: round-robin-last
SELECT last FROM conversation_round_robin WHERE queue = $1 FOR UPDATE;

-- name: round-robin-set
INSERT INTO conversation_round_robin (queue, last) VALUES ($1, $2)
ON CONFLICT (queue) DO UPDATE SET last = excluded.last;

-- name: round-robin-init
INSERT INTO conversation_round_robin (queue, last) VALUES ($1, '') ON CONFLICT (queue) DO NOTHING;
