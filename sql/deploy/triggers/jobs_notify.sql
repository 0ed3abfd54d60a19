-- Deploy pgjobs:triggers/jobs_notify to pg
-- requires: triggers/jobs_notify@v0.3.0
-- Workers LISTEN on "jobs:insert"; it fires when a job becomes claimable now, never on claim,
-- complete or a future run_at (see the first instance of this change). Since 0.4.0 an enqueue
-- notifies once per statement, not once per row: a bulk add_jobs of 50,000 jobs made 50,000
-- trigger calls (PostgreSQL folded their identical notifications into one anyway). The
-- statement trigger looks at the rows it inserted (a transition table) and notifies when one
-- of them is claimable now. A waiting job made claimable by an UPDATE still notifies from the
-- row trigger, which runs only for rows whose state becomes 'ready'.

BEGIN;

DROP TRIGGER jobs_notify_insert ON app_jobs.jobs;

CREATE FUNCTION app_jobs._tg_jobs_notify_inserted()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM inserted AS i WHERE i.state = 'ready') THEN
    PERFORM pg_catalog.pg_notify('jobs:insert', '');
  END IF;
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_notify_inserted() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_notify_inserted() IS
  'Internal (statement trigger on app_jobs.jobs): NOTIFY "jobs:insert" with an empty payload once per INSERT statement that enqueued a job claimable now.';

CREATE TRIGGER jobs_notify_insert
  AFTER INSERT ON app_jobs.jobs
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT
  EXECUTE FUNCTION app_jobs._tg_jobs_notify_inserted();

COMMIT;
