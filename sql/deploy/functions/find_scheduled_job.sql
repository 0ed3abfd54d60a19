-- Deploy pgjobs:functions/find_scheduled_job to pg
-- requires: tables/scheduled_jobs
-- A schedule by its key in one call (pgjobs schedules enable|disable|run-now KEY), instead of
-- listing every schedule and searching in the client.

BEGIN;

CREATE FUNCTION app_jobs.find_scheduled_job(job_key text, db_id uuid DEFAULT NULL)
RETURNS SETOF app_jobs.scheduled_jobs
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT s.*
    FROM app_jobs.scheduled_jobs AS s
   WHERE s.key = find_scheduled_job.job_key
     AND (find_scheduled_job.db_id IS NULL OR s.database_id = find_scheduled_job.db_id)
   ORDER BY s.id;
$$;

REVOKE ALL ON FUNCTION app_jobs.find_scheduled_job(text, uuid) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.find_scheduled_job(text, uuid) IS
  'The schedules whose key is job_key, of tenant db_id (NULL: of any tenant, so one row per tenant that has that key), by id; none when no schedule has it.';

COMMIT;
