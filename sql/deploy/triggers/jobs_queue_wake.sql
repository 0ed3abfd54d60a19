-- Deploy pgjobs:triggers/jobs_queue_wake to pg
-- requires: triggers/jobs_queue_wake@v0.5.0
-- A free serial queue keeps only its head claimable; the rest wait parked ('blocked') and
-- each release wakes the next one. When a waiting job of a queue leaves by another road
-- (an admin removes or fails it, reschedule_jobs delays it, a job key moves it to another
-- queue), the triggers of this change record a wake request for the queue in
-- app_jobs.job_queue_wakes; get_job's sweep then wakes the next parked job if the queue is
-- free and has nothing claimable (see the first instance of this change for why it is
-- recorded, not decided, here).
-- 0.6.0: the triggers' WHEN condition is only OLD.queue_name IS NOT NULL; the function tests
-- the rest (a waiting job, ready or blocked, that leaves: deleted, delayed to 'scheduled',
-- or moved to another queue or tenant), so the same requests are recorded. PostgreSQL
-- compiles a row trigger's WHEN condition from its stored text again for every statement
-- that may fire the trigger: every claim (an UPDATE) and every finish (a DELETE) compiled the
-- long condition, for jobs of any queue or of none. callgrind, one job per transaction
-- (get_job then complete_job): 8% fewer instructions with this change and triggers/jobs_notify
-- of 0.6.0. A job of a named queue now calls the function at its claim and finish, which
-- returns without a write.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._tg_jobs_queue_wake()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- The triggers' WHEN tested OLD.queue_name IS NOT NULL. A claim (state running) or the
  -- finish of a running job is no wake-up: the queue's lock is released by its finish.
  IF OLD.state IN ('ready', 'blocked')
     AND (TG_OP = 'DELETE'
          OR NEW.state = 'scheduled'
          OR NEW.queue_name IS DISTINCT FROM OLD.queue_name
          OR NEW.database_id IS DISTINCT FROM OLD.database_id) THEN
    INSERT INTO app_jobs.job_queue_wakes (database_id, queue_name)
    VALUES (OLD.database_id, OLD.queue_name);
  END IF;
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_queue_wake() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_queue_wake() IS
  'Internal (trigger on app_jobs.jobs): when a waiting job leaves its serial queue other than by a claim, records a wake request that get_job''s sweep settles.';

DROP TRIGGER jobs_queue_wake_delete ON app_jobs.jobs;
CREATE TRIGGER jobs_queue_wake_delete
  AFTER DELETE ON app_jobs.jobs
  FOR EACH ROW
  WHEN (OLD.queue_name IS NOT NULL)
  EXECUTE FUNCTION app_jobs._tg_jobs_queue_wake();

DROP TRIGGER jobs_queue_wake_update ON app_jobs.jobs;
CREATE TRIGGER jobs_queue_wake_update
  AFTER UPDATE ON app_jobs.jobs
  FOR EACH ROW
  WHEN (OLD.queue_name IS NOT NULL)
  EXECUTE FUNCTION app_jobs._tg_jobs_queue_wake();

COMMIT;
