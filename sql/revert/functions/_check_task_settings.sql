-- Revert pgjobs:functions/_check_task_settings from pg

BEGIN;

DROP FUNCTION app_jobs._check_task_settings(text, integer, jsonb, text, interval, interval, text);

COMMIT;
