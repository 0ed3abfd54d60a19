-- Revert pgjobs:functions/cleanup_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.cleanup_jobs(interval, text[]);

COMMIT;
