-- Revert pgjobs:functions/list_workers from pg

BEGIN;

DROP FUNCTION app_jobs.list_workers();

COMMIT;
