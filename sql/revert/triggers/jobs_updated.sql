-- Revert pgjobs:triggers/jobs_updated from pg
-- Back to the two triggers of triggers/jobs_notify and triggers/jobs_queue_wake (0.6.0):
-- jobs_notify_ready with its function, and jobs_queue_wake_update.

BEGIN;

DROP TRIGGER jobs_queue_moved ON app_jobs.jobs;
DROP TRIGGER jobs_updated ON app_jobs.jobs;
DROP FUNCTION app_jobs._tg_jobs_updated();

CREATE FUNCTION app_jobs._tg_jobs_notify()
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

CREATE TRIGGER jobs_notify_ready
  AFTER UPDATE OF state ON app_jobs.jobs
  FOR EACH ROW
  WHEN (NEW.state = 'ready')
  EXECUTE FUNCTION app_jobs._tg_jobs_notify();

CREATE TRIGGER jobs_queue_wake_update
  AFTER UPDATE ON app_jobs.jobs
  FOR EACH ROW
  WHEN (OLD.queue_name IS NOT NULL)
  EXECUTE FUNCTION app_jobs._tg_jobs_queue_wake();

COMMIT;
