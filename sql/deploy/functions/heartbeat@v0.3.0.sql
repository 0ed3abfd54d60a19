-- Deploy pgjobs:functions/heartbeat to pg
-- requires: tables/workers
-- requires: tables/jobs
-- A worker calls this every few seconds. One row per worker (not an update per job), and
-- the answer lists the jobs the worker still holds: a job missing from it was reclaimed
-- (the lease lapsed), so the worker cancels that handler, whose late complete_job or
-- fail_job would be refused anyway. A job whose cancellation was requested (cancel_job) is
-- left out too: the worker cancels its handler and reports the attempt with fail_job, which
-- records the job cancelled. (Workers also hear of it at once on NOTIFY "jobs:cancel".)

BEGIN;

CREATE FUNCTION app_jobs.heartbeat(worker_id text, lease interval DEFAULT interval '30 seconds')
RETURNS bigint[]
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF worker_id IS NULL OR worker_id = '' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'heartbeat: worker_id must be a non-empty text',
      HINT = 'Pass the worker_id this worker gives get_job.';
  END IF;
  IF lease IS NULL OR lease <= interval '0' OR lease > interval '100 years' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ105',
      MESSAGE = pg_catalog.format('heartbeat: lease must be a positive interval of at most 100 years, got %s', coalesce(lease::text, 'NULL')),
      HINT = 'Pass how long the lease lasts without another heartbeat, e.g. interval ''30 seconds''.';
  END IF;
  INSERT INTO app_jobs.workers AS w (worker_id, lease_expires_at)
  VALUES (heartbeat.worker_id, pg_catalog.clock_timestamp() + lease)
  ON CONFLICT ON CONSTRAINT workers_pkey DO UPDATE
     SET lease_expires_at = excluded.lease_expires_at,
         last_heartbeat_at = pg_catalog.clock_timestamp();
  RETURN ARRAY(
    SELECT j.id FROM app_jobs.jobs AS j
     WHERE j.state = 'running' AND j.locked_by = heartbeat.worker_id
       AND j.cancel_requested_at IS NULL
     ORDER BY j.id);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.heartbeat(text, interval) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.heartbeat(text, interval) IS
  'Registers or renews the lease of worker_id until now + lease (default 30 s) and returns the ids of the jobs it still holds and should go on running (a job whose cancellation was requested with cancel_job is left out: stop its handler and report it with fail_job). While the lease is live its jobs are never reclaimed, whatever their lock age; once it lapses they are reclaimable at once.';

COMMIT;
