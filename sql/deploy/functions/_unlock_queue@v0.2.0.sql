-- Deploy pgjobs:functions/_unlock_queue to pg
-- requires: functions/_wake_queue
-- Releasing a serial queue makes its next parked (blocked) job claimable: only the head, in
-- claim order, since the queue runs one job at a time anyway. Draining a queue of N jobs
-- thus costs O(N) row changes, not O(N^2). A head row another transaction holds is passed
-- over rather than waited for (app_jobs._wake_queue then records a wake request that
-- get_job's sweep retries).

BEGIN;

CREATE FUNCTION app_jobs._unlock_queue(p_database_id uuid, p_queue_name text, p_worker_id text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  UPDATE app_jobs.job_queues AS q
     SET locked_by = NULL, locked_at = NULL
   WHERE q.database_id = p_database_id
     AND q.queue_name = p_queue_name
     AND q.locked_by = p_worker_id;
  IF FOUND THEN
    PERFORM app_jobs._wake_queue(p_database_id, p_queue_name);
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._unlock_queue(uuid, text, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._unlock_queue(uuid, text, text) IS
  'Internal: releases the (tenant, queue) lock held by a worker and makes the queue''s next blocked job claimable.';

COMMIT;
