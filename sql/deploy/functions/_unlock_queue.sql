-- Deploy pgjobs:functions/_unlock_queue to pg
-- requires: tables/jobs
-- requires: tables/job_queues
-- Releasing a serial queue makes its next parked (blocked) job claimable: only the head, in
-- claim order, since the queue runs one job at a time anyway. Draining a queue of N jobs
-- thus costs O(N) row changes, not O(N^2). A head row another transaction holds is passed
-- over rather than waited for: every writer that can hold a blocked row (key replacement,
-- reschedule, admin removal) moves it out of 'blocked' itself, and the jobs_queue_wake
-- trigger wakes the queue again when a claimable head disappears.

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
    UPDATE app_jobs.jobs AS j
       SET state = 'ready'
     WHERE j.id = (
       SELECT b.id
         FROM app_jobs.jobs AS b
        WHERE b.database_id = p_database_id
          AND b.queue_name = p_queue_name
          AND b.state = 'blocked'
        ORDER BY b.priority, b.run_at, b.id
        LIMIT 1
          FOR UPDATE SKIP LOCKED);
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._unlock_queue(uuid, text, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._unlock_queue(uuid, text, text) IS
  'Internal: releases the (tenant, queue) lock held by a worker and makes the queue''s next blocked job claimable.';

COMMIT;
