-- Verify pgjobs:tables/job_history on pg

BEGIN;

SELECT id, database_id, task_identifier, payload, priority, run_at, attempts, max_attempts,
       key, queue_name, status, last_error, worker_id, scheduled_job_id, fire_time, created_at,
       locked_at, finished_at, uid, correlation_id, first_started_at, result, backoff, rerun_of
  FROM app_jobs.job_history
 WHERE false;

SELECT 1 / pg_catalog.count(*)
  FROM pg_catalog.pg_partitioned_table
 WHERE partrelid = 'app_jobs.job_history'::pg_catalog.regclass;

ROLLBACK;
