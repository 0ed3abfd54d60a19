-- Revert pgjobs:functions/_wake_queue from pg
-- Back to the 0.2.0 definition (deploy/functions/_wake_queue@v0.2.0.sql).

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._wake_queue(p_database_id uuid, p_queue_name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM app_jobs.job_queues AS q
              WHERE q.database_id = p_database_id AND q.queue_name = p_queue_name
                AND q.locked_by IS NOT NULL)
     OR EXISTS (SELECT 1 FROM app_jobs.jobs AS j
                 WHERE j.database_id = p_database_id AND j.queue_name = p_queue_name
                   AND j.state = 'ready')
     OR NOT EXISTS (SELECT 1 FROM app_jobs.jobs AS j
                     WHERE j.database_id = p_database_id AND j.queue_name = p_queue_name
                       AND j.state = 'blocked')
  THEN
    RETURN;
  END IF;
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
  IF NOT FOUND THEN
    INSERT INTO app_jobs.job_queue_deltas (database_id, queue_name, delta)
    VALUES (p_database_id, p_queue_name, 0);
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._wake_queue(uuid, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._wake_queue(uuid, text) IS
  'Internal: if the (tenant, queue) is free and has nothing claimable, makes its next parked job claimable, or records a wake request for the sweep when that cannot be done right now.';

COMMIT;
