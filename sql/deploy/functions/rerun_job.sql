-- Deploy pgjobs:functions/rerun_job to pg
-- requires: functions/_live_job_info
-- requires: tables/job_history
-- Puts a finished job (completed, failed or cancelled) back in the queue as a fresh job: a
-- new id and uid, no attempts yet, due now, and rerun_of pointing at the original, which
-- stays in history as it was. The job key is not carried over (it may belong to a newer job).

BEGIN;

CREATE FUNCTION app_jobs.rerun_job(job_id bigint)
RETURNS app_jobs.job_info
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_old app_jobs.job_history;
  v_job app_jobs.jobs;
BEGIN
  IF rerun_job.job_id IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'rerun_job: job_id must not be NULL',
      HINT = 'Pass the id of a completed, failed or cancelled job.';
  END IF;
  SELECT h.* INTO v_old FROM app_jobs.job_history AS h WHERE h.id = rerun_job.job_id LIMIT 1;
  IF NOT FOUND THEN
    IF EXISTS (SELECT 1 FROM app_jobs.jobs AS j WHERE j.id = rerun_job.job_id) THEN
      RAISE EXCEPTION USING
        ERRCODE = 'PJ304',
        MESSAGE = pg_catalog.format('rerun_job: job %s has not finished yet', rerun_job.job_id),
        HINT = 'Only completed, failed or cancelled jobs can be rerun; run a waiting job now with app_jobs.claim_job.';
    END IF;
    RAISE EXCEPTION USING
      ERRCODE = 'PJ303',
      MESSAGE = pg_catalog.format('rerun_job: there is no job %s', rerun_job.job_id),
      HINT = 'It may have been removed by cleanup_jobs; find jobs with app_jobs.list_jobs.';
  END IF;
  INSERT INTO app_jobs.jobs AS j (database_id, task_identifier, payload, queue_name, priority,
                                  max_attempts, correlation_id, backoff, rerun_of, state)
  VALUES (v_old.database_id, v_old.task_identifier, v_old.payload, v_old.queue_name,
          v_old.priority, v_old.max_attempts, v_old.correlation_id, v_old.backoff, v_old.id,
          'ready')
  RETURNING j.* INTO v_job;
  RETURN app_jobs._live_job_info(v_job);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.rerun_job(bigint) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.rerun_job(bigint) IS
  'Enqueues a fresh copy (same tenant, task, payload, queue, priority, max_attempts, correlation_id, backoff; no key; due now) of the completed, failed or cancelled job job_id, with rerun_of = job_id, and returns it. Raises PJ304 for a job that has not finished, PJ303 for an unknown one.';

COMMIT;
