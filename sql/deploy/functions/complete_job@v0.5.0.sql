-- Deploy pgjobs:functions/complete_job to pg
-- requires: functions/complete_job@v0.3.0
-- 0.4.0: a worker_id over 200 characters is refused (PJ102), as get_job refuses it.
-- Only the lock holder completes a job. A late or wrong worker changes nothing and gets
-- no row back (no exception: a worker that lost its job must not crash). The optional result
-- (the handler's return value) is stored with the history row: still one write.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.complete_job(worker_id text, job_id bigint, result jsonb DEFAULT NULL)
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job app_jobs.jobs;
BEGIN
  IF worker_id IS NULL OR worker_id = '' OR pg_catalog.length(worker_id) > 200 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'complete_job: worker_id must be a non-empty text of at most 200 characters',
      HINT = 'Pass the worker_id that claimed the job with get_job.';
  END IF;
  IF job_id IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'complete_job: job_id must not be NULL',
      HINT = 'Pass the id of the job returned by get_job.';
  END IF;

  DELETE FROM app_jobs.jobs AS j
   WHERE j.id = complete_job.job_id AND j.locked_by = complete_job.worker_id
  RETURNING j.* INTO v_job;
  IF NOT FOUND THEN
    RETURN;
  END IF;

  PERFORM app_jobs._archive_job(v_job, 'completed', complete_job.result);
  IF v_job.queue_name IS NOT NULL THEN
    PERFORM app_jobs._unlock_queue(v_job.database_id, v_job.queue_name, v_job.locked_by);
  END IF;
  RETURN NEXT v_job;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.complete_job(text, bigint, jsonb) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.complete_job(text, bigint, jsonb) IS
  'Completes a job held by worker_id: the job leaves app_jobs.jobs for app_jobs.job_history (status completed, with result: any JSON, e.g. the handler''s return value) and its named queue is released. Returns the job as it was; returns no row (and changes nothing) when worker_id does not hold the job.';

COMMIT;
