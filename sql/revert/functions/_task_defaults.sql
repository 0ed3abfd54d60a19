-- Revert pgjobs:functions/_task_defaults from pg

BEGIN;

DROP FUNCTION app_jobs._task_defaults(uuid, text);

COMMIT;
