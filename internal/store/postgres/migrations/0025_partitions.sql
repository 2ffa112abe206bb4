-- Partitioned stages (issue 18.3, docs/scale.md "Partitions that respect
-- identity"): the live nodes (heartbeats), one lease per partition (the
-- node that runs the partition's stages, and a fence token that grows
-- with every change of holder), and the route of each event (the
-- partition of the profile it belongs to, decided once by the ordered
-- router behind unify).

CREATE TABLE cluster_nodes (
    node         text PRIMARY KEY,
    address      text NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL
);

CREATE TABLE partition_leases (
    part       integer PRIMARY KEY,
    node       text NOT NULL DEFAULT '',      -- '' : free
    token      bigint NOT NULL DEFAULT 0,     -- +1 at every claim
    expires_at timestamptz NOT NULL DEFAULT '-infinity',
    moved_at   timestamptz
);

-- One row per event of the log, written by the router with its checkpoint
-- in one transaction and never changed: every partition reads the same
-- routing, whatever merges happen later.
CREATE TABLE event_routes (
    seq         bigint PRIMARY KEY,
    part        integer NOT NULL,
    profile_id  bigint NOT NULL,  -- 0: no profile
    merged_id   bigint NOT NULL DEFAULT 0,  -- Profile Merged: the merged profile
    merged_part integer NOT NULL DEFAULT -1 -- and its partition (the barrier)
);
CREATE INDEX event_routes_part ON event_routes (part, seq);

-- A partition's checkpoint (consumer "<stage>.p<n>") is written in the same
-- transaction as the state it covers; a session that declares its node
-- (parcours.node) may write it only while that node holds the partition's
-- lease, unexpired. The row lock taken here (FOR SHARE) makes a claim by
-- another node wait until such a transaction has ended: once a partition
-- has moved, nothing of its old holder commits.
CREATE FUNCTION parcours_partition_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    mine   text := current_setting('parcours.node', true);
    v_part   text;
    v_holder text;
    v_until  timestamptz;
BEGIN
    IF mine IS NULL OR mine = '' THEN
        RETURN NEW;
    END IF;
    v_part := substring(NEW.consumer from '\.p([0-9]+)$');
    IF v_part IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT l.node, l.expires_at INTO v_holder, v_until FROM partition_leases l WHERE l.part = v_part::integer FOR SHARE;
    IF v_holder IS DISTINCT FROM mine OR v_until <= clock_timestamp() THEN
        RAISE EXCEPTION 'fenced: node % wrote the checkpoint % of partition %, which node % holds now', mine, NEW.consumer, v_part, COALESCE(NULLIF(v_holder, ''), 'no one')
            USING ERRCODE = 'PF002', HINT = 'the partition moved to another node (or its lease expired); this node stops the partition and lets its new holder go on';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER checkpoints_partition BEFORE INSERT OR UPDATE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION parcours_partition_check();
