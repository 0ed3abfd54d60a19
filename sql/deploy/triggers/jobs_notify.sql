-- Deploy pgjobs:triggers/jobs_notify to pg
-- requires: triggers/jobs_notify@v0.5.0
-- Workers LISTEN on "jobs:insert". An insert notifies once per statement (jobs_notify_insert,
-- 0.4.0; since 0.6.0 triggers/jobs_check's statement trigger jobs_inserted, which checks the
-- inserted rows in the same pass); a job made claimable by an update (a serial queue
-- released, a due job promoted, a job rescheduled to now) notifies through the row trigger
-- jobs_notify_ready.
-- 0.6.0: jobs_notify_ready's WHEN condition is only NEW.state = 'ready'; its function returns
-- at once when the job was ready already, so the same notifications are sent. PostgreSQL
-- compiles a row trigger's WHEN condition from its stored text again for every statement
-- that may fire the trigger, and every claim sets state (see triggers/jobs_queue_wake of
-- 0.6.0 for the measure).

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._tg_jobs_notify()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- jobs_notify_ready's WHEN tested NEW.state = 'ready': a job ready before is no news.
  IF OLD.state = 'ready' THEN
    RETURN NULL;
  END IF;
  PERFORM pg_catalog.pg_notify('jobs:insert', '');
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_notify() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_notify() IS
  'Internal (trigger on app_jobs.jobs): NOTIFY "jobs:insert" with an empty payload when an update makes a job claimable.';

DROP TRIGGER jobs_notify_ready ON app_jobs.jobs;
CREATE TRIGGER jobs_notify_ready
  AFTER UPDATE OF state ON app_jobs.jobs
  FOR EACH ROW
  WHEN (NEW.state = 'ready')
  EXECUTE FUNCTION app_jobs._tg_jobs_notify();

COMMIT;
