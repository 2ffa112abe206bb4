-- Messages: the outbox, templates, consent and suppressions.

-- The outbox. send_key is unique: enqueueing a message twice is a no-op.
-- due_at is when the row wants attention: a waiting message's next try, a
-- sending message's lease expiry; NULL once final. Workers claim rows with
-- due_at <= now, through the partial index.
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    send_key       TEXT NOT NULL UNIQUE,
    profile_id     INTEGER NOT NULL,
    user_id        TEXT NOT NULL DEFAULT '',
    anonymous_id   TEXT NOT NULL DEFAULT '',
    channel        TEXT NOT NULL,
    channel_reason TEXT NOT NULL DEFAULT '',
    topic          TEXT NOT NULL DEFAULT '',
    transactional  INTEGER NOT NULL DEFAULT 0,
    template_id    TEXT NOT NULL DEFAULT '',
    campaign       TEXT NOT NULL DEFAULT '',
    address        TEXT NOT NULL DEFAULT '',
    payload        BLOB,
    status         TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    attempts       INTEGER NOT NULL DEFAULT 0,
    due_at         INTEGER,
    lease_token    TEXT NOT NULL DEFAULT '',
    provider       TEXT NOT NULL DEFAULT '',
    provider_id    TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    sent_at        INTEGER,
    -- version grows with every change: the announcer marks a row notified
    -- only if it has not changed since it was read (times can tie).
    version        INTEGER NOT NULL DEFAULT 1,
    notified       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX outbox_profile ON outbox (profile_id, id);
CREATE INDEX outbox_sent ON outbox (profile_id, sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_provider_id ON outbox (provider, provider_id) WHERE provider_id <> '';
CREATE INDEX outbox_unnotified ON outbox (id) WHERE notified = 0;

CREATE TABLE message_templates (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    topic      TEXT NOT NULL DEFAULT '',
    body       BLOB NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The append-only consent ledger, and the current state it leads to.
CREATE TABLE consent_ledger (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT NOT NULL UNIQUE,
    profile_id INTEGER NOT NULL,
    channel    TEXT NOT NULL,
    topic      TEXT NOT NULL,
    granted    INTEGER NOT NULL,
    source     TEXT NOT NULL,
    at         INTEGER NOT NULL,
    proof      BLOB
);
CREATE INDEX consent_ledger_profile ON consent_ledger (profile_id, id);

CREATE TABLE consent_state (
    profile_id INTEGER NOT NULL,
    channel    TEXT NOT NULL,
    topic      TEXT NOT NULL,
    granted    INTEGER NOT NULL,
    source     TEXT NOT NULL,
    at         INTEGER NOT NULL,
    ledger_id  INTEGER NOT NULL,
    PRIMARY KEY (profile_id, channel, topic)
) WITHOUT ROWID;

CREATE TABLE suppressions (
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    reason  TEXT NOT NULL,
    source  TEXT NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (channel, address)
) WITHOUT ROWID;
