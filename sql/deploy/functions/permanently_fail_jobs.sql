-- Deploy pgjobs:functions/permanently_fail_jobs to pg
-- requires: functions/_finish_waiting_jobs
-- Admin: fail waiting jobs for good, with a reason. Running jobs are left to their worker.

BEGIN;

CREATE FUNCTION app_jobs.permanently_fail_jobs(job_ids bigint[], error_message text DEFAULT NULL)
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF job_ids IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'permanently_fail_jobs: job_ids must not be NULL',
      HINT = 'Pass an array of job ids, e.g. ARRAY[1, 2, 3]::bigint[].';
  END IF;
  RETURN QUERY SELECT * FROM app_jobs._finish_waiting_jobs(job_ids, 'failed', coalesce(error_message, 'Manually marked as failed'));
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.permanently_fail_jobs(bigint[], text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.permanently_fail_jobs(bigint[], text) IS
  'Admin: fails the given waiting jobs for good (they move to job_history as failed, last_error = error_message or ''Manually marked as failed''). Running jobs are skipped. Returns the jobs it failed.';

COMMIT;
