-- Revert pgjobs:triggers/jobs_check from pg
-- The insert's notification goes back to its own trigger (deploy/triggers/jobs_notify@v0.5.0.sql).

BEGIN;

DROP TRIGGER jobs_check_update ON app_jobs.jobs;
DROP TRIGGER jobs_inserted ON app_jobs.jobs;
DROP FUNCTION app_jobs._tg_jobs_check_updated();
DROP FUNCTION app_jobs._tg_jobs_inserted();

CREATE FUNCTION app_jobs._tg_jobs_notify_inserted()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM inserted_jobs AS j WHERE j.state = 'ready') THEN
    PERFORM pg_catalog.pg_notify('jobs:insert', '');
  END IF;
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_notify_inserted() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_notify_inserted() IS
  'Internal (statement trigger on app_jobs.jobs): NOTIFY "jobs:insert" with an empty payload once when an INSERT made a job claimable now.';

CREATE TRIGGER jobs_notify_insert
  AFTER INSERT ON app_jobs.jobs
  REFERENCING NEW TABLE AS inserted_jobs
  FOR EACH STATEMENT
  EXECUTE FUNCTION app_jobs._tg_jobs_notify_inserted();

COMMIT;
