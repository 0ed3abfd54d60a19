-- Deploy pgjobs:functions/_archive_job to pg
-- requires: functions/_archive_job@v0.3.0
-- 0.4.0: PL/pgSQL instead of SQL: a SQL function that is not inlined
-- parses and plans its statements on every call (190 us of complete_job's 480 us at 10
-- clients); PL/pgSQL keeps their plans for the session.
-- The one place that writes job_history: every way out of app_jobs.jobs (complete, final
-- failure, cancel) goes through here, so history rows always have the same shape. A job
-- someone waits for (watch_job) announces its end on "jobs:finished"; no other job pays for
-- a NOTIFY.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._archive_job(job app_jobs.jobs, status text, result jsonb DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO app_jobs.job_history (
    id, database_id, task_identifier, payload, priority, run_at, attempts, max_attempts,
    key, queue_name, status, last_error, worker_id, scheduled_job_id, fire_time, created_at,
    locked_at, uid, correlation_id, first_started_at, result, backoff, rerun_of)
  VALUES (
    (job).id, (job).database_id, (job).task_identifier, (job).payload, (job).priority,
    (job).run_at, (job).attempts, (job).max_attempts, (job).key, (job).queue_name,
    _archive_job.status, (job).last_error, (job).locked_by, (job).scheduled_job_id,
    (job).fire_time, (job).created_at, (job).locked_at, (job).uid, (job).correlation_id,
    (job).first_started_at, _archive_job.result, (job).backoff, (job).rerun_of);
  IF (job).watched THEN
    PERFORM pg_catalog.pg_notify('jobs:finished', (job).id::text);
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._archive_job(app_jobs.jobs, text, jsonb) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._archive_job(app_jobs.jobs, text, jsonb) IS
  'Internal: writes a job that left app_jobs.jobs into app_jobs.job_history with the given status (and result), and sends NOTIFY "jobs:finished" with its id when someone watches it.';

COMMIT;
