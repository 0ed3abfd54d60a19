-- Revert pgjobs:functions/run_jobs_now from pg

BEGIN;

DROP FUNCTION app_jobs.run_jobs_now(text[]);

COMMIT;
