-- Commerce's transactional outbox: each write that changes commerce state
-- inserts the events it causes here in its own transaction, so the change
-- and its events commit or roll back together. The relay appends them to
-- the event log in seq order and deletes them once the append is durable;
-- a re-sent event is dropped by the log's (source, messageId) dedup. A seq
-- taken by a transaction that commits late may appear below seqs already
-- delivered: the relay deletes the seqs it delivered, not a range, so such
-- a row is delivered on the next pass.
CREATE TABLE commerce_outbox (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id text NOT NULL,
    event      bytea NOT NULL, -- the event as JSON, byte for byte
    created_at timestamptz NOT NULL
);
