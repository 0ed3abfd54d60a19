-- Deploy pgjobs:functions/_finished_job_info to pg
-- requires: types/job_info
-- requires: tables/job_history
-- A row of app_jobs.job_history as an app_jobs.job_info.

BEGIN;

CREATE FUNCTION app_jobs._finished_job_info(h app_jobs.job_history)
RETURNS app_jobs.job_info
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT ROW(
    (h).id, (h).uid, (h).status, (h).database_id, (h).task_identifier, (h).queue_name,
    (h).key, (h).correlation_id, (h).payload, (h).priority, (h).run_at, (h).attempts,
    (h).max_attempts, (h).last_error, (h).result,
    CASE WHEN (h).status = 'completed' THEN 100::numeric END, NULL::text,
    (h).worker_id, (h).created_at, (h).first_started_at, (h).locked_at, (h).finished_at,
    (h).finished_at - (h).locked_at, NULL::timestamptz, (h).rerun_of, (h).scheduled_job_id,
    NULL::jsonb)::app_jobs.job_info;
$$;

REVOKE ALL ON FUNCTION app_jobs._finished_job_info(app_jobs.job_history) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._finished_job_info(app_jobs.job_history) IS
  'Internal: a finished job (a job_history row) as app_jobs.job_info.';

COMMIT;
