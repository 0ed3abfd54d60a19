-- Revert pgjobs:functions/release_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.release_jobs(text);

COMMIT;
