-- Verify pgjobs:tables/task_settings on pg

BEGIN;

SELECT task_identifier, database_id, source, max_attempts, backoff, priority, queue_name, timeout,
       retention, code_version, updated_at
  FROM app_jobs.task_settings
 WHERE false;

ROLLBACK;
