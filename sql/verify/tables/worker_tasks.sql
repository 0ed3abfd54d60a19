-- Verify pgjobs:tables/worker_tasks on pg

BEGIN;

SELECT worker_id, task_identifier, declared_at
  FROM app_jobs.worker_tasks
 WHERE false;

ROLLBACK;
