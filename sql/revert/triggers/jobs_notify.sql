-- Revert pgjobs:triggers/jobs_notify from pg
-- Back to the 0.5.0 definition (deploy/triggers/jobs_notify@v0.5.0.sql): the whole condition
-- in jobs_notify_ready's WHEN.

BEGIN;

DROP TRIGGER jobs_notify_ready ON app_jobs.jobs;
CREATE TRIGGER jobs_notify_ready
  AFTER UPDATE OF state ON app_jobs.jobs
  FOR EACH ROW
  WHEN (NEW.state = 'ready' AND OLD.state <> 'ready')
  EXECUTE FUNCTION app_jobs._tg_jobs_notify();

CREATE OR REPLACE FUNCTION app_jobs._tg_jobs_notify()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM pg_catalog.pg_notify('jobs:insert', '');
  RETURN NULL;
END;
$$;

COMMENT ON FUNCTION app_jobs._tg_jobs_notify() IS
  'Internal (trigger on app_jobs.jobs): NOTIFY "jobs:insert" with an empty payload when a job becomes claimable.';

COMMIT;
