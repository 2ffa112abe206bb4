-- Surveys (issue 21.3): NPS and CSAT definitions, and every survey sent
-- with its answer.

CREATE TABLE surveys (
    id         TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    definition TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per survey sent. The link's token signs key; score is NULL
-- until the one answer the send takes.
CREATE TABLE survey_sends (
    key             TEXT PRIMARY KEY,
    survey_id       TEXT NOT NULL,
    type            TEXT NOT NULL,
    profile_id      INTEGER NOT NULL,
    channel         TEXT NOT NULL DEFAULT '',
    store_id        TEXT NOT NULL DEFAULT '',
    journey_id      TEXT NOT NULL DEFAULT '',
    agent           TEXT NOT NULL DEFAULT '',
    conversation_id TEXT NOT NULL DEFAULT '',
    language        TEXT NOT NULL DEFAULT '',
    sent_at         INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    score           INTEGER,
    comment         TEXT NOT NULL DEFAULT '',
    answered_via    TEXT NOT NULL DEFAULT '',
    answered_at     INTEGER
) WITHOUT ROWID;

-- A text reply finds the customer's pending survey on its channel.
CREATE INDEX survey_sends_profile ON survey_sends (profile_id, channel, sent_at);
CREATE INDEX survey_sends_survey ON survey_sends (survey_id, sent_at);
