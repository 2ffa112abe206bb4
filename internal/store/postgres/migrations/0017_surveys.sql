-- Surveys (issue 21.3): NPS and CSAT definitions, and every survey sent
-- with its answer.

CREATE TABLE surveys (
    id         text PRIMARY KEY,
    version    integer NOT NULL,
    definition jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);

-- One row per survey sent. The link's token signs key; score is NULL
-- until the one answer the send takes.
CREATE TABLE survey_sends (
    key             text PRIMARY KEY,
    survey_id       text NOT NULL,
    type            text NOT NULL,
    profile_id      bigint NOT NULL,
    channel         text NOT NULL DEFAULT '',
    store_id        text NOT NULL DEFAULT '',
    journey_id      text NOT NULL DEFAULT '',
    agent           text NOT NULL DEFAULT '',
    conversation_id text NOT NULL DEFAULT '',
    language        text NOT NULL DEFAULT '',
    sent_at         timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    score           integer,
    comment         text NOT NULL DEFAULT '',
    answered_via    text NOT NULL DEFAULT '',
    answered_at     timestamptz
);

-- A text reply finds the customer's pending survey on its channel.
CREATE INDEX survey_sends_profile ON survey_sends (profile_id, channel, sent_at);
CREATE INDEX survey_sends_survey ON survey_sends (survey_id, sent_at);
