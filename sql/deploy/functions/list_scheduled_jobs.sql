-- Deploy pgjobs:functions/list_scheduled_jobs to pg
-- requires: tables/scheduled_jobs
-- The schedules, for tools that may call functions but not read tables.

BEGIN;

CREATE FUNCTION app_jobs.list_scheduled_jobs(db_id uuid DEFAULT NULL)
RETURNS SETOF app_jobs.scheduled_jobs
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT s.*
    FROM app_jobs.scheduled_jobs AS s
   WHERE list_scheduled_jobs.db_id IS NULL OR s.database_id = list_scheduled_jobs.db_id
   ORDER BY s.id;
$$;

REVOKE ALL ON FUNCTION app_jobs.list_scheduled_jobs(uuid) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.list_scheduled_jobs(uuid) IS
  'The schedules of tenant db_id (NULL: of every tenant), by id: definition, enabled, next_run_at, last_run_at, last_job_id, missed-run policy.';

COMMIT;
