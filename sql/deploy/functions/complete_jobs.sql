-- Deploy pgjobs:functions/complete_jobs to pg
-- requires: functions/_archive_job
-- Admin (graphile-worker's complete_jobs): mark waiting jobs as done without running them.
-- Running jobs are left to their worker.

BEGIN;

CREATE FUNCTION app_jobs.complete_jobs(job_ids bigint[])
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job app_jobs.jobs;
BEGIN
  IF job_ids IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'complete_jobs: job_ids must not be NULL',
      HINT = 'Pass an array of job ids, e.g. ARRAY[1, 2, 3]::bigint[].';
  END IF;
  FOR v_job IN
    DELETE FROM app_jobs.jobs AS j
     WHERE j.id = ANY (job_ids) AND j.state <> 'running'
    RETURNING j.*
  LOOP
    PERFORM app_jobs._archive_job(v_job, 'completed');
    RETURN NEXT v_job;
  END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.complete_jobs(bigint[]) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.complete_jobs(bigint[]) IS
  'Admin: marks the given waiting jobs completed without running them (they move to job_history). Running jobs are skipped. Returns the jobs it completed.';

COMMIT;
