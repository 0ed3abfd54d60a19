-- Verify pgjobs:tables/job_queue_locks on pg

BEGIN;

SELECT database_id, queue_name, locked_by, locked_at
  FROM app_jobs.job_queue_locks
 WHERE false;

ROLLBACK;
