-- Deploy pgjobs:functions/_lock_queue to pg
-- requires: functions/_lock_queue@v0.2.0
-- requires: tables/job_queue_locks
-- A claim takes the serial-queue lock of its candidate job here, and never waits: a queue
-- whose lock row is busy at this instant (another claim, a release) is skipped for this
-- claim. Because claimers never wait on a lock, they can never deadlock. When the queue is
-- held by another job, its claimable jobs are parked as 'blocked' (under the lock row's
-- row lock, so a concurrent release cannot miss them) and later claims skip them without
-- reading them; _unlock_queue makes them claimable again. A free queue has no lock row:
-- the claim inserts one, under a try-advisory lock that every creator (and the sweep's
-- wake-up of a free queue) takes before it looks for the row, so the insert never waits.
-- 0.3.0: the lock is a row of app_jobs.job_queue_locks; there is no count to fold.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._lock_queue(p_database_id uuid, p_queue_name text, p_worker_id text,
                                                p_job_id bigint)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM 1
    FROM app_jobs.job_queue_locks AS l
   WHERE l.database_id = p_database_id AND l.queue_name = p_queue_name
     FOR UPDATE SKIP LOCKED;

  IF FOUND THEN
    -- Held by another job: park the queue's claimable jobs (this candidate included).
    UPDATE app_jobs.jobs AS j
       SET state = 'blocked'
     WHERE j.id IN (
       SELECT r.id
         FROM app_jobs.jobs AS r
        WHERE r.database_id = p_database_id
          AND r.queue_name = p_queue_name
          AND r.state = 'ready'
          FOR UPDATE SKIP LOCKED);
    RETURN false;
  END IF;

  -- The creators' lock first: while we hold it no lock row can appear, so once the check
  -- below finds none, the insert meets no row at all (not even one being deleted) and never
  -- waits.
  IF NOT pg_catalog.pg_try_advisory_xact_lock(
       pg_catalog.hashtextextended('pgjobs.job_queues:' || p_database_id::text || ':' || p_queue_name, 0))
     OR EXISTS (SELECT 1 FROM app_jobs.job_queue_locks AS l
                 WHERE l.database_id = p_database_id AND l.queue_name = p_queue_name)
  THEN
    RETURN false;  -- busy this instant: leave the job claimable and try another one
  END IF;
  INSERT INTO app_jobs.job_queue_locks (database_id, queue_name, locked_by, locked_at)
  VALUES (p_database_id, p_queue_name, p_worker_id, pg_catalog.now())
  ON CONFLICT (database_id, queue_name) DO NOTHING;
  IF NOT FOUND THEN
    RETURN false;
  END IF;

  -- The queue is ours: park its other claimable jobs until we release it.
  UPDATE app_jobs.jobs AS j
     SET state = 'blocked'
   WHERE j.id IN (
     SELECT r.id
       FROM app_jobs.jobs AS r
      WHERE r.database_id = p_database_id
        AND r.queue_name = p_queue_name
        AND r.state = 'ready'
        AND r.id <> p_job_id
        FOR UPDATE SKIP LOCKED);
  RETURN true;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._lock_queue(uuid, text, text, bigint) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._lock_queue(uuid, text, text, bigint) IS
  'Internal: tries, without waiting, to take the (tenant, queue) lock for a claim of job p_job_id; true when taken.';

COMMIT;
