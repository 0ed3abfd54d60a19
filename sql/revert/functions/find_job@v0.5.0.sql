-- Revert pgjobs:functions/find_job from pg
-- Back to the 0.3.0 definition (deploy/functions/find_job@v0.3.0.sql), without the tenant guard.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.find_job(
  job_id bigint DEFAULT NULL,
  job_uid uuid DEFAULT NULL,
  with_attempts boolean DEFAULT false)
RETURNS SETOF app_jobs.job_info
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_info app_jobs.job_info;
  v_current jsonb;
BEGIN
  IF find_job.job_id IS NULL AND find_job.job_uid IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'find_job: pass job_id or job_uid',
      HINT = 'E.g. app_jobs.find_job(42) or app_jobs.find_job(job_uid := ''...''::uuid).';
  END IF;

  SELECT (app_jobs._live_job_info(j)).* INTO v_info
    FROM app_jobs.jobs AS j
   WHERE (find_job.job_id IS NULL OR j.id = find_job.job_id)
     AND (find_job.job_uid IS NULL OR j.uid = find_job.job_uid);
  IF NOT FOUND THEN
    SELECT (app_jobs._finished_job_info(h)).* INTO v_info
      FROM app_jobs.job_history AS h
     WHERE (find_job.job_id IS NULL OR h.id = find_job.job_id)
       AND (find_job.job_uid IS NULL OR h.uid = find_job.job_uid)
     LIMIT 1;
    IF NOT FOUND THEN
      RETURN;
    END IF;
  END IF;

  IF with_attempts THEN
    -- The attempt in progress, or the one that completed the job, is not in job_attempts.
    IF v_info.status IN ('running', 'completed') THEN
      v_current := pg_catalog.jsonb_build_object(
        'attempt', v_info.attempts, 'worker_id', v_info.worker_id,
        'started_at', v_info.locked_at, 'finished_at', v_info.finished_at,
        'outcome', v_info.status, 'error_message', NULL, 'error_details', NULL);
    END IF;
    SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
             'attempt', a.attempt, 'worker_id', a.worker_id, 'started_at', a.started_at,
             'finished_at', a.finished_at, 'outcome', a.outcome,
             'error_message', a.error_message, 'error_details', a.error_details)
             ORDER BY a.attempt), '[]'::jsonb)
      INTO v_info.attempt_log
      FROM app_jobs.job_attempts AS a
     WHERE a.job_id = v_info.id;
    IF v_current IS NOT NULL THEN
      v_info.attempt_log := v_info.attempt_log || pg_catalog.jsonb_build_array(v_current);
    END IF;
  END IF;
  RETURN NEXT v_info;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.find_job(bigint, uuid, boolean) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.find_job(bigint, uuid, boolean) IS
  'Returns the job with this id (or uid), waiting, running or finished, as app_jobs.job_info; no row when there is none (any more). with_attempts fills attempt_log: a JSON array of its attempts, oldest first ({attempt, worker_id, started_at, finished_at, outcome, error_message, error_details}; outcome failed, lost, cancelled, running or completed).';

COMMIT;
