-- Deploy pgjobs:functions/claim_job to pg
-- requires: functions/claim_job@v0.4.0
-- requires: tables/jobs
-- requires: tables/job_pauses
-- 0.5.0: a job waiting for its dependencies (state waiting) is not claimed: it may run only
-- once they have all completed. (Earlier history in deploy/functions/claim_job@v0.4.0.sql.)

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.claim_job(worker_id text, job_id bigint)
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
      MESSAGE = 'claim_job: worker_id must be a non-empty text of at most 200 characters',
      HINT = 'Pass the name of this worker; complete_job and fail_job need the same one.';
  END IF;
  IF job_id IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'claim_job: job_id must not be NULL',
      HINT = 'Pass the id of a waiting job.';
  END IF;

  SELECT j.* INTO v_job
    FROM app_jobs.jobs AS j
   WHERE j.id = claim_job.job_id AND j.state <> 'running'
     FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF v_job.state = 'waiting' THEN
    RETURN;  -- waiting for its dependencies (0.5.0): it runs once they have completed
  END IF;
  IF v_job.state = 'paused'
     OR EXISTS (SELECT 1 FROM app_jobs.job_pauses AS p
                 WHERE (p.database_id IS NULL OR p.database_id = v_job.database_id)
                   AND (p.queue_name IS NULL OR p.queue_name = v_job.queue_name)
                   AND (p.task_identifier IS NULL OR p.task_identifier = v_job.task_identifier)) THEN
    RETURN;  -- paused: resume_jobs first
  END IF;
  IF v_job.queue_name IS NOT NULL
     AND NOT app_jobs._lock_queue(v_job.database_id, v_job.queue_name, claim_job.worker_id, v_job.id) THEN
    RETURN;
  END IF;

  RETURN QUERY SELECT * FROM app_jobs._take_job(v_job.id, claim_job.worker_id);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.claim_job(text, bigint) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.claim_job(text, bigint) IS
  'Claims the waiting job job_id for worker_id now and returns it locked, as get_job would (attempts + 1, its serial queue taken), even if its run_at is still ahead. Returns no row when the job is running, gone, paused (pause_jobs), waiting for its dependencies (add_job''s depends_on), or its serial queue is busy.';

COMMIT;
