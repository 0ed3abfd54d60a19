-- Deploy pgjobs:functions/fail_job to pg
-- requires: functions/_archive_job
-- requires: functions/_unlock_queue
-- Only the lock holder fails an attempt. With attempts left, the job waits
-- exp(min(attempts, 10)) seconds (2.7 s, 7.4 s, ... capped near 6 h) and is retried; after
-- its last attempt it moves to job_history as failed, where it stays inspectable.
-- permanent => true fails it for good at once, whatever attempts are left (a payload that can
-- never be valid, a task that no longer exists).

BEGIN;

CREATE FUNCTION app_jobs.fail_job(
  worker_id text,
  job_id bigint,
  error_message text,
  permanent boolean DEFAULT false
)
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job app_jobs.jobs;
  v_error text := coalesce(error_message, 'failed without an error message');
BEGIN
  IF worker_id IS NULL OR worker_id = '' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'fail_job: worker_id must be a non-empty text',
      HINT = 'Pass the worker_id that claimed the job with get_job.';
  END IF;
  IF job_id IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'fail_job: job_id must not be NULL',
      HINT = 'Pass the id of the job returned by get_job.';
  END IF;

  SELECT j.* INTO v_job
    FROM app_jobs.jobs AS j
   WHERE j.id = fail_job.job_id AND j.locked_by = fail_job.worker_id
     FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;

  IF v_job.attempts >= v_job.max_attempts OR v_job.superseded OR coalesce(fail_job.permanent, false) THEN
    DELETE FROM app_jobs.jobs AS j WHERE j.id = v_job.id;
    v_job.last_error := v_error;
    PERFORM app_jobs._archive_job(v_job, 'failed');
    -- The row returned says where the job went: 'failed' (history) or 'scheduled' (retry).
    v_job.state := 'failed';
  ELSE
    UPDATE app_jobs.jobs AS j
       SET state = 'scheduled',
           locked_by = NULL,
           locked_at = NULL,
           last_error = v_error,
           run_at = pg_catalog.now()
                    + pg_catalog.make_interval(secs => pg_catalog.exp(least(j.attempts, 10))),
           updated_at = pg_catalog.now()
     WHERE j.id = v_job.id
    RETURNING j.* INTO v_job;
  END IF;

  IF v_job.queue_name IS NOT NULL THEN
    PERFORM app_jobs._unlock_queue(v_job.database_id, v_job.queue_name, fail_job.worker_id);
  END IF;
  RETURN NEXT v_job;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.fail_job(text, bigint, text, boolean) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.fail_job(text, bigint, text, boolean) IS
  'Fails the current attempt of a job held by worker_id, storing error_message in last_error and releasing the job and its named queue. With attempts left the job is retried after exp(min(attempts, 10)) seconds; after max_attempts, or at once when permanent is true, it moves to app_jobs.job_history as failed. Returns the job as it left: state scheduled when it will be retried, failed when it moved to history; returns no row (and changes nothing) when worker_id does not hold the job.';

COMMIT;
