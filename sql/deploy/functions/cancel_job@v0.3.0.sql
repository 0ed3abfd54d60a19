-- Deploy pgjobs:functions/cancel_job to pg
-- requires: functions/_archive_job
-- requires: functions/_live_job_info
-- requires: functions/_finished_job_info
-- Cancels one job. A waiting job moves to job_history as cancelled at once. A running job
-- cannot be stopped from SQL: the request is recorded (cancel_requested_at) and announced on
-- NOTIFY "jobs:cancel" (payload: the job id); its worker cancels the handler and reports the
-- attempt with fail_job, which records the job cancelled. heartbeat leaves such a job out of
-- its answer, so a worker that missed the notification learns of it at its next heartbeat;
-- should the worker be gone, the reclaim records it cancelled.

BEGIN;

CREATE FUNCTION app_jobs.cancel_job(job_id bigint)
RETURNS SETOF app_jobs.job_info
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job app_jobs.jobs;
  v_history app_jobs.job_history;
BEGIN
  IF cancel_job.job_id IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'cancel_job: job_id must not be NULL',
      HINT = 'Pass the id of a waiting or running job.';
  END IF;

  DELETE FROM app_jobs.jobs AS j
   WHERE j.id = cancel_job.job_id AND j.state <> 'running'
  RETURNING j.* INTO v_job;
  IF FOUND THEN
    PERFORM app_jobs._archive_job(v_job, 'cancelled');
    SELECT h.* INTO v_history
      FROM app_jobs.job_history AS h
     WHERE h.id = v_job.id AND h.finished_at = pg_catalog.now();
    RETURN NEXT app_jobs._finished_job_info(v_history);
    RETURN;
  END IF;

  UPDATE app_jobs.jobs AS j
     SET cancel_requested_at = coalesce(j.cancel_requested_at, pg_catalog.now()),
         updated_at = pg_catalog.now()
   WHERE j.id = cancel_job.job_id AND j.state = 'running'
  RETURNING j.* INTO v_job;
  IF FOUND THEN
    PERFORM pg_catalog.pg_notify('jobs:cancel', v_job.id::text);
    RETURN NEXT app_jobs._live_job_info(v_job);
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.cancel_job(bigint) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.cancel_job(bigint) IS
  'Cancels job job_id. A waiting job moves to app_jobs.job_history as cancelled and is returned so. A running job gets cancel_requested_at and a NOTIFY "jobs:cancel" (payload: its id): its worker stops the handler and the job is recorded cancelled (a worker that does not support cancellation finishes it normally); it is returned still running. No row when the job is finished or unknown.';

COMMIT;
