-- Deploy pgjobs:functions/_release_job to pg
-- requires: functions/_archive_job
-- requires: functions/_unlock_queue
-- requires: tables/job_attempts
-- Takes a running job away from its worker. A reclaimed attempt (stale lock, lapsed lease)
-- counts as a failed attempt, so a job that kills its workers still runs out of attempts
-- and lands in history as failed instead of looping forever. release_jobs() refunds the
-- attempt instead, as upstream does: the worker gave the job back unrun. A superseded job
-- (its key taken by a newer job, or removed) or one whose cancellation was requested
-- (cancel_job) is never given back: it leaves as cancelled. A taken-back attempt is logged
-- in job_attempts (lost, or cancelled); a refunded one is not (it did not count).

BEGIN;

CREATE FUNCTION app_jobs._release_job(p_job app_jobs.jobs, p_error text, p_refund_attempt boolean)
RETURNS app_jobs.jobs
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job app_jobs.jobs;
  v_cancelled boolean := p_job.superseded OR p_job.cancel_requested_at IS NOT NULL;
BEGIN
  IF v_cancelled OR NOT p_refund_attempt THEN
    INSERT INTO app_jobs.job_attempts (job_id, attempt, worker_id, started_at, outcome, error_message)
    VALUES (p_job.id, p_job.attempts, p_job.locked_by, p_job.locked_at,
            CASE WHEN v_cancelled THEN 'cancelled' ELSE 'lost' END,
            coalesce(p_error, 'released by its worker before it finished'));
  END IF;
  IF v_cancelled THEN
    DELETE FROM app_jobs.jobs AS j WHERE j.id = p_job.id RETURNING j.* INTO v_job;
    v_job.last_error := coalesce(p_error, CASE WHEN p_job.superseded
      THEN 'released after it was superseded by a newer job with its key, or removed'
      ELSE 'released after its cancellation was requested' END);
    PERFORM app_jobs._archive_job(v_job, 'cancelled');
  ELSIF NOT p_refund_attempt AND p_job.attempts >= p_job.max_attempts THEN
    DELETE FROM app_jobs.jobs AS j WHERE j.id = p_job.id RETURNING j.* INTO v_job;
    v_job.last_error := p_error;
    PERFORM app_jobs._archive_job(v_job, 'failed');
  ELSE
    UPDATE app_jobs.jobs AS j
       SET state = 'ready',
           locked_by = NULL,
           locked_at = NULL,
           attempts = CASE WHEN p_refund_attempt THEN greatest(j.attempts - 1, 0)
                           ELSE j.attempts END,
           last_error = coalesce(p_error, j.last_error),
           progress = NULL,
           progress_message = NULL,
           updated_at = pg_catalog.now()
     WHERE j.id = p_job.id
    RETURNING j.* INTO v_job;
  END IF;
  IF p_job.queue_name IS NOT NULL THEN
    PERFORM app_jobs._unlock_queue(p_job.database_id, p_job.queue_name, p_job.locked_by);
  END IF;
  RETURN v_job;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._release_job(app_jobs.jobs, text, boolean) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._release_job(app_jobs.jobs, text, boolean) IS
  'Internal: unlocks a running job (and its queue) for another attempt, or fails it into history when it has no attempt left. The caller holds the job row.';

COMMIT;
