-- Deploy pgjobs:triggers/jobs_updated to pg
-- requires: triggers/jobs_notify
-- requires: triggers/jobs_queue_wake
-- 0.6.0: what an UPDATE of a job tells others, in one row trigger where two were. A job made
-- claimable (ready, from another state) sends NOTIFY "jobs:insert" (workers LISTEN on it);
-- a waiting job (ready or blocked) of a serial queue that leaves the queue other than by a
-- claim (delayed to scheduled, moved to another queue or tenant) records a wake request for
-- the sweep. Until now jobs_notify_ready (WHEN new.state = 'ready') and
-- jobs_queue_wake_update (WHEN old.queue_name IS NOT NULL) did this, and PostgreSQL compiles
-- each row trigger's WHEN condition from its stored text again for every statement that may
-- fire it: every claim paid for both. Both events concern a job that is not locked after the
-- update (a ready, scheduled or blocked job has no lock: the CHECK jobs_rules_check), so one
-- trigger with the cheapest condition there is, a null test of new.locked_by, covers them,
-- and a claim (which locks its job) compiles that alone. Its function tests the rest; it now
-- runs for every update of an unlocked job (a job made ready or parked, a waiting job
-- rescheduled), one call where the old triggers may have run none. One road is left, a
-- waiting job of a queue locked and moved to another queue or tenant in the same statement
-- (no pgjobs function does both): jobs_queue_moved, a trigger on those two columns only,
-- which no claim and no finish sets. `make bench-cpu` (steady): a get_job and complete_job
-- 837,000 to 820,000 instructions per job.
-- The triggers and the function they replace come back with the revert.

BEGIN;

CREATE FUNCTION app_jobs._tg_jobs_updated()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- A job made claimable: news for the workers.
  IF NEW.state = 'ready' AND OLD.state <> 'ready' THEN
    PERFORM pg_catalog.pg_notify('jobs:insert', '');
  END IF;
  -- A waiting job leaving its serial queue other than by a claim (the claim locks it).
  IF OLD.queue_name IS NOT NULL
     AND OLD.state IN ('ready', 'blocked')
     AND (NEW.state = 'scheduled'
          OR NEW.queue_name IS DISTINCT FROM OLD.queue_name
          OR NEW.database_id IS DISTINCT FROM OLD.database_id) THEN
    INSERT INTO app_jobs.job_queue_wakes (database_id, queue_name)
    VALUES (OLD.database_id, OLD.queue_name);
  END IF;
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_updated() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_updated() IS
  'Internal (triggers jobs_updated and jobs_queue_moved on app_jobs.jobs): NOTIFY "jobs:insert" when an update makes a job claimable; records a wake request when a waiting job of a serial queue leaves it other than by a claim.';

DROP TRIGGER jobs_notify_ready ON app_jobs.jobs;
DROP TRIGGER jobs_queue_wake_update ON app_jobs.jobs;
DROP FUNCTION app_jobs._tg_jobs_notify();

CREATE TRIGGER jobs_updated
  AFTER UPDATE ON app_jobs.jobs
  FOR EACH ROW
  WHEN (NEW.locked_by IS NULL)
  EXECUTE FUNCTION app_jobs._tg_jobs_updated();

CREATE TRIGGER jobs_queue_moved
  AFTER UPDATE OF queue_name, database_id ON app_jobs.jobs
  FOR EACH ROW
  WHEN (NEW.locked_by IS NOT NULL AND OLD.queue_name IS NOT NULL)
  EXECUTE FUNCTION app_jobs._tg_jobs_updated();

COMMIT;
