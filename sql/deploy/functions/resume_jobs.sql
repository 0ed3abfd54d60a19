-- Deploy pgjobs:functions/resume_jobs to pg
-- requires: tables/job_pauses
-- requires: tables/jobs
-- requires: functions/_tenant
-- requires: functions/_wake_queue
-- Removes the pause with exactly these keys (pause and resume, 0.4.0) and makes the jobs it
-- parked claimable again, unless another pause still matches them: a job without a named queue
-- becomes 'ready' (or 'scheduled' when its run_at is ahead); a job of a named queue waits as
-- 'blocked' and each queue touched is woken as a released queue is (app_jobs._wake_queue: its
-- head, in claim order, becomes claimable when the queue is free). Cost: one pass over the
-- parked jobs (jobs_paused_idx) and one update per job made claimable again, so resuming N
-- parked jobs takes time in proportion to N (each such job goes back into the claim index).
-- Jobs a pause matched but no claim had parked yet need nothing.

BEGIN;

CREATE FUNCTION app_jobs.resume_jobs(
  task text DEFAULT NULL,
  queue text DEFAULT NULL,
  db_id uuid DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '2s'
AS $$
DECLARE
  v_count bigint;
  v_tenants uuid[];
  v_queues text[];
BEGIN
  IF task = '' OR pg_catalog.length(task) > 255 OR queue = '' OR pg_catalog.length(queue) > 255 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ183',
      MESSAGE = 'resume_jobs: task and queue must be non-empty texts of at most 255 characters',
      DETAIL = pg_catalog.format('task = %s, queue = %s', coalesce(pg_catalog.quote_literal(pg_catalog.left(task, 60)), 'NULL'),
                                 coalesce(pg_catalog.quote_literal(pg_catalog.left(queue, 60)), 'NULL')),
      HINT = 'Pass the keys the pause was made with (list_pauses shows them).';
  END IF;
  db_id := app_jobs._tenant(db_id, 'resume_jobs');  -- tenant isolation: a tenant resumes only its own pauses
  IF pg_catalog.num_nonnulls(task, queue, db_id) = 0 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ182',
      MESSAGE = 'resume_jobs: name the pause to remove: task, queue, db_id (a tenant), or a combination',
      HINT = 'Pass the keys the pause was made with (list_pauses shows them).';
  END IF;
  BEGIN
    LOCK TABLE app_jobs.job_pauses IN ACCESS EXCLUSIVE MODE;
  EXCEPTION WHEN lock_not_available THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ184',
      MESSAGE = 'resume_jobs: could not take the pauses lock within 2 seconds',
      DETAIL = 'A transaction that read app_jobs.job_pauses (a claim, list_jobs, list_pauses) is still open.',
      HINT = 'Retry; look for a long transaction in pg_stat_activity (state ''idle in transaction'').';
  END;
  DELETE FROM app_jobs.job_pauses AS p
   WHERE p.database_id IS NOT DISTINCT FROM db_id AND p.queue_name IS NOT DISTINCT FROM queue
     AND p.task_identifier IS NOT DISTINCT FROM task;
  IF NOT FOUND THEN
    RETURN NULL;  -- no such pause: nothing changed
  END IF;

  WITH resumed AS (
    UPDATE app_jobs.jobs AS j
       SET state = CASE WHEN j.queue_name IS NOT NULL THEN 'blocked'
                        WHEN j.run_at > pg_catalog.now() THEN 'scheduled'
                        ELSE 'ready' END
     WHERE j.state = 'paused'
       AND NOT EXISTS (SELECT 1 FROM app_jobs.job_pauses AS p
                        WHERE (p.database_id IS NULL OR p.database_id = j.database_id)
                          AND (p.queue_name IS NULL OR p.queue_name = j.queue_name)
                          AND (p.task_identifier IS NULL OR p.task_identifier = j.task_identifier))
    RETURNING j.database_id, j.queue_name)
  SELECT c.n, q.tenants, q.queues INTO v_count, v_tenants, v_queues
    FROM (SELECT pg_catalog.count(*) AS n FROM resumed) AS c,
         (SELECT pg_catalog.array_agg(d.database_id ORDER BY d.database_id, d.queue_name) AS tenants,
                 pg_catalog.array_agg(d.queue_name ORDER BY d.database_id, d.queue_name) AS queues
            FROM (SELECT DISTINCT r.database_id, r.queue_name FROM resumed AS r
                   WHERE r.queue_name IS NOT NULL) AS d) AS q;

  -- Each queue touched is woken as a released queue is, under the creators' lock
  -- (app_jobs._lock_queue) that a free queue's wake-up needs.
  FOR v_i IN 1 .. coalesce(pg_catalog.cardinality(v_queues), 0) LOOP
    PERFORM pg_catalog.pg_advisory_xact_lock(
      pg_catalog.hashtextextended('pgjobs.job_queues:' || v_tenants[v_i]::text || ':' || v_queues[v_i], 0));
    PERFORM app_jobs._wake_queue(v_tenants[v_i], v_queues[v_i]);
  END LOOP;
  RETURN v_count;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.resume_jobs(text, text, uuid) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.resume_jobs(text, text, uuid) IS
  'Removes the pause made with exactly these keys (task, queue, db_id; under tenant isolation db_id is the session''s tenant) and makes the jobs it held back claimable again in claim order, except those another pause still matches; a named queue starts again from its head. Returns how many parked jobs were made claimable again (time in proportion to that number), or NULL when no pause had these keys.';

COMMIT;
