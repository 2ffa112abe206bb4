-- Queries of the tasks for store staff and of the date_trait timers.

-- name: insert-task
INSERT INTO tasks (key, store_id, profile_id, journey_id, title, note, status, detail, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (key) DO NOTHING;

-- name: task-by-key
SELECT id, key, store_id, profile_id, journey_id, title, note, status, detail, created_at, done_at FROM tasks WHERE key = $1;

-- name: task
SELECT id, key, store_id, profile_id, journey_id, title, note, status, detail, created_at, done_at FROM tasks WHERE id = $1;

-- name: list-tasks
SELECT id, key, store_id, profile_id, journey_id, title, note, status, detail, created_at, done_at FROM tasks
WHERE ($1 = '' OR store_id = $1) AND ($2 = '' OR status = $2) AND id > $3
ORDER BY id LIMIT $4;

-- name: list-profile-tasks
SELECT id, key, store_id, profile_id, journey_id, title, note, status, detail, created_at, done_at FROM tasks
WHERE profile_id = $1 AND ($2 = '' OR store_id = $2) AND ($3 = '' OR status = $3) AND id > $4
ORDER BY id LIMIT $5;

-- name: set-task-status
UPDATE tasks SET status = $1, done_at = $2 WHERE id = $3;

-- name: upsert-date-timer
INSERT INTO journey_date_timers (journey_id, trigger, profile_id, due_at, occurrence) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (journey_id, trigger, profile_id) DO UPDATE SET due_at = excluded.due_at, occurrence = excluded.occurrence
WHERE journey_date_timers.due_at > $6;

-- name: delete-date-timer
DELETE FROM journey_date_timers WHERE journey_id = $1 AND trigger = $2 AND profile_id = $3 AND due_at > $4;

-- name: due-date-timers
SELECT t.journey_id, t.trigger, t.profile_id, t.due_at, t.occurrence
FROM journey_date_timers t JOIN journeys j ON j.id = t.journey_id
WHERE t.due_at <= $1 AND j.status = 'live'
ORDER BY t.due_at LIMIT $2;
