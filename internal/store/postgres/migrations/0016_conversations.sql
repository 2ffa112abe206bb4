-- Customer service conversations (issue 21): one per customer while not
-- resolved, across channels; their messages, idempotent by key; the
-- round-robin cursor of each queue. The same tables as the SQLite engine,
-- in PostgreSQL types.

CREATE TABLE conversations (
    id                 bigserial PRIMARY KEY,
    profile_id         bigint NOT NULL,
    contact            text NOT NULL DEFAULT '',
    status             text NOT NULL,
    team               text NOT NULL DEFAULT '',
    store_id           text NOT NULL DEFAULT '',
    assignee           text NOT NULL DEFAULT '',
    tags               text NOT NULL DEFAULT '[]',
    priority           text NOT NULL DEFAULT 'normal',
    subject            text NOT NULL DEFAULT '',
    channel            text NOT NULL DEFAULT '',
    merged_into        bigint NOT NULL DEFAULT 0,
    version            bigint NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    last_message_at    timestamptz,
    first_response_at  timestamptz,
    resolved_at        timestamptz,
    first_response_due timestamptz,
    resolution_due     timestamptz,
    breaches           text NOT NULL DEFAULT '[]'
);
CREATE UNIQUE INDEX conversations_active ON conversations (profile_id, contact) WHERE status <> 'resolved';
CREATE INDEX conversations_status ON conversations (status, id);
CREATE INDEX conversations_profile ON conversations (profile_id, id);
CREATE INDEX conversations_store ON conversations (store_id, id);
CREATE INDEX conversations_first_response_due ON conversations (first_response_due) WHERE first_response_due IS NOT NULL;
CREATE INDEX conversations_resolution_due ON conversations (resolution_due) WHERE resolution_due IS NOT NULL;

CREATE TABLE conversation_messages (
    id              bigserial PRIMARY KEY,
    conversation_id bigint NOT NULL,
    key             text NOT NULL UNIQUE,
    channel         text NOT NULL,
    direction       text NOT NULL,
    author          text NOT NULL DEFAULT '',
    subject         text NOT NULL DEFAULT '',
    body            text NOT NULL,
    internal        boolean NOT NULL DEFAULT false,
    status          text NOT NULL DEFAULT '',
    provider        text NOT NULL DEFAULT '',
    provider_id     text NOT NULL DEFAULT '',
    outbox_id       bigint NOT NULL DEFAULT 0,
    thread          text NOT NULL DEFAULT '',
    profile_id      bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL
);
CREATE INDEX conversation_messages_conversation ON conversation_messages (conversation_id, id);
CREATE INDEX conversation_messages_thread ON conversation_messages (thread) WHERE thread <> '';
CREATE INDEX conversation_messages_inbound ON conversation_messages (profile_id, channel, created_at) WHERE direction = 'inbound';

CREATE TABLE conversation_round_robin (
    queue text PRIMARY KEY,
    last  text NOT NULL
);
