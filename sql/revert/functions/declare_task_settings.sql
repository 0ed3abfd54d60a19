-- Revert pgjobs:functions/declare_task_settings from pg

BEGIN;

DROP FUNCTION app_jobs.declare_task_settings(jsonb, integer);

COMMIT;
