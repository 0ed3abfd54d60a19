-- Revert pgjobs:functions/set_task_settings from pg

BEGIN;

DROP FUNCTION app_jobs.set_task_settings(text, uuid, integer, jsonb, integer, text, interval, interval, jsonb);

COMMIT;
