-- Verify pgjobs:functions/_task_defaults on pg

BEGIN;

SELECT max_attempts, backoff, priority, queue_name, timeout
  FROM app_jobs._task_defaults(NULL, 'task');

ROLLBACK;
