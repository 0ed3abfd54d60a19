-- Revert pgjobs:functions/search_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.search_jobs(jsonb, text, text[], text, text, uuid, text, interval, integer, integer);

COMMIT;
