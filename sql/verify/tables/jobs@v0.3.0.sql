-- Verify pgjobs:tables/jobs on pg

BEGIN;

SELECT id, database_id, task_identifier, payload, priority, run_at, attempts, max_attempts,
       locked_by, locked_at, key, queue_name, last_error, created_at, updated_at, state,
       scheduled_job_id, superseded, fire_time, uid, correlation_id, first_started_at, progress,
       progress_message, cancel_requested_at, backoff, rerun_of, watched
  FROM app_jobs.jobs
 WHERE false;

SELECT 1 / pg_catalog.count(*)
  FROM pg_catalog.pg_indexes
 WHERE schemaname = 'app_jobs' AND tablename = 'jobs' AND indexname = 'jobs_claim_idx';

ROLLBACK;
