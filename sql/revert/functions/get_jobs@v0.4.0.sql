-- Revert pgjobs:functions/get_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.get_jobs(text, text[], interval, integer, boolean);

COMMIT;
