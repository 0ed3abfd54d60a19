-- Verify pgjobs:tables/job_attempts on pg

BEGIN;

SELECT id, job_id, attempt, worker_id, started_at, finished_at, outcome, error_message, error_details
  FROM app_jobs.job_attempts
 WHERE false;

ROLLBACK;
