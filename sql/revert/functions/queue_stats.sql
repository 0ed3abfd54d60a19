-- Revert pgjobs:functions/queue_stats from pg
-- Back to the 0.3.0 definition (deploy/functions/queue_stats@v0.3.0.sql).
-- What a dashboard shows per task and queue. The live counts read app_jobs.jobs (the hot
-- table: waiting and running jobs only); the last hour of history is read through
-- job_history_finished_idx in the one or two day partitions that hold it, so the cost does
-- not grow with the history kept.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.queue_stats()
RETURNS TABLE (
  task_identifier text,
  queue_name text,
  queued bigint,
  scheduled bigint,
  running bigint,
  retrying bigint,
  total bigint,
  completed_last_hour bigint,
  failed_last_hour bigint,
  cancelled_last_hour bigint,
  oldest_queued_age interval,
  avg_duration interval,
  failure_rate double precision)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  WITH live AS (
    SELECT j.task_identifier, j.queue_name,
           count(*) FILTER (WHERE j.state <> 'running' AND j.last_error IS NULL AND j.run_at <= pg_catalog.now()) AS queued,
           count(*) FILTER (WHERE j.state <> 'running' AND j.last_error IS NULL AND j.run_at > pg_catalog.now()) AS scheduled,
           count(*) FILTER (WHERE j.state = 'running') AS running,
           count(*) FILTER (WHERE j.state <> 'running' AND j.last_error IS NOT NULL) AS retrying,
           count(*) AS total,
           pg_catalog.now() - min(j.run_at) FILTER (WHERE j.state <> 'running' AND j.run_at <= pg_catalog.now()) AS oldest_queued_age,
           0::bigint AS completed, 0::bigint AS failed, 0::bigint AS cancelled,
           NULL::interval AS duration_sum, 0::bigint AS duration_count
      FROM app_jobs.jobs AS j
     GROUP BY j.task_identifier, j.queue_name
  ), finished AS (
    SELECT h.task_identifier, h.queue_name,
           0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, NULL::interval,
           count(*) FILTER (WHERE h.status = 'completed'),
           count(*) FILTER (WHERE h.status = 'failed'),
           count(*) FILTER (WHERE h.status = 'cancelled'),
           sum(h.finished_at - h.locked_at) FILTER (WHERE h.status = 'completed' AND h.locked_at IS NOT NULL),
           count(*) FILTER (WHERE h.status = 'completed' AND h.locked_at IS NOT NULL)
      FROM app_jobs.job_history AS h
     WHERE h.finished_at >= pg_catalog.now() - interval '1 hour'
     GROUP BY h.task_identifier, h.queue_name
  ), combined AS (
    SELECT * FROM live UNION ALL SELECT * FROM finished
  )
  SELECT r.task_identifier, r.queue_name,
         sum(r.queued)::bigint, sum(r.scheduled)::bigint, sum(r.running)::bigint,
         sum(r.retrying)::bigint, sum(r.total)::bigint,
         sum(r.completed)::bigint, sum(r.failed)::bigint, sum(r.cancelled)::bigint,
         max(r.oldest_queued_age),
         sum(r.duration_sum) / nullif(sum(r.duration_count), 0),
         sum(r.failed)::double precision / nullif(sum(r.completed) + sum(r.failed), 0)
    FROM combined AS r
   GROUP BY r.task_identifier, r.queue_name
   ORDER BY r.task_identifier, r.queue_name NULLS FIRST;
$$;

REVOKE ALL ON FUNCTION app_jobs.queue_stats() FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.queue_stats() IS
  'One row per (task_identifier, queue_name) with live or recent jobs: queued (due now, waiting for a worker), scheduled (run_at ahead), running, retrying (an attempt failed, waiting for the next), total (all four), completed_last_hour, failed_last_hour, cancelled_last_hour, oldest_queued_age (how long the oldest due job has been waiting), avg_duration (of the attempts that completed a job in the last hour) and failure_rate (failed / (completed + failed) in the last hour; NULL when none). Ordered by task, then queue (no queue first).';

COMMIT;
