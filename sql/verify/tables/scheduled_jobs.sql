-- Verify pgjobs:tables/scheduled_jobs on pg

BEGIN;

SELECT id, database_id, task_identifier, payload, schedule_info, priority, max_attempts,
       queue_name, key, created_at, updated_at, spec, enabled, next_run_at, last_run_at,
       last_job_id, missed_runs, backfill_limit, backfill_window, correlation_id, backoff,
       timeout
  FROM app_jobs.scheduled_jobs
 WHERE false;

ROLLBACK;
