-- Revert pgjobs:functions/_sweep from pg
-- Back to the 0.2.0 definition (deploy/functions/_sweep@v0.2.0.sql).

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._sweep(p_job_expiry interval)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_now timestamptz := pg_catalog.now();
  v_job app_jobs.jobs;
  v_queue app_jobs.job_queues;
  v_reason text;
  v_database_id uuid;
  v_queue_name text;
BEGIN
  FOR v_job IN
    SELECT j.*
      FROM app_jobs.jobs AS j
     WHERE j.state = 'running'
       AND j.locked_at < v_now - p_job_expiry
       AND NOT EXISTS (SELECT 1 FROM app_jobs.workers AS w
                        WHERE w.worker_id = j.locked_by AND w.lease_expires_at >= v_now)
       FOR UPDATE OF j SKIP LOCKED
  LOOP
    v_reason := pg_catalog.format(
      'job lock expired: worker %s held it for more than %s without a live lease',
      v_job.locked_by, p_job_expiry);
    PERFORM app_jobs._reclaim_job(v_job, v_reason);
  END LOOP;

  IF EXISTS (SELECT 1 FROM app_jobs.workers AS w WHERE w.lease_expires_at < v_now) THEN
    FOR v_job IN
      SELECT j.*
        FROM app_jobs.jobs AS j
        JOIN app_jobs.workers AS w ON w.worker_id = j.locked_by
       WHERE j.state = 'running'
         AND w.lease_expires_at < v_now
         FOR UPDATE OF j SKIP LOCKED
    LOOP
      v_reason := pg_catalog.format('worker %s lost its lease (its heartbeats stopped)',
                                    v_job.locked_by);
      PERFORM app_jobs._reclaim_job(v_job, v_reason);
    END LOOP;
    -- Forget lapsed workers that no longer hold anything.
    DELETE FROM app_jobs.workers AS w
     WHERE w.worker_id IN (
       SELECT l.worker_id FROM app_jobs.workers AS l
        WHERE l.lease_expires_at < v_now
          AND NOT EXISTS (SELECT 1 FROM app_jobs.jobs AS j
                           WHERE j.state = 'running' AND j.locked_by = l.worker_id)
          FOR UPDATE SKIP LOCKED);
  END IF;

  FOR v_queue IN
    SELECT q.*
      FROM app_jobs.job_queues AS q
     WHERE q.locked_at < v_now - p_job_expiry
       AND NOT EXISTS (SELECT 1 FROM app_jobs.workers AS w
                        WHERE w.worker_id = q.locked_by AND w.lease_expires_at >= v_now)
       AND NOT EXISTS (SELECT 1 FROM app_jobs.jobs AS j
                        WHERE j.state = 'running' AND j.locked_by = q.locked_by
                          AND j.database_id = q.database_id AND j.queue_name = q.queue_name)
       FOR UPDATE SKIP LOCKED
  LOOP
    PERFORM app_jobs._unlock_queue(v_queue.database_id, v_queue.queue_name, v_queue.locked_by);
  END LOOP;

  IF EXISTS (SELECT 1 FROM app_jobs.job_queue_deltas) THEN
    FOR v_database_id, v_queue_name IN
      SELECT DISTINCT d.database_id, d.queue_name FROM app_jobs.job_queue_deltas AS d LIMIT 100
    LOOP
      PERFORM 1 FROM app_jobs.job_queues AS q
        WHERE q.database_id = v_database_id AND q.queue_name = v_queue_name
          FOR UPDATE SKIP LOCKED;
      IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM app_jobs.job_queues AS q
                                    WHERE q.database_id = v_database_id
                                      AND q.queue_name = v_queue_name) THEN
        PERFORM app_jobs._count_queue(v_database_id, v_queue_name, 0);  -- creates it, ours
        PERFORM 1 FROM app_jobs.job_queues AS q
          WHERE q.database_id = v_database_id AND q.queue_name = v_queue_name
            FOR UPDATE SKIP LOCKED;
      END IF;
      IF FOUND THEN
        -- Folds everything pending; a folded wake request is settled or asked again.
        PERFORM app_jobs._count_queue(v_database_id, v_queue_name, 0);
      END IF;
    END LOOP;
  END IF;

  UPDATE app_jobs.jobs AS j
     SET state = 'ready'
   WHERE j.id IN (
     SELECT s.id
       FROM app_jobs.jobs AS s
      WHERE s.state = 'scheduled' AND s.run_at <= v_now
      ORDER BY s.run_at
      LIMIT 1000
        FOR UPDATE SKIP LOCKED);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._sweep(interval) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._sweep(interval) IS
  'Internal: the pre-claim sweep of get_job (stale locks, lapsed leases, orphaned queue locks, parked job_count changes, due scheduled jobs). Never waits on a row lock.';

COMMIT;
