-- Deploy pgjobs:functions/_lock_queue to pg
-- requires: tables/jobs
-- requires: functions/_count_queue
-- A claim takes the serial-queue lock of its candidate job here, and never waits: a queue
-- row that is busy at this instant (another claim, a release, an enqueuing commit) is
-- skipped for this claim. Because claimers never wait on a lock, they can never deadlock.
-- When the queue is held by another job, its claimable jobs are parked as 'blocked' (under
-- the queue row lock, so a concurrent release cannot miss them) and later claims skip them
-- without reading them; _unlock_queue makes them claimable again.

BEGIN;

CREATE FUNCTION app_jobs._lock_queue(p_database_id uuid, p_queue_name text, p_worker_id text,
                                     p_job_id bigint)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_queue app_jobs.job_queues;
  v_created boolean := false;
BEGIN
  SELECT q.* INTO v_queue
    FROM app_jobs.job_queues AS q
   WHERE q.database_id = p_database_id AND q.queue_name = p_queue_name
     FOR UPDATE SKIP LOCKED;

  IF NOT FOUND THEN
    IF EXISTS (SELECT 1 FROM app_jobs.job_queues AS q
                WHERE q.database_id = p_database_id AND q.queue_name = p_queue_name) THEN
      RETURN false;  -- busy this instant: leave the job claimable and try another one
    END IF;
    -- No row yet (its count is parked in job_queue_deltas, or arrives when the enqueuing
    -- transaction commits): create it, taken, under the creators' advisory lock so the
    -- insert never waits; then fold in what is parked.
    IF NOT pg_catalog.pg_try_advisory_xact_lock(
         pg_catalog.hashtextextended('pgjobs.job_queues:' || p_database_id::text || ':' || p_queue_name, 0))
    THEN
      RETURN false;
    END IF;
    INSERT INTO app_jobs.job_queues (database_id, queue_name, job_count, locked_by, locked_at)
    VALUES (p_database_id, p_queue_name, 0, p_worker_id, pg_catalog.now())
    ON CONFLICT (database_id, queue_name) DO NOTHING;
    IF NOT FOUND THEN
      RETURN false;
    END IF;
    PERFORM app_jobs._count_queue(p_database_id, p_queue_name, 0);
    v_created := true;
  ELSIF v_queue.locked_by IS NOT NULL THEN
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

  IF NOT v_created THEN
    UPDATE app_jobs.job_queues AS q
       SET locked_by = p_worker_id, locked_at = pg_catalog.now()
     WHERE q.database_id = p_database_id AND q.queue_name = p_queue_name;
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
