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

-- 0.6.0: the status is checked through the domain app_jobs.job_status.
SELECT 1 / (pg_catalog.strpos(pg_catalog.pg_get_constraintdef(c.oid), 'app_jobs.job_status') > 0)::integer
  FROM pg_catalog.pg_constraint AS c
 WHERE c.conrelid = 'app_jobs.job_history'::pg_catalog.regclass
   AND c.conname = 'job_history_status_check';
SELECT 'completed'::app_jobs.job_status;

ROLLBACK;
