-- Revert pgjobs:functions/_add_jobs from pg

BEGIN;

DROP FUNCTION app_jobs._add_jobs(app_jobs.job_spec[], text[], jsonb[], interval[], text, text);

COMMIT;
