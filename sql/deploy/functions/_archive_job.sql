-- Deploy pgjobs:functions/_archive_job to pg
-- requires: tables/jobs
-- requires: tables/job_history
-- The one place that writes job_history: every way out of app_jobs.jobs (complete, final
-- failure, cancel) goes through here, so history rows always have the same shape.

BEGIN;

CREATE FUNCTION app_jobs._archive_job(job app_jobs.jobs, status text)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  INSERT INTO app_jobs.job_history (
    id, database_id, task_identifier, payload, priority, run_at, attempts, max_attempts,
    key, queue_name, status, last_error, worker_id, scheduled_job_id, fire_time, created_at,
    locked_at)
  VALUES (
    (job).id, (job).database_id, (job).task_identifier, (job).payload, (job).priority,
    (job).run_at, (job).attempts, (job).max_attempts, (job).key, (job).queue_name, status,
    (job).last_error, (job).locked_by, (job).scheduled_job_id, (job).fire_time, (job).created_at,
    (job).locked_at);
$$;

REVOKE ALL ON FUNCTION app_jobs._archive_job(app_jobs.jobs, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._archive_job(app_jobs.jobs, text) IS
  'Internal: writes a job that left app_jobs.jobs into app_jobs.job_history with the given status.';

COMMIT;
