-- Revert pgjobs:functions/list_task_settings from pg

BEGIN;

DROP FUNCTION app_jobs.list_task_settings(uuid);

COMMIT;
