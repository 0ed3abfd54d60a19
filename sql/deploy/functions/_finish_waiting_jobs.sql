-- Deploy pgjobs:functions/_finish_waiting_jobs to pg
-- requires: functions/_archive_job
-- complete_jobs and permanently_fail_jobs share this: the given waiting jobs go straight to
-- history with a status; running jobs stay with their worker.

BEGIN;

CREATE FUNCTION app_jobs._finish_waiting_jobs(p_job_ids bigint[], p_status text, p_error text)
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job app_jobs.jobs;
BEGIN
  FOR v_job IN
    DELETE FROM app_jobs.jobs AS j
     WHERE j.id = ANY (p_job_ids) AND j.state <> 'running'
    RETURNING j.*
  LOOP
    v_job.last_error := coalesce(p_error, v_job.last_error);
    PERFORM app_jobs._archive_job(v_job, p_status);
    RETURN NEXT v_job;
  END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._finish_waiting_jobs(bigint[], text, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._finish_waiting_jobs(bigint[], text, text) IS
  'Internal: moves the given waiting jobs to job_history with a status (and error, if given); running jobs are skipped. Returns the moved jobs.';

COMMIT;
