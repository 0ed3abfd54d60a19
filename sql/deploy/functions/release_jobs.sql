-- Deploy pgjobs:functions/release_jobs to pg
-- requires: functions/release_jobs@v0.3.0
-- 0.4.0: a worker_id over 200 characters is refused (PJ102), as get_job refuses it.
-- Admin / worker shutdown: give back everything a worker holds, at once. As upstream, the
-- interrupted attempt is refunded: the job gets the attempt back and runs again at once.
-- 0.3.0: queue locks are rows of app_jobs.job_queue_locks, and a lock is only freed here
-- when the worker runs no job of that queue.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.release_jobs(worker_id text)
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job app_jobs.jobs;
  v_queue app_jobs.job_queue_locks;
BEGIN
  IF worker_id IS NULL OR worker_id = '' OR pg_catalog.length(worker_id) > 200 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'release_jobs: worker_id must be a non-empty text of at most 200 characters',
      HINT = 'Pass the worker_id whose jobs should be released.';
  END IF;
  FOR v_job IN
    SELECT j.* FROM app_jobs.jobs AS j
     WHERE j.state = 'running' AND j.locked_by = release_jobs.worker_id
     ORDER BY j.id
       FOR UPDATE
  LOOP
    RETURN NEXT app_jobs._release_job(v_job, NULL, true);
  END LOOP;
  -- Queue locks the worker still holds without a running job of that queue (safety net).
  -- A claim it committed after the loop above began keeps its job and its queue lock.
  FOR v_queue IN
    SELECT q.* FROM app_jobs.job_queue_locks AS q
     WHERE q.locked_by = release_jobs.worker_id
       AND NOT EXISTS (SELECT 1 FROM app_jobs.jobs AS j
                        WHERE j.state = 'running' AND j.locked_by = q.locked_by
                          AND j.database_id = q.database_id AND j.queue_name = q.queue_name)
     ORDER BY q.database_id, q.queue_name
       FOR UPDATE
  LOOP
    PERFORM app_jobs._unlock_queue(v_queue.database_id, v_queue.queue_name, v_queue.locked_by);
  END LOOP;
  DELETE FROM app_jobs.workers AS w WHERE w.worker_id = release_jobs.worker_id;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.release_jobs(text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.release_jobs(text) IS
  'Unlocks every job and queue held by worker_id (a stopped or dead worker) and forgets its lease. The interrupted attempt is given back, so the jobs run again at once. Returns the released jobs.';

COMMIT;
