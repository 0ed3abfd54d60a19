-- Deploy pgjobs:functions/fail_job to pg
-- requires: functions/fail_job@v0.3.0
-- 0.4.0: a worker_id over 200 characters is refused (PJ102), as get_job refuses it.
-- Only the lock holder fails an attempt. The attempt goes to the attempt log with its error
-- and details (the Python worker sends the traceback as text and as frames). With attempts
-- left, the job waits out its backoff (the job's own options, else those passed here, else
-- exp(min(attempts, 10)) seconds: 2.7 s, 7.4 s, ... capped near 6 h) and is retried; after
-- its last attempt it moves to job_history as failed, where it stays inspectable.
-- permanent => true fails it for good at once, whatever attempts are left (a payload that can
-- never be valid, a task that no longer exists). A job whose cancellation was requested
-- (cancel_job while it ran) is not retried: it moves to job_history as cancelled.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.fail_job(
  worker_id text,
  job_id bigint,
  error_message text,
  permanent boolean DEFAULT false,
  error_details jsonb DEFAULT NULL,
  backoff jsonb DEFAULT NULL)
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job app_jobs.jobs;
  v_error text := coalesce(error_message, 'failed without an error message');
  v_outcome text;
BEGIN
  IF worker_id IS NULL OR worker_id = '' OR pg_catalog.length(worker_id) > 200 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'fail_job: worker_id must be a non-empty text of at most 200 characters',
      HINT = 'Pass the worker_id that claimed the job with get_job.';
  END IF;
  IF job_id IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'fail_job: job_id must not be NULL',
      HINT = 'Pass the id of the job returned by get_job.';
  END IF;
  IF fail_job.backoff IS NOT NULL THEN
    PERFORM app_jobs._check_backoff(fail_job.backoff, 'fail_job');
  END IF;

  SELECT j.* INTO v_job
    FROM app_jobs.jobs AS j
   WHERE j.id = fail_job.job_id AND j.locked_by = fail_job.worker_id
     FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;

  v_outcome := CASE WHEN v_job.cancel_requested_at IS NOT NULL THEN 'cancelled' ELSE 'failed' END;
  INSERT INTO app_jobs.job_attempts (job_id, attempt, worker_id, started_at, outcome,
                                     error_message, error_details)
  VALUES (v_job.id, v_job.attempts, v_job.locked_by, v_job.locked_at, v_outcome, v_error,
          fail_job.error_details);

  IF v_outcome = 'cancelled' OR v_job.attempts >= v_job.max_attempts OR v_job.superseded
     OR coalesce(fail_job.permanent, false) THEN
    DELETE FROM app_jobs.jobs AS j WHERE j.id = v_job.id;
    v_job.last_error := v_error;
    PERFORM app_jobs._archive_job(v_job, v_outcome);
    -- The row returned says where the job went: 'failed' or 'cancelled' (history) or
    -- 'scheduled' (retry).
    v_job.state := v_outcome;
  ELSE
    UPDATE app_jobs.jobs AS j
       SET state = 'scheduled',
           locked_by = NULL,
           locked_at = NULL,
           last_error = v_error,
           progress = NULL,
           progress_message = NULL,
           run_at = pg_catalog.now()
                    + app_jobs._retry_delay(coalesce(j.backoff, fail_job.backoff), j.attempts),
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

REVOKE ALL ON FUNCTION app_jobs.fail_job(text, bigint, text, boolean, jsonb, jsonb) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.fail_job(text, bigint, text, boolean, jsonb, jsonb) IS
  'Fails the current attempt of a job held by worker_id: the attempt is logged in app_jobs.job_attempts with error_message and error_details (any JSON, e.g. {"traceback": "...", "frames": [...]}), error_message becomes last_error, and the job and its named queue are released. With attempts left the job is retried after its backoff: the job''s own options (add_job), else backoff given here (the task''s), else exp(min(attempts, 10)) seconds; after max_attempts, or at once when permanent is true, it moves to app_jobs.job_history as failed, and a job whose cancellation was requested moves there as cancelled. Returns the job as it left: state scheduled when it will be retried, failed or cancelled when it moved to history; returns no row (and changes nothing) when worker_id does not hold the job.';

COMMIT;
