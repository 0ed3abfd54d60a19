-- Revert pgjobs:functions/get_job from pg
-- Back to the 0.3.0 definition (deploy/functions/get_job@v0.3.0.sql).

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.get_job(
  worker_id text,
  task_identifiers text[] DEFAULT NULL,
  job_expiry interval DEFAULT interval '4 hours')
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_id bigint;
  v_database_id uuid;
  v_queue_name text;
  -- Queues whose row was busy during this call: their jobs are passed over as a whole.
  v_busy_tenants uuid[] := '{}'::uuid[];
  v_busy_queues text[] := '{}'::text[];
BEGIN
  IF worker_id IS NULL OR worker_id = '' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'get_job: worker_id must be a non-empty text',
      HINT = 'Pass a name that identifies this worker process, e.g. worker_id := ''host-1:4242''; complete_job and fail_job need the same one.';
  END IF;
  IF job_expiry IS NULL OR job_expiry <= interval '0' OR job_expiry > interval '100 years' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ105',
      MESSAGE = pg_catalog.format('get_job: job_expiry must be a positive interval of at most 100 years, got %s', coalesce(job_expiry::text, 'NULL')),
      HINT = 'Pass how long a lock without a live worker lease stays valid, or leave it out for 4 hours.';
  END IF;

  PERFORM app_jobs._sweep(job_expiry);

  LOOP
    -- Only the columns the claim needs: a narrow target keeps the ordered index scan the
    -- cheapest plan even with stale statistics after a burst of enqueues.
    SELECT j.id, j.database_id, j.queue_name INTO v_id, v_database_id, v_queue_name
      FROM app_jobs.jobs AS j
     WHERE j.state = 'ready'
       AND (get_job.task_identifiers IS NULL OR j.task_identifier = ANY (get_job.task_identifiers))
       AND (j.queue_name IS NULL
            OR NOT EXISTS (SELECT 1 FROM ROWS FROM (pg_catalog.unnest(v_busy_tenants), pg_catalog.unnest(v_busy_queues)) AS b (t, q)
                            WHERE b.t = j.database_id AND b.q = j.queue_name))
     ORDER BY j.priority, j.run_at, j.id
     LIMIT 1
       FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
      RETURN;
    END IF;

    IF v_queue_name IS NULL
       OR app_jobs._lock_queue(v_database_id, v_queue_name, get_job.worker_id, v_id) THEN
      RETURN QUERY SELECT * FROM app_jobs._take_job(v_id, get_job.worker_id);
      RETURN;
    END IF;
    v_busy_tenants := v_busy_tenants || v_database_id;
    v_busy_queues := v_busy_queues || v_queue_name;
  END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.get_job(text, text[], interval) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.get_job(text, text[], interval) IS
  'Claims the next job for worker_id and returns it (no row when none is due): lowest priority first, then earliest run_at, then oldest. task_identifiers limits the tasks (NULL = any). The job is locked (locked_by, locked_at) and its attempts go up by one; a job of a named queue also takes the queue, so the queue runs one job at a time. A lock older than job_expiry (default 4 hours) whose worker keeps no live lease (see heartbeat) is stale and its job is claimed again as a new attempt; jobs of a worker whose lease lapsed are reclaimable at once.';

COMMIT;
