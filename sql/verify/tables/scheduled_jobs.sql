-- Verify pgjobs:tables/scheduled_jobs on pg

BEGIN;

SELECT id, database_id, task_identifier, payload, schedule_info, priority, max_attempts,
       queue_name, key, created_at, updated_at
  FROM app_jobs.scheduled_jobs
 WHERE false;

ROLLBACK;
