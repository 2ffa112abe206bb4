-- The spine: sources, the event log, dedup keys, rejections, consumer
-- checkpoints and admin keys. The same tables and columns as the SQLite
-- engine, in PostgreSQL types: times are timestamptz.

CREATE TABLE sources (
    id          text PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    channel     text NOT NULL,
    write_key   text NOT NULL UNIQUE,
    store_id    text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    disabled_at timestamptz
);

-- GENERATED ALWAYS so that sequence numbers come only from the identity
-- sequence, which never hands out a number twice. Gaps are possible (a
-- rolled-back append consumes numbers); readers rely on order, not density.
CREATE TABLE events (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id    text NOT NULL,
    message_id   text NOT NULL,
    type         text NOT NULL,
    event        text NOT NULL DEFAULT '',
    user_id      text,
    anonymous_id text,
    ts           timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    body         jsonb NOT NULL
);
CREATE INDEX events_user_id ON events (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX events_anonymous_id ON events (anonymous_id) WHERE anonymous_id IS NOT NULL;

-- The keys duplicates are recognised by, kept for the dedup window.
CREATE TABLE dedup_keys (
    source_id   text NOT NULL,
    message_id  text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (source_id, message_id)
);
CREATE INDEX dedup_keys_received_at ON dedup_keys (received_at);

CREATE TABLE rejections (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id   text NOT NULL,
    received_at timestamptz NOT NULL,
    message_id  text NOT NULL DEFAULT '',
    idx         integer NOT NULL,
    action      text NOT NULL,
    code        text NOT NULL,
    field       text NOT NULL DEFAULT '',
    reason      text NOT NULL,
    payload     text NOT NULL DEFAULT ''
);

CREATE TABLE checkpoints (
    consumer   text PRIMARY KEY,
    seq        bigint NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE admin_keys (
    hash       text PRIMARY KEY,
    created_at timestamptz NOT NULL
);
