-- Deploy pgjobs:functions/enable_scheduled_job to pg
-- requires: triggers/scheduled_jobs_spec
-- Turns a schedule on or off. A disabled schedule enqueues nothing; enabled again, it
-- starts from its next fire time after now (the scheduled_jobs_spec trigger sets it), so
-- what it missed while off is not run.

BEGIN;

CREATE FUNCTION app_jobs.enable_scheduled_job(scheduled_job_id bigint, enabled boolean DEFAULT true)
RETURNS app_jobs.scheduled_jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_row app_jobs.scheduled_jobs;
BEGIN
  IF scheduled_job_id IS NULL OR enabled IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'enable_scheduled_job: scheduled_job_id and enabled must not be NULL',
      HINT = 'Pass the id of a row of app_jobs.scheduled_jobs, and true or false.';
  END IF;
  UPDATE app_jobs.scheduled_jobs AS s
     SET enabled = enable_scheduled_job.enabled,
         updated_at = pg_catalog.now()
   WHERE s.id = enable_scheduled_job.scheduled_job_id
  RETURNING s.* INTO v_row;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ301',
      MESSAGE = pg_catalog.format('enable_scheduled_job: there is no scheduled job %s', scheduled_job_id),
      HINT = 'List the definitions with SELECT * FROM app_jobs.list_scheduled_jobs().';
  END IF;
  RETURN v_row;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.enable_scheduled_job(bigint, boolean) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.enable_scheduled_job(bigint, boolean) IS
  'Enables (enabled := true, the default) or disables a schedule and returns it. Enabled again, it resumes at its next fire time after now; fire times it missed while disabled are not run.';

COMMIT;
