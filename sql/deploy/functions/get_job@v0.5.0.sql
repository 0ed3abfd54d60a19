-- Deploy pgjobs:functions/get_job to pg
-- requires: functions/get_job@v0.3.0
-- requires: functions/get_jobs
-- The contract's claim is the one-job case of app_jobs.get_jobs: one implementation of the
-- order, the task filter, the expiry and the serial queues (started strictly in order).

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.get_job(
  worker_id text,
  task_identifiers text[] DEFAULT NULL,
  job_expiry interval DEFAULT interval '4 hours')
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- PL/pgSQL rather than SQL: its statement plans are cached for the session.
  RETURN QUERY SELECT * FROM app_jobs.get_jobs(worker_id, task_identifiers, job_expiry, 1);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.get_job(text, text[], interval) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.get_job(text, text[], interval) IS
  'Claims the next job for worker_id and returns it (no row when none is due): lowest priority first, then earliest run_at, then oldest; a named queue starts its due jobs strictly in that order. task_identifiers limits the tasks (NULL = any). The job is locked (locked_by, locked_at) and its attempts go up by one; a job of a named queue also takes the queue, so the queue runs one job at a time. A lock older than job_expiry (default 4 hours) whose worker keeps no live lease is stale and its job is claimed again as a new attempt; jobs of a worker whose lease lapsed are reclaimable at once. The one-job case of get_jobs.';

COMMIT;
