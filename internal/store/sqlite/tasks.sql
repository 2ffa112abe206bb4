-- Queries of the tasks for store staff and of the date_trait timers.

-- name: insert-task
INSERT INTO tasks (key, store_id, profile_id, journey_id, title, note, status, detail, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO NOTHING;

-- name: task-by-key
SELECT id, key, store_id, profile_id, journey_id, title, note, status, detail, created_at, done_at FROM tasks WHERE key = ?;

-- name: task
SELECT id, key, store_id, profile_id, journey_id, title, note, status, detail, created_at, done_at FROM tasks WHERE id = ?;

-- name: list-tasks
SELECT id, key, store_id, profile_id, journey_id, title, note, status, detail, created_at, done_at FROM tasks
WHERE (? = '' OR store_id = ?) AND (? = '' OR status = ?) AND id > ?
ORDER BY id LIMIT ?;

-- name: list-profile-tasks
SELECT id, key, store_id, profile_id, journey_id, title, note, status, detail, created_at, done_at FROM tasks INDEXED BY tasks_profile
WHERE profile_id = ? AND (? = '' OR store_id = ?) AND (? = '' OR status = ?) AND id > ?
ORDER BY id LIMIT ?;

-- name: set-task-status
UPDATE tasks SET status = ?, done_at = ? WHERE id = ?;

-- name: upsert-date-timer
INSERT INTO journey_date_timers (journey_id, trigger, profile_id, due_at, occurrence) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (journey_id, trigger, profile_id) DO UPDATE SET due_at = excluded.due_at, occurrence = excluded.occurrence
WHERE journey_date_timers.due_at > ?;

-- name: delete-date-timer
DELETE FROM journey_date_timers WHERE journey_id = ? AND trigger = ? AND profile_id = ? AND due_at > ?;

-- name: due-date-timers
SELECT t.journey_id, t.trigger, t.profile_id, t.due_at, t.occurrence
FROM journey_date_timers t INDEXED BY journey_date_timers_due JOIN journeys j ON j.id = t.journey_id
WHERE t.due_at <= ? AND j.status = 'live'
ORDER BY t.due_at LIMIT ?;
