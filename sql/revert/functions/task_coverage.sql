-- Revert pgjobs:functions/task_coverage from pg

BEGIN;

DROP FUNCTION app_jobs.task_coverage(uuid);

COMMIT;
