-- Revert pgjobs:functions/list_pauses from pg

BEGIN;

DROP FUNCTION app_jobs.list_pauses(uuid);

COMMIT;
