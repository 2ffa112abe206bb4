-- Clienteling (issue 21.5): a customer's open tasks, read by profile when
-- a store associate opens their card.

CREATE INDEX tasks_profile ON tasks (profile_id, id);
