-- Revert pgjobs:triggers/jobs_queue_wake from pg
-- Back to the 0.2.0 trigger function (deploy/triggers/jobs_queue_wake@v0.2.0.sql).

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._tg_jobs_queue_wake()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO app_jobs.job_queue_deltas (database_id, queue_name, delta)
  VALUES (OLD.database_id, OLD.queue_name, 0);
  RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._tg_jobs_queue_wake() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._tg_jobs_queue_wake() IS
  'Internal (trigger on app_jobs.jobs): when a waiting job leaves its serial queue other than by a claim, records a wake request that get_job''s sweep settles.';

COMMIT;
