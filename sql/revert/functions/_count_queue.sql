-- Revert pgjobs:functions/_count_queue from pg
-- Back to the 0.2.0 definition (deploy/functions/_count_queue@v0.2.0.sql).

BEGIN;

CREATE FUNCTION app_jobs._count_queue(p_database_id uuid, p_queue_name text, p_delta integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_pending integer := 0;
  v_requests integer := 0;
  v_exists boolean;
BEGIN
  PERFORM 1 FROM app_jobs.job_queues AS q
    WHERE q.database_id = p_database_id AND q.queue_name = p_queue_name
      FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    -- Busy, or missing. Creators all hold this advisory lock, so the insert never waits on
    -- another creator's; ON CONFLICT covers a row committed since we looked.
    IF EXISTS (SELECT 1 FROM app_jobs.job_queues AS q
                WHERE q.database_id = p_database_id AND q.queue_name = p_queue_name)
       OR NOT pg_catalog.pg_try_advisory_xact_lock(
         pg_catalog.hashtextextended('pgjobs.job_queues:' || p_database_id::text || ':' || p_queue_name, 0))
    THEN
      v_exists := false;
    ELSE
      INSERT INTO app_jobs.job_queues (database_id, queue_name, job_count)
      VALUES (p_database_id, p_queue_name, 0)
      ON CONFLICT (database_id, queue_name) DO NOTHING;
      v_exists := FOUND;
    END IF;
    IF NOT v_exists THEN
      -- Busy right now: park the change for whoever holds the row next.
      IF p_delta <> 0 THEN
        INSERT INTO app_jobs.job_queue_deltas (database_id, queue_name, delta)
        VALUES (p_database_id, p_queue_name, p_delta);
      END IF;
      RETURN;
    END IF;
  END IF;

  -- The row is ours (locked by us, or just created): fold in what is pending.
  IF EXISTS (SELECT 1 FROM app_jobs.job_queue_deltas AS d
              WHERE d.database_id = p_database_id AND d.queue_name = p_queue_name) THEN
    WITH folded AS (
      DELETE FROM app_jobs.job_queue_deltas AS d
       WHERE d.database_id = p_database_id AND d.queue_name = p_queue_name
      RETURNING d.delta)
    SELECT coalesce(pg_catalog.sum(folded.delta), 0)::integer,
           (pg_catalog.count(*) FILTER (WHERE folded.delta = 0))::integer
      INTO v_pending, v_requests
      FROM folded;
  END IF;

  IF p_delta + v_pending <> 0 THEN
    UPDATE app_jobs.job_queues AS q
       SET job_count = greatest(q.job_count + p_delta + v_pending, 0)
     WHERE q.database_id = p_database_id AND q.queue_name = p_queue_name;
  END IF;
  DELETE FROM app_jobs.job_queues AS q
   WHERE q.database_id = p_database_id AND q.queue_name = p_queue_name
     AND q.job_count = 0 AND q.locked_by IS NULL;
  IF v_requests > 0 THEN
    PERFORM app_jobs._wake_queue(p_database_id, p_queue_name);
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._count_queue(uuid, text, integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._count_queue(uuid, text, integer) IS
  'Internal: applies a job_count change to a (tenant, queue) row without waiting for it, parking the change in job_queue_deltas when the row is busy.';

COMMIT;
