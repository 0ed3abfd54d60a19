-- Deploy pgjobs:functions/unregister_worker to pg
-- requires: tables/workers
-- requires: tables/jobs
-- A worker that stops cleanly ends its lease, so a restart under the same worker_id takes it
-- at once instead of waiting for it to lapse. Only the process holding the lease (its instance
-- token) can end it. A worker that still holds running jobs (it could not give them back) has
-- its lease made lapsed, so the next claim of any worker takes those jobs back at once;
-- one that holds nothing has its row deleted.

BEGIN;

CREATE FUNCTION app_jobs.unregister_worker(worker_id text, instance uuid)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF worker_id IS NULL OR worker_id = '' OR pg_catalog.length(worker_id) > 200 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'unregister_worker: worker_id must be a non-empty text of at most 200 characters',
      HINT = 'Pass the worker_id this worker gives heartbeat.';
  END IF;
  IF instance IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ123',
      MESSAGE = 'unregister_worker: instance must not be NULL',
      HINT = 'Pass the instance token this process gives heartbeat.';
  END IF;
  IF EXISTS (SELECT 1 FROM app_jobs.jobs AS j
              WHERE j.state = 'running' AND j.locked_by = unregister_worker.worker_id) THEN
    UPDATE app_jobs.workers AS w
       SET lease_expires_at = pg_catalog.clock_timestamp()
     WHERE w.worker_id = unregister_worker.worker_id AND w.instance = unregister_worker.instance;
  ELSE
    DELETE FROM app_jobs.workers AS w
     WHERE w.worker_id = unregister_worker.worker_id AND w.instance = unregister_worker.instance;
  END IF;
  RETURN FOUND;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.unregister_worker(text, uuid) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.unregister_worker(text, uuid) IS
  'Ends the lease of worker_id held by this instance (the token it gives heartbeat), so a restart under the same worker_id starts at once: the row is deleted, or, while the worker still holds running jobs, the lease is made lapsed so that they are taken back at the next claim. Returns false (and changes nothing) when that instance does not hold the lease. Refuses a NULL instance (PJ123).';

COMMIT;
