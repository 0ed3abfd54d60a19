-- Verify pgjobs:tables/job_queue_wakes on pg

BEGIN;

SELECT database_id, queue_name, created_at
  FROM app_jobs.job_queue_wakes
 WHERE false;

ROLLBACK;
