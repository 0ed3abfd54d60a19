-- Revert pgjobs:functions/recent_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.recent_jobs(integer);

COMMIT;
