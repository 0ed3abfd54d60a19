-- Deploy pgjobs:functions/_reclaim_job to pg
-- requires: functions/_reclaim_job@v0.2.0
-- requires: tables/job_queue_locks
-- The sweep takes a running job back from a holder that is gone (stale lock, lapsed
-- lease). Like the claim, it never waits: a job whose queue lock row is busy this instant
-- is left for the next sweep. 0.3.0: the lock is a row of app_jobs.job_queue_locks.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._reclaim_job(p_job app_jobs.jobs, p_reason text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_job.queue_name IS NOT NULL THEN
    PERFORM 1 FROM app_jobs.job_queue_locks AS l
      WHERE l.database_id = p_job.database_id AND l.queue_name = p_job.queue_name
        FOR UPDATE SKIP LOCKED;
    IF NOT FOUND AND EXISTS (SELECT 1 FROM app_jobs.job_queue_locks AS l
                              WHERE l.database_id = p_job.database_id
                                AND l.queue_name = p_job.queue_name) THEN
      RETURN;
    END IF;
  END IF;
  PERFORM app_jobs._release_job(p_job, p_reason, false);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._reclaim_job(app_jobs.jobs, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._reclaim_job(app_jobs.jobs, text) IS
  'Internal: takes a running job (whose row the caller holds) back from a dead holder as a failed attempt, unless its queue lock row is busy right now.';

COMMIT;
