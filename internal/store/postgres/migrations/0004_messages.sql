-- Messages: the outbox, templates, consent and suppressions.

-- The outbox. send_key is unique: enqueueing a message twice is a no-op.
-- due_at is when the row wants attention: a waiting message's next try, a
-- sending message's lease expiry; NULL once final. Workers claim rows with
-- due_at <= now, through the partial index.
CREATE TABLE outbox (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    send_key       text NOT NULL UNIQUE,
    profile_id     bigint NOT NULL,
    user_id        text NOT NULL DEFAULT '',
    anonymous_id   text NOT NULL DEFAULT '',
    channel        text NOT NULL,
    channel_reason text NOT NULL DEFAULT '',
    topic          text NOT NULL DEFAULT '',
    transactional  boolean NOT NULL DEFAULT false,
    template_id    text NOT NULL DEFAULT '',
    campaign       text NOT NULL DEFAULT '',
    address        text NOT NULL DEFAULT '',
    payload        bytea,
    status         text NOT NULL,
    reason         text NOT NULL DEFAULT '',
    attempts       integer NOT NULL DEFAULT 0,
    due_at         timestamptz,
    lease_token    text NOT NULL DEFAULT '',
    provider       text NOT NULL DEFAULT '',
    provider_id    text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    sent_at        timestamptz,
    -- version grows with every change: the announcer marks a row notified
    -- only if it has not changed since it was read (times can tie).
    version        bigint NOT NULL DEFAULT 1,
    notified       boolean NOT NULL DEFAULT false
);
CREATE INDEX outbox_due ON outbox (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX outbox_profile ON outbox (profile_id, id);
CREATE INDEX outbox_sent ON outbox (profile_id, sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_provider_id ON outbox (provider, provider_id) WHERE provider_id <> '';
CREATE INDEX outbox_unnotified ON outbox (id) WHERE NOT notified;

CREATE TABLE message_templates (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    topic      text NOT NULL DEFAULT '',
    body       bytea NOT NULL,
    version    integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- The append-only consent ledger, and the current state it leads to.
CREATE TABLE consent_ledger (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key        text NOT NULL UNIQUE,
    profile_id bigint NOT NULL,
    channel    text NOT NULL,
    topic      text NOT NULL,
    granted    boolean NOT NULL,
    source     text NOT NULL,
    at         timestamptz NOT NULL,
    proof      bytea
);
CREATE INDEX consent_ledger_profile ON consent_ledger (profile_id, id);

CREATE TABLE consent_state (
    profile_id bigint NOT NULL,
    channel    text NOT NULL,
    topic      text NOT NULL,
    granted    boolean NOT NULL,
    source     text NOT NULL,
    at         timestamptz NOT NULL,
    ledger_id  bigint NOT NULL,
    PRIMARY KEY (profile_id, channel, topic)
);

CREATE TABLE suppressions (
    channel text NOT NULL,
    address text NOT NULL,
    reason  text NOT NULL,
    source  text NOT NULL,
    at      timestamptz NOT NULL,
    PRIMARY KEY (channel, address)
);
