-- Deploy pgjobs:functions/complete_jobs to pg
-- requires: functions/_finish_waiting_jobs
-- Admin (graphile-worker's complete_jobs): mark waiting jobs as done without running them.
-- Running jobs are left to their worker.

BEGIN;

CREATE FUNCTION app_jobs.complete_jobs(job_ids bigint[])
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF job_ids IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'complete_jobs: job_ids must not be NULL',
      HINT = 'Pass an array of job ids, e.g. ARRAY[1, 2, 3]::bigint[].';
  END IF;
  RETURN QUERY SELECT * FROM app_jobs._finish_waiting_jobs(job_ids, 'completed', NULL);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.complete_jobs(bigint[]) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.complete_jobs(bigint[]) IS
  'Admin: marks the given waiting jobs completed without running them (they move to job_history). Running jobs are skipped. Returns the jobs it completed.';

COMMIT;
