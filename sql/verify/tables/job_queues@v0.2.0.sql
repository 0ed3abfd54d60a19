-- Verify pgjobs:tables/job_queues on pg

BEGIN;

SELECT database_id, queue_name, job_count, locked_by, locked_at, created_at
  FROM app_jobs.job_queues
 WHERE false;

ROLLBACK;
