-- Cluster fencing (issue 18, docs/scale.md "Fencing"): the node that takes
-- the pipeline lease records the lease's token here before it starts the
-- stages; its connections then declare that token (the session setting
-- parcours.fence), and every write of the pipeline's tables by a session
-- that declares a token other than the current one is refused. A node that
-- lost the lease while paused cannot write after the new owner started,
-- whether or not it noticed yet. Sessions that declare no token (single
-- node, the CLI, nodes that never held the lease) are not checked.

CREATE TABLE cluster_fence (
    name      text PRIMARY KEY,
    epoch     bigint NOT NULL, -- when the lease bucket was created (unix ns): a recreated bucket starts its revisions again
    token     bigint NOT NULL, -- the lease's revision when it was acquired
    node      text NOT NULL,   -- the node id (not "holder": a profile column name elsewhere)
    fenced_at timestamptz NOT NULL
);

-- The check runs once per statement. A checked statement holds a shared
-- advisory lock (per schema) until its transaction ends; the new owner
-- takes it exclusively to move the token, so no transaction that passed
-- the check with the old token is still open once the token has moved.
CREATE FUNCTION parcours_fence_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    mine text := current_setting('parcours.fence', true);
    cur  text;
BEGIN
    IF mine IS NULL OR mine = '' THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(1885434467, hashtext(current_schema()));
    SELECT epoch || ':' || token || ' (' || node || ')' INTO cur FROM cluster_fence WHERE name = 'pipeline';
    IF cur IS NULL OR split_part(cur, ' ', 1) <> mine THEN
        RAISE EXCEPTION 'fenced: this node wrote % as the pipeline owner %, but the owner is now %', TG_TABLE_NAME, mine, COALESCE(cur, 'unknown')
            USING ERRCODE = 'PF001', HINT = 'another node took the pipeline lease; this node must stop its stages and restart';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER checkpoints_fence BEFORE INSERT OR UPDATE OR DELETE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION parcours_fence_check();
CREATE TRIGGER outbox_fence BEFORE INSERT OR UPDATE OR DELETE ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION parcours_fence_check();
CREATE TRIGGER journey_enrolments_fence BEFORE INSERT OR UPDATE OR DELETE ON journey_enrolments
    FOR EACH STATEMENT EXECUTE FUNCTION parcours_fence_check();
CREATE TRIGGER journey_date_timers_fence BEFORE INSERT OR UPDATE OR DELETE ON journey_date_timers
    FOR EACH STATEMENT EXECUTE FUNCTION parcours_fence_check();
CREATE TRIGGER segment_timers_fence BEFORE INSERT OR UPDATE OR DELETE ON segment_timers
    FOR EACH STATEMENT EXECUTE FUNCTION parcours_fence_check();
CREATE TRIGGER reservations_fence BEFORE INSERT OR UPDATE OR DELETE ON reservations
    FOR EACH STATEMENT EXECUTE FUNCTION parcours_fence_check();
CREATE TRIGGER commerce_outbox_fence BEFORE INSERT OR UPDATE OR DELETE ON commerce_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION parcours_fence_check();
