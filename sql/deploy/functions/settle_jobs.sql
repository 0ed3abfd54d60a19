-- Deploy pgjobs:functions/settle_jobs to pg
-- requires: functions/_release_job
-- requires: functions/fail_job
-- requires: tables/jobs
-- A worker gives back jobs it holds but will not finish, by one rule (the same as the sweep's
-- for a lapsed lease): a job it had started (start_jobs, or a started claim such as get_job's)
-- has used its attempt, logged lost in job_attempts, and is retried or, after max_attempts,
-- failed; a job only claimed into its buffer never ran and goes back with its attempt
-- refunded. At start a worker settles what its previous life under the same worker_id left
-- (job_ids NULL): a job that kills its worker therefore runs out of attempts even with a
-- stable worker id. A running worker settles the held jobs it does not know (a claim whose
-- reply was lost) by their ids. fail_started fails the started ones for good instead (the
-- worker's orphans="fail").

BEGIN;

CREATE FUNCTION app_jobs.settle_jobs(
  worker_id text,
  job_ids bigint[] DEFAULT NULL,
  fail_started boolean DEFAULT false)
RETURNS TABLE (job_id bigint, outcome text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job app_jobs.jobs;
  v_queue app_jobs.job_queue_locks;
  v_started boolean;
  v_reason text;
BEGIN
  IF worker_id IS NULL OR worker_id = '' OR pg_catalog.length(worker_id) > 200 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'settle_jobs: worker_id must be a non-empty text of at most 200 characters',
      HINT = 'Pass the worker_id whose jobs should be settled.';
  END IF;
  IF pg_catalog.array_position(settle_jobs.job_ids, NULL) IS NOT NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'settle_jobs: job_ids must not contain NULL',
      HINT = 'Pass the ids of held jobs to settle, or NULL for every job the worker holds.';
  END IF;
  v_reason := pg_catalog.format(
    'orphaned: worker %s stopped (crashed, was killed or restarted) while running this job',
    settle_jobs.worker_id);
  FOR v_job IN
    SELECT j.* FROM app_jobs.jobs AS j
     WHERE j.state = 'running' AND j.locked_by = settle_jobs.worker_id
       AND (settle_jobs.job_ids IS NULL OR j.id = ANY (settle_jobs.job_ids))
     ORDER BY j.id
       FOR UPDATE
  LOOP
    v_started := v_job.started_attempt IS NOT DISTINCT FROM v_job.attempts;
    job_id := v_job.id;
    IF v_job.superseded OR v_job.cancel_requested_at IS NOT NULL THEN
      outcome := 'cancelled';
    ELSIF NOT v_started THEN
      outcome := 'refunded';
    ELSIF coalesce(settle_jobs.fail_started, false) OR v_job.attempts >= v_job.max_attempts THEN
      outcome := 'failed';
    ELSE
      outcome := 'lost';
    END IF;
    IF v_started AND coalesce(settle_jobs.fail_started, false) THEN
      PERFORM app_jobs.fail_job(settle_jobs.worker_id, v_job.id, v_reason, true);
    ELSE
      PERFORM app_jobs._release_job(v_job, CASE WHEN v_started THEN v_reason END, NOT v_started);
    END IF;
    RETURN NEXT;
  END LOOP;
  IF settle_jobs.job_ids IS NULL THEN
    -- Queue locks of the earlier life without a running job of that queue (safety net).
    FOR v_queue IN
      SELECT q.* FROM app_jobs.job_queue_locks AS q
       WHERE q.locked_by = settle_jobs.worker_id
         AND NOT EXISTS (SELECT 1 FROM app_jobs.jobs AS j
                          WHERE j.state = 'running' AND j.locked_by = q.locked_by
                            AND j.database_id = q.database_id AND j.queue_name = q.queue_name)
       ORDER BY q.database_id, q.queue_name
         FOR UPDATE
    LOOP
      PERFORM app_jobs._unlock_queue(v_queue.database_id, v_queue.queue_name, v_queue.locked_by);
    END LOOP;
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.settle_jobs(text, bigint[], boolean) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.settle_jobs(text, bigint[], boolean) IS
  'Gives back the jobs worker_id holds (job_ids, or all when NULL: what an earlier life of the worker left) that it will not finish. A started job (start_jobs, or a started claim such as get_job''s) has used its attempt: logged lost, retried, or failed after max_attempts (at once with fail_started); a job only claimed into the worker''s buffer goes back with its attempt refunded; a job whose cancellation was requested leaves as cancelled. With job_ids NULL it also frees the worker''s queue locks left without a running job. The worker''s lease is kept. Returns (job_id, outcome): refunded, lost, failed or cancelled.';

COMMIT;
