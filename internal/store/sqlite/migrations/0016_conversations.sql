-- Customer service conversations (issue 21): one per customer while not
-- resolved, across channels; their messages, idempotent by key; the
-- round-robin cursor of each queue. Times are microseconds.

CREATE TABLE conversations (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    profile_id         INTEGER NOT NULL,
    contact            TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL,
    team               TEXT NOT NULL DEFAULT '',
    store_id           TEXT NOT NULL DEFAULT '',
    assignee           TEXT NOT NULL DEFAULT '',
    tags               TEXT NOT NULL DEFAULT '[]',
    priority           TEXT NOT NULL DEFAULT 'normal',
    subject            TEXT NOT NULL DEFAULT '',
    channel            TEXT NOT NULL DEFAULT '',
    merged_into        INTEGER NOT NULL DEFAULT 0,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    last_message_at    INTEGER,
    first_response_at  INTEGER,
    resolved_at        INTEGER,
    first_response_due INTEGER,
    resolution_due     INTEGER,
    breaches           TEXT NOT NULL DEFAULT '[]'
);
-- One conversation per customer (or unknown sender) that is not resolved.
CREATE UNIQUE INDEX conversations_active ON conversations (profile_id, contact) WHERE status <> 'resolved';
CREATE INDEX conversations_status ON conversations (status, id);
CREATE INDEX conversations_profile ON conversations (profile_id, id);
CREATE INDEX conversations_store ON conversations (store_id, id);
CREATE INDEX conversations_first_response_due ON conversations (first_response_due) WHERE first_response_due IS NOT NULL;
CREATE INDEX conversations_resolution_due ON conversations (resolution_due) WHERE resolution_due IS NOT NULL;

CREATE TABLE conversation_messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL,
    key             TEXT NOT NULL UNIQUE,
    channel         TEXT NOT NULL,
    direction       TEXT NOT NULL,
    author          TEXT NOT NULL DEFAULT '',
    subject         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL,
    internal        INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT '',
    provider        TEXT NOT NULL DEFAULT '',
    provider_id     TEXT NOT NULL DEFAULT '',
    outbox_id       INTEGER NOT NULL DEFAULT 0,
    thread          TEXT NOT NULL DEFAULT '',
    profile_id      INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);
CREATE INDEX conversation_messages_conversation ON conversation_messages (conversation_id, id);
CREATE INDEX conversation_messages_thread ON conversation_messages (thread) WHERE thread <> '';
CREATE INDEX conversation_messages_inbound ON conversation_messages (profile_id, channel, created_at) WHERE direction = 'inbound';

CREATE TABLE conversation_round_robin (
    queue TEXT PRIMARY KEY,
    last  TEXT NOT NULL
) WITHOUT ROWID;
