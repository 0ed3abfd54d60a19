-- Verify pgjobs:tables/job_limits on pg

BEGIN;

SELECT id, database_id, task_identifier, max_running, max_starts, per_period, tokens, refilled_at,
       created_at, updated_at, set_by
  FROM app_jobs.job_limits
 WHERE false;

ROLLBACK;
