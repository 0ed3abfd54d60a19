-- Revert pgjobs:functions/start_jobs from pg

BEGIN;

DROP FUNCTION app_jobs.start_jobs(text, bigint[]);

COMMIT;
