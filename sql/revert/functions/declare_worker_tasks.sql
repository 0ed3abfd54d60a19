-- Revert pgjobs:functions/declare_worker_tasks from pg

BEGIN;

DROP FUNCTION app_jobs.declare_worker_tasks(text, text[]);

COMMIT;
