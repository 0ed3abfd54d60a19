-- Revert pgjobs:functions/watch_job from pg
-- Back to the 0.3.0 definition (deploy/functions/watch_job@v0.3.0.sql), without the tenant guard.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.watch_job(job_id bigint)
RETURNS SETOF app_jobs.job_info
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job app_jobs.jobs;
  v_history app_jobs.job_history;
BEGIN
  IF watch_job.job_id IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'watch_job: job_id must not be NULL',
      HINT = 'Pass the id of the job to wait for.';
  END IF;
  UPDATE app_jobs.jobs AS j SET watched = true
   WHERE j.id = watch_job.job_id
  RETURNING j.* INTO v_job;
  IF FOUND THEN
    RETURN NEXT app_jobs._live_job_info(v_job);
    RETURN;
  END IF;
  SELECT h.* INTO v_history FROM app_jobs.job_history AS h WHERE h.id = watch_job.job_id LIMIT 1;
  IF FOUND THEN
    RETURN NEXT app_jobs._finished_job_info(v_history);
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.watch_job(bigint) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.watch_job(bigint) IS
  'For waiting on a job: LISTEN "jobs:finished" first, then call this. A waiting or running job is marked so that when it finishes (completed, failed or cancelled) NOTIFY "jobs:finished" is sent with its id as payload; it is returned as it is now. A finished job is returned finished. No row for an unknown job.';

COMMIT;
