-- Deploy pgjobs:functions/_sweep to pg
-- requires: functions/_sweep@v0.3.0
-- get_job and get_jobs run this before they claim. Until 0.3.0 every claim ran each step of
-- the sweep (about 7 statements per claimed job, a third of get_job's time). Now one
-- statement probes for all of them at once, each probe the first entry of a small partial
-- index (or table) that is empty in the normal case, and only a step whose probe found
-- something runs. So with nothing but a psql loop calling get_job, every contract behaviour
-- holds exactly as before, on every call:
--   1. a lock older than this call's job_expiry whose holder keeps no live lease is stale;
--   2. every job of a worker whose lease lapsed is reclaimable at once;
--   3. a queue lock left without a running job of its holder is released (safety net);
--   4. wake requests of serial queues (app_jobs.job_queue_wakes) are settled;
--   5. scheduled jobs whose run_at has come become claimable.
-- Like the claim, the sweep never waits on a row lock.
-- get_jobs runs the same probe before it calls this (and skips the call when nothing is due):
-- a step added here needs its EXISTS there too.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._sweep(p_job_expiry interval)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_now timestamptz := pg_catalog.now();
  v_job app_jobs.jobs;
  v_queue app_jobs.job_queue_locks;
  v_reason text;
  v_database_id uuid;
  v_queue_name text;
  v_stale boolean;
  v_lapsed boolean;
  v_orphans boolean;
  v_wakes boolean;
  v_due boolean;
BEGIN
  SELECT EXISTS (SELECT 1 FROM app_jobs.jobs AS j
                  WHERE j.state = 'running' AND j.locked_at < v_now - p_job_expiry),
         EXISTS (SELECT 1 FROM app_jobs.workers AS w WHERE w.lease_expires_at < v_now),
         EXISTS (SELECT 1 FROM app_jobs.job_queue_locks AS q
                  WHERE q.locked_at < v_now - p_job_expiry),
         EXISTS (SELECT 1 FROM app_jobs.job_queue_wakes),
         EXISTS (SELECT 1 FROM app_jobs.jobs AS s
                  WHERE s.state = 'scheduled' AND s.run_at <= v_now)
    INTO v_stale, v_lapsed, v_orphans, v_wakes, v_due;

  IF v_stale THEN
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
  END IF;

  IF v_lapsed THEN
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

  IF v_orphans THEN
    FOR v_queue IN
      SELECT q.*
        FROM app_jobs.job_queue_locks AS q
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
  END IF;

  IF v_wakes THEN
    FOR v_database_id, v_queue_name IN
      SELECT DISTINCT w.database_id, w.queue_name FROM app_jobs.job_queue_wakes AS w LIMIT 100
    LOOP
      PERFORM 1 FROM app_jobs.job_queue_locks AS l
        WHERE l.database_id = v_database_id AND l.queue_name = v_queue_name
          FOR UPDATE SKIP LOCKED;
      IF FOUND THEN
        -- Held: its holder's release wakes the queue, so the requests are settled.
        DELETE FROM app_jobs.job_queue_wakes AS w
         WHERE w.database_id = v_database_id AND w.queue_name = v_queue_name;
      ELSIF pg_catalog.pg_try_advisory_xact_lock(
              pg_catalog.hashtextextended(
                'pgjobs.job_queues:' || v_database_id::text || ':' || v_queue_name, 0))
            AND NOT EXISTS (SELECT 1 FROM app_jobs.job_queue_locks AS l
                             WHERE l.database_id = v_database_id
                               AND l.queue_name = v_queue_name)
      THEN
        -- Free, and nobody can take it while we hold the creators' lock (taken before the
        -- check, so no lock row can have appeared since, and no sweep is on the held path
        -- for this queue): settle the requests, and wake the queue (which asks again if it
        -- cannot right now).
        DELETE FROM app_jobs.job_queue_wakes AS w
         WHERE w.database_id = v_database_id AND w.queue_name = v_queue_name;
        PERFORM app_jobs._wake_queue(v_database_id, v_queue_name);
      END IF;
      -- Otherwise the lock row is busy this instant: the requests wait for the next sweep.
    END LOOP;
  END IF;

  IF v_due THEN
    UPDATE app_jobs.jobs AS j
       SET state = 'ready'
     WHERE j.id IN (
       SELECT s.id
         FROM app_jobs.jobs AS s
        WHERE s.state = 'scheduled' AND s.run_at <= v_now
        ORDER BY s.run_at
        LIMIT 1000
          FOR UPDATE SKIP LOCKED);
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._sweep(interval) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._sweep(interval) IS
  'Internal: the housekeeping of get_job and get_jobs (stale locks, lapsed leases, orphaned queue locks, wake requests of serial queues, due scheduled jobs): one statement probes for all of them, and only a step with something to do runs. Never waits on a row lock.';

COMMIT;
