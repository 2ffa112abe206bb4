-- Commerce's transactional outbox: each write that changes commerce state
-- inserts the events it causes here in its own transaction, so the change
-- and its events commit or roll back together. The relay appends them to
-- the event log in seq order and deletes them once the append is durable;
-- a re-sent event is dropped by the log's (source, messageId) dedup.
-- AUTOINCREMENT: a seq is never reused, even after its row is deleted.
CREATE TABLE commerce_outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    event      BLOB NOT NULL,   -- the event as JSON
    created_at INTEGER NOT NULL -- unix microseconds: when the change was made
);
