-- Deploy pgjobs:functions/start_jobs to pg
-- requires: tables/jobs
-- requires: tables/job_pauses
-- requires: functions/_release_job
-- Buffered is not started. A worker claims ahead of its free slots (get_jobs with
-- started := false) and keeps those jobs in a local buffer; just before their handlers run it
-- records them as started, all that start together in one call. From then on the attempt
-- counts: if the worker dies, the job is logged lost and retried (or failed after
-- max_attempts), whereas a buffered job that never started goes back with its attempt
-- refunded (settle_jobs, and the sweep for a lapsed lease or an expired lock). One HOT update
-- of an unindexed column per job; the answer lists the jobs the worker still holds, and the
-- worker runs only those.
-- Pause and resume (0.4.0): a buffered job that a pause now matches does not start: it is given
-- back with its attempt refunded (its queue released), parked 'paused', and left out of the
-- answer, so jobs claimed into a buffer before a pause do not start after it. Reading
-- app_jobs.job_pauses holds its ACCESS SHARE lock, so this serialises with pause_jobs as the
-- claim does; with no pause in force it is one read of an empty table.

BEGIN;

CREATE FUNCTION app_jobs.start_jobs(worker_id text, job_ids bigint[])
RETURNS bigint[]
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_ids bigint[];
  v_job app_jobs.jobs;
BEGIN
  IF worker_id IS NULL OR worker_id = '' OR pg_catalog.length(worker_id) > 200 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'start_jobs: worker_id must be a non-empty text of at most 200 characters',
      HINT = 'Pass the worker_id that claimed the jobs with get_jobs.';
  END IF;
  IF job_ids IS NULL OR pg_catalog.array_position(job_ids, NULL) IS NOT NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'start_jobs: job_ids must be an array of job ids without NULL',
      HINT = 'Pass the ids of the claimed jobs whose handlers start now, e.g. ARRAY[41, 42].';
  END IF;
  IF EXISTS (SELECT 1 FROM app_jobs.job_pauses) THEN
    FOR v_job IN
      SELECT j.*
        FROM app_jobs.jobs AS j
       WHERE j.id = ANY (start_jobs.job_ids)
         AND j.locked_by = start_jobs.worker_id
         AND j.state = 'running'
         AND j.started_attempt IS DISTINCT FROM j.attempts
         AND EXISTS (SELECT 1 FROM app_jobs.job_pauses AS p
                      WHERE (p.database_id IS NULL OR p.database_id = j.database_id)
                        AND (p.queue_name IS NULL OR p.queue_name = j.queue_name)
                        AND (p.task_identifier IS NULL OR p.task_identifier = j.task_identifier))
       ORDER BY j.id
         FOR UPDATE
    LOOP
      v_job := app_jobs._release_job(v_job, NULL, true);
      UPDATE app_jobs.jobs AS j SET state = 'paused' WHERE j.id = v_job.id AND j.state = 'ready';
    END LOOP;
  END IF;
  WITH started AS (
    UPDATE app_jobs.jobs AS j
       SET started_attempt = j.attempts
     WHERE j.id = ANY (start_jobs.job_ids)
       AND j.locked_by = start_jobs.worker_id
       AND j.state = 'running'
    RETURNING j.id)
  SELECT coalesce(pg_catalog.array_agg(s.id ORDER BY s.id), '{}'::bigint[]) INTO v_ids
    FROM started AS s;
  RETURN v_ids;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.start_jobs(text, bigint[]) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.start_jobs(text, bigint[]) IS
  'Records that the handlers of these jobs, held by worker_id (claimed with get_jobs(..., started := false)), start now: from then on their attempt counts, so a job whose worker dies is logged lost and retried, or failed after max_attempts. A job claimed but never started goes back with its attempt refunded. Returns the ids of the jobs worker_id still holds (run only those); a job it no longer holds is left out, and so is a buffered job a pause (pause_jobs) now matches: it is given back unstarted (attempt refunded) and waits paused.';

COMMIT;
