-- Revert pgjobs:functions/list_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.list_jobs(text[], text, text, uuid, text, integer, integer);

COMMIT;
