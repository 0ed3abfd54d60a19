-- Revert pgjobs:functions/unset_task_settings from pg

BEGIN;

DROP FUNCTION app_jobs.unset_task_settings(text, uuid, text[]);

COMMIT;
