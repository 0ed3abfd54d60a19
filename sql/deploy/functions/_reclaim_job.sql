-- Deploy pgjobs:functions/_reclaim_job to pg
-- requires: functions/_reclaim_job@v0.3.0
-- requires: tables/jobs
-- The sweep takes a running job back from a holder that is gone (stale lock, lapsed
-- lease). Like the claim, it never waits: a job whose queue lock row is busy this instant
-- is left for the next sweep. 0.4.0, buffered is not started: a job its worker had recorded
-- as started (jobs.started_attempt = attempts) has used its attempt (logged lost, failed
-- after max_attempts, so a job that kills its workers still runs out of attempts); a job only
-- claimed into the dead worker's buffer never ran, and goes back with its attempt refunded.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._reclaim_job(p_job app_jobs.jobs, p_reason text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_started boolean := p_job.started_attempt IS NOT DISTINCT FROM p_job.attempts;
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
  PERFORM app_jobs._release_job(p_job, CASE WHEN v_started THEN p_reason END, NOT v_started);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._reclaim_job(app_jobs.jobs, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._reclaim_job(app_jobs.jobs, text) IS
  'Internal: takes a running job (whose row the caller holds) back from a dead holder, unless its queue lock row is busy right now: a started job as a lost attempt (failed into history after max_attempts), a job only claimed into the worker''s buffer with its attempt refunded.';

COMMIT;
