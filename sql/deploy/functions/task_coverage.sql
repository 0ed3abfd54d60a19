-- Deploy pgjobs:functions/task_coverage to pg
-- requires: tables/worker_tasks
-- requires: tables/workers
-- requires: tables/jobs
-- Which tasks the live workers serve, beside each task's waiting jobs: a task with queued jobs
-- and no live worker (none declared it with declare_worker_tasks, or those that did have lost
-- their lease or stopped) waits for nobody. `pgjobs status` shows it. Counts read
-- app_jobs.jobs (waiting and running jobs only) like queue_stats; workers serve every tenant,
-- so db_id narrows the job counts only.

BEGIN;

CREATE FUNCTION app_jobs.task_coverage(db_id uuid DEFAULT NULL)
RETURNS TABLE (
  task_identifier text,
  queued bigint,
  scheduled bigint,
  running bigint,
  oldest_queued_age interval,
  live_workers bigint)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  WITH serving AS (
    SELECT t.task_identifier, count(*) AS live_workers
      FROM app_jobs.worker_tasks AS t
      JOIN app_jobs.workers AS w ON w.worker_id = t.worker_id
     WHERE w.lease_expires_at > pg_catalog.now()
     GROUP BY t.task_identifier
  ), waiting AS (
    SELECT j.task_identifier,
           count(*) FILTER (WHERE j.state <> 'running' AND j.run_at <= pg_catalog.now()) AS queued,
           count(*) FILTER (WHERE j.state <> 'running' AND j.run_at > pg_catalog.now()) AS scheduled,
           count(*) FILTER (WHERE j.state = 'running') AS running,
           pg_catalog.now() - greatest(min(j.run_at) FILTER (WHERE j.state <> 'running' AND j.run_at <= pg_catalog.now()),
                                        '0001-01-02 00:00:00+00'::timestamptz) AS oldest_queued_age
      FROM app_jobs.jobs AS j
     WHERE task_coverage.db_id IS NULL OR j.database_id = task_coverage.db_id
     GROUP BY j.task_identifier
  )
  SELECT coalesce(q.task_identifier, s.task_identifier),
         coalesce(q.queued, 0), coalesce(q.scheduled, 0), coalesce(q.running, 0),
         q.oldest_queued_age, coalesce(s.live_workers, 0)
    FROM waiting AS q
    FULL JOIN serving AS s ON s.task_identifier = q.task_identifier
   ORDER BY 1;
$$;

REVOKE ALL ON FUNCTION app_jobs.task_coverage(uuid) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.task_coverage(uuid) IS
  'One row per task that has waiting or running jobs or is served by a live worker: queued (due now, waiting for a worker), scheduled (run_at ahead), running, oldest_queued_age (how long the oldest due job has waited) and live_workers (workers with a live lease that declared the task with app_jobs.declare_worker_tasks). A task with queued jobs and live_workers 0 is served by no live worker. db_id (default NULL: every tenant) narrows the job counts to one tenant; workers serve every tenant. Ordered by task.';

COMMIT;
