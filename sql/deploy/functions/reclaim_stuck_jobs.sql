-- Deploy pgjobs:functions/reclaim_stuck_jobs to pg
-- requires: functions/_reclaim_job
-- requires: tables/workers
-- Takes back, now, every job locked for longer than older_than by a worker without a live
-- lease (the pre-claim sweep of get_job does the same with its job_expiry). Each reclaimed
-- attempt counts as failed (logged as lost); a job without attempts left fails for good.
-- Like the claim it never waits: a row or queue busy right now is left for the next call.

BEGIN;

CREATE FUNCTION app_jobs.reclaim_stuck_jobs(older_than interval)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_now timestamptz := pg_catalog.now();
  v_job app_jobs.jobs;
  v_count integer := 0;
BEGIN
  IF older_than IS NULL OR older_than <= interval '0' OR older_than > interval '100 years' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ105',
      MESSAGE = pg_catalog.format('reclaim_stuck_jobs: older_than must be a positive interval of at most 100 years, got %s', coalesce(older_than::text, 'NULL')),
      HINT = 'Pass how long a lock may last without a live worker lease, e.g. interval ''10 minutes''.';
  END IF;
  FOR v_job IN
    SELECT j.*
      FROM app_jobs.jobs AS j
     WHERE j.state = 'running'
       AND j.locked_at < v_now - older_than
       AND NOT EXISTS (SELECT 1 FROM app_jobs.workers AS w
                        WHERE w.worker_id = j.locked_by AND w.lease_expires_at >= v_now)
     ORDER BY j.locked_at
       FOR UPDATE OF j SKIP LOCKED
  LOOP
    PERFORM app_jobs._reclaim_job(v_job, pg_catalog.format(
      'reclaimed: worker %s held it for more than %s without a live lease', v_job.locked_by, older_than));
    IF NOT EXISTS (SELECT 1 FROM app_jobs.jobs AS j
                    WHERE j.id = v_job.id AND j.locked_by IS NOT DISTINCT FROM v_job.locked_by
                      AND j.state = 'running') THEN
      v_count := v_count + 1;
    END IF;
  END LOOP;
  RETURN v_count;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.reclaim_stuck_jobs(interval) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.reclaim_stuck_jobs(interval) IS
  'Takes back every job locked for longer than older_than by a worker holding no live lease: each is released for another attempt (the lost attempt counts and is logged), or fails for good without attempts left, or is recorded cancelled when its cancellation was requested. Never waits: a job whose row or queue is busy right now is left for the next call. Returns how many jobs were taken back.';

COMMIT;
