-- Retention forgets idempotency keys older than its period (serve
-- --retain-request-keys), oldest first, in batches: this index finds them
-- without scanning the table.
CREATE INDEX request_keys_created ON request_keys (created_at);
