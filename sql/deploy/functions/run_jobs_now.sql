-- Deploy pgjobs:functions/run_jobs_now to pg
-- requires: functions/reschedule_jobs
-- Makes the jobs of some tasks that wait for a later run_at (delayed jobs, retries in backoff)
-- due now: what test suites need to run "later" work at once (pgjobs' pytest plugin,
-- drain(app, later=True)), without reading app_jobs.jobs from the client.

BEGIN;

CREATE FUNCTION app_jobs.run_jobs_now(task_identifiers text[])
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF task_identifiers IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'run_jobs_now: task_identifiers must not be NULL',
      HINT = 'Pass the tasks whose waiting jobs should run now, e.g. ARRAY[''send_email''].';
  END IF;
  RETURN QUERY
    SELECT *
      FROM app_jobs.reschedule_jobs(
             job_ids := ARRAY(SELECT j.id
                                FROM app_jobs.jobs AS j
                               WHERE j.state = 'scheduled'
                                 AND j.task_identifier = ANY (run_jobs_now.task_identifiers)
                               ORDER BY j.id),
             run_at := pg_catalog.now());
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.run_jobs_now(text[]) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.run_jobs_now(text[]) IS
  'For tests: every job of these tasks that waits for a later run_at (state scheduled: delayed, or a retry in backoff) becomes due now, through reschedule_jobs. Returns the jobs it changed; PJ103 when task_identifiers is NULL.';

COMMIT;
